"""Automated decisions and profiling (GDPR Art. 4(4), 22)."""

from __future__ import annotations

from collections.abc import Iterator

from privacyops.policy.lint.base import Hit, Rule, Severity, name_list, register
from privacyops.policy.schema import (
    ConsentCategory,
    Manifest,
    ProcessorRole,
)


@register
class AutomatedDecisionsWithoutSafeguards(Rule):
    id = "automated-decisions-without-safeguards"
    title = "automated decisions without Art. 22(3) safeguards"
    article = "GDPR Art. 22(3), 13(2)(f)"

    def check(self, m: Manifest) -> Iterator[Hit]:
        ad = m.automated_decisions
        if ad.used and not ad.safeguards:
            yield Hit(
                ("automated_decisions", "safeguards"),
                "decisions are made solely by automated means, but the policy offers no right "
                "to human intervention, to express one's view and to contest the decision",
            )


@register
class ProfilingDeniedButAdvertising(Rule):
    id = "profiling-denied-but-advertising"
    title = "the policy denies profiling yet runs behavioural advertising"
    # Not Art. 13(2)(f): it covers only decisions of Art. 22(1)-(4), which targeting ads is not.
    article = "GDPR Art. 4(4), 21(2), 21(4), 13(1)(c)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        if m.automated_decisions.profiling:
            return
        ads = [
            p.name
            for p in m.processors
            if ProcessorRole.ADVERTISING in p.roles
            or (p.tracker is not None and p.tracker.consent_category is ConsentCategory.ADVERTISING)
        ]
        if ads:
            yield Hit(
                ("automated_decisions", "profiling"),
                "the policy states that no profiling is done, yet it uses advertising and "
                f"retargeting services ({name_list(ads)}); evaluating a person's behaviour or "
                "interests to target advertising is profiling (Art. 4(4)); the policy must say "
                "so among its purposes (Art. 13(1)(c)) and tell people, explicitly and "
                "separately, that they can object to it (Art. 21(2), 21(4))",
            )
