"""Storage-limitation rules (GDPR Art. 5(1)(e), 13(2)(a)): a period for every channel, none left
to third parties, backups included."""

from __future__ import annotations

from collections.abc import Iterator

from privacyops.policy.lint.base import Hit, Rule, Severity, name_list, register
from privacyops.policy.schema import (
    Manifest,
    Processor,
    RecipientRole,
)


@register
class ChannelWithoutRetention(Rule):
    id = "channel-without-retention"
    title = "a channel states no retention period"
    article = "GDPR Art. 5(1)(e), 13(2)(a)"

    def check(self, m: Manifest) -> Iterator[Hit]:
        for i, c in enumerate(m.channels):
            if c.retention is None:
                yield Hit(
                    ("channels", i, "retention"),
                    f"channel '{c.name}' states no retention period nor the criteria used to "
                    "determine it",
                )


@register
class RetentionLeftToProcessors(Rule):
    id = "retention-left-to-processors"
    title = "retention deferred to processors' own policies"
    article = "GDPR Art. 13(2)(a), 5(1)(e), 28(3)(g)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        covered: set[str] = set()
        for i, c in enumerate(m.channels):
            if c.retention and c.retention.processors_own_retention:
                parties = [m.processor(p) for p in c.retention.processors_own_retention]
                covered.update(c.retention.processors_own_retention)
                yield Hit(
                    ("channels", i, "retention", "processors_own_retention"),
                    f"on channel '{c.name}' the retention of data collected through "
                    f"{name_list([p.name for p in parties])} is left to their own privacy "
                    f"policies; the controller must state the period itself{_why(parties)}",
                )
        loose = [(i, p.name) for i, p in enumerate(m.processors) if p.own_retention]
        loose = [(i, name) for i, name in loose if m.processors[i].id not in covered]
        if loose:
            names = [name for _, name in loose]
            yield Hit(
                ("processors", loose[0][0], "own_retention"),
                f"the retention of data held by {name_list(names, 8)} is left to their own "
                "privacy policies; the policy states no period for it",
            )


def _why(parties: list[Processor]) -> str:
    """What the law says of each kind of party whose own policy sets the retention."""
    processors = [p.name for p in parties if p.role is RecipientRole.PROCESSOR]
    controllers = [p.name for p in parties if p.role is not RecipientRole.PROCESSOR]
    out = ""
    if processors:
        out += (
            f"; {name_list(processors)} "
            f"{'is a processor' if len(processors) == 1 else 'are processors'}, which keep "
            "data only as the controller instructs (Art. 28(3)(g))"
        )
    if controllers:
        out += (
            f"; {name_list(controllers)} "
            f"{'decides' if len(controllers) == 1 else 'decide'} as controllers what they keep "
            "of what they receive, but the policy must still say how long the data it "
            "collects for and shares with them is kept, or the criteria (Art. 13(2)(a))"
        )
    return out


@register
class BackupsWithoutPeriod(Rule):
    id = "backups-without-period"
    title = "expired data kept in backups with no period"
    article = "GDPR Art. 5(1)(e), 17(1)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        if m.backups and m.backups_retention is None:
            yield Hit(
                ("backups",),
                "data whose retention has expired stays in backups, and the policy states no "
                "period after which the backups are overwritten or deleted "
                "(backups_retention): storage limitation applies to backups too",
            )
