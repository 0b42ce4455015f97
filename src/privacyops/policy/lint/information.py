"""Rules on the information owed to people (GDPR Art. 13(2)(e), 14): whether they must give
the data, and where data comes from when it does not come from them."""

from __future__ import annotations

from collections.abc import Iterator

from privacyops.policy.lint.base import Hit, Rule, Severity, name_list, register
from privacyops.policy.schema import Manifest


@register
class ProvisionRequirementNotStated(Rule):
    id = "provision-requirement-not-stated"
    title = "no statement whether the data must be provided"
    article = "GDPR Art. 13(2)(e)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        if not (m.provision_requirement or "").strip():
            yield Hit(
                ("provision_requirement",),
                "the policy does not say whether giving the data is a statutory or "
                "contractual requirement or needed to enter a contract, whether people are "
                "obliged to give it, nor what follows if they do not",
            )


@register
class ThirdPartySourceWithoutNotice(Rule):
    id = "third-party-source-without-notice"
    title = "data obtained from third parties with no Art. 14 information"
    article = "GDPR Art. 14(1)(d), 14(2)(f), 14(3)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        names = {p.id: p.name for p in m.processors} | {r.id: r.name for r in m.recipients}
        for i, c in enumerate(m.channels):
            if c.obtained_from and not (c.source_notice or "").strip():
                sources = [names.get(s, s) for s in c.obtained_from]
                yield Hit(
                    ("channels", i, "obtained_from"),
                    f"on channel '{c.name}' data is obtained from {name_list(sources)}, not "
                    "from the person, and the policy gives no Art. 14 information: the source "
                    "and the categories of data obtained, within a month at the latest or at "
                    "the first contact",
                )
