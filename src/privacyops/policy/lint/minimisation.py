"""Purpose-limitation and minimisation rules (GDPR Art. 5(1)(b)-(c), 9): what is collected is
used, what is used is said, special categories have a condition."""

from __future__ import annotations

from collections.abc import Iterator

from privacyops.policy.lint.base import Hit, Rule, Severity, channels_using, name_list, register
from privacyops.policy.schema import (
    Manifest,
)


@register
class CategoryUnused(Rule):
    id = "category-unused"
    title = "a category is collected but used by no purpose"
    article = "GDPR Art. 5(1)(b)-(c)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        purposes = {p.id: p for p in m.purposes}
        for i, c in enumerate(m.channels):
            if not c.purposes:
                yield Hit(
                    ("channels", i, "purposes"),
                    f"channel '{c.name}' collects {name_list(c.categories)} for no stated purpose",
                )
                continue
            used: set[str] = set()
            for pid in c.purposes:
                p = purposes.get(pid)
                if p is None:
                    continue
                used.update(p.categories or c.categories)
            for j, cat in enumerate(c.categories):
                if cat not in used:
                    yield Hit(
                        ("channels", i, "categories", j),
                        f"channel '{c.name}' collects '{m.category(cat).name}' but none of its "
                        "purposes uses it: collect only what a stated purpose needs",
                    )


@register
class PurposeUsesUnlistedCategory(Rule):
    id = "purpose-uses-unlisted-category"
    title = "a purpose uses data its channel does not say it collects"
    article = "GDPR Art. 5(1)(a), 13(1)(c), 30(1)(c)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        for i, c in enumerate(m.channels):
            for j, pid in enumerate(c.purposes):
                p = m.purpose(pid)
                unlisted = [cat for cat in p.categories if cat not in c.categories]
                if unlisted:
                    names = [m.category(x).name for x in unlisted]
                    yield Hit(
                        ("channels", i, "purposes", j),
                        f"on channel '{c.name}' the purpose '{p.name}' uses {name_list(names)}, "
                        "which the channel does not list among the data it collects: the "
                        "data subject is not told that it is collected",
                    )


@register
class PurposeUnused(Rule):
    id = "purpose-unused"
    title = "a purpose no channel serves"
    article = "GDPR Art. 13(1)(c)"
    severity = Severity.INFO

    def check(self, m: Manifest) -> Iterator[Hit]:
        for i, p in enumerate(m.purposes):
            if not channels_using(m, p.id):
                yield Hit(
                    ("purposes", i),
                    f"purpose '{p.name}' is declared but no channel collects data for it",
                )


@register
class SpecialCategoryWithoutCondition(Rule):
    id = "special-category-without-condition"
    title = "special-category data without an Art. 9(2) condition"
    article = "GDPR Art. 9(1)-(2)"

    def check(self, m: Manifest) -> Iterator[Hit]:
        collected = {cat for c in m.channels for cat in c.categories}
        for i, cat in enumerate(m.data_categories):
            if cat.special and cat.id in collected:
                yield Hit(
                    ("data_categories", i, "special"),
                    f"'{cat.name}' is a special category of data; processing it is prohibited "
                    "unless one of the conditions of Art. 9(2) applies, and the policy states "
                    "none",
                )
