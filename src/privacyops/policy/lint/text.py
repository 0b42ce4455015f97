"""Rules on the text itself (GDPR Art. 12(1)): contradictions the manifest noted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from privacyops.policy.lint.base import Hit, Rule, Severity, register
from privacyops.policy.schema import (
    Manifest,
)
from privacyops.policy.source import Loc


@register
class PolicyContradictsItself(Rule):
    id = "policy-contradicts-itself"
    title = "the policy text contradicts itself"
    article = "GDPR Art. 12(1), 5(1)(a)"
    severity = Severity.INFO

    def check(self, m: Manifest) -> Iterator[Hit]:
        def notes(loc: Loc, items: list[Any]) -> Iterator[Hit]:
            for j, n in enumerate(items):
                if n.kind == "contradiction":
                    yield Hit(
                        (*loc, "notes", j),
                        f"§{n.section}: {n.text} — information must be concise, transparent "
                        "and intelligible",
                    )

        yield from notes((), m.notes)
        for i, c in enumerate(m.channels):
            yield from notes(("channels", i), c.notes)
        for i, p in enumerate(m.processors):
            yield from notes(("processors", i), p.notes)
        for i, t in enumerate(m.transfers):
            yield from notes(("transfers", i), t.notes)
