"""Where personal data may go without further safeguards (GDPR Chapter V), as shipped data.

``data/adequacy.json`` lists the EEA and the European Commission's adequacy decisions (GDPR
Art. 45) with their references and dates, and the decisions the CJEU struck down (Safe
Harbour, Privacy Shield). The lint reads it to judge each third-country transfer; update the
file, not the code, when the Commission adopts or withdraws a decision.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["Adequacy", "AdequacyDecision", "InvalidatedDecision", "adequacy"]

DATA_FILE = Path(__file__).parent / "data" / "adequacy.json"


@dataclass(frozen=True)
class AdequacyDecision:
    """One Commission adequacy decision (GDPR Art. 45(3), or kept by Art. 45(9))."""

    name: str
    decision: str
    date: str
    scope: str
    country: str | None = None
    organisation: str | None = None
    certified_only: bool = False

    def cite(self) -> str:
        return f"{self.name}: {self.decision} of {self.date}, scope: {self.scope}"


@dataclass(frozen=True)
class InvalidatedDecision:
    safeguard: str
    name: str
    decision: str
    invalidated_by: str
    date: str

    def cite(self) -> str:
        return (
            f"the {self.name} ({self.decision}), which {self.invalidated_by} invalidated on "
            f"{self.date}"
        )


@dataclass(frozen=True)
class Adequacy:
    """The EEA and the adequacy decisions in force, as of ``as_of``."""

    as_of: str
    eea: frozenset[str]
    decisions: tuple[AdequacyDecision, ...]
    invalidated: tuple[InvalidatedDecision, ...]

    def in_eea(self, country: str) -> bool:
        return country in self.eea

    def decision_for(self, country: str) -> AdequacyDecision | None:
        """The adequacy decision covering ``country`` (ISO alpha-2), if any."""
        for d in self.decisions:
            if d.country == country:
                return d
        return None

    def invalidated_safeguard(self, safeguard: str) -> InvalidatedDecision | None:
        for d in self.invalidated:
            if d.safeguard == safeguard:
                return d
        return None


def _decision(raw: dict[str, Any]) -> AdequacyDecision:
    return AdequacyDecision(
        name=raw["name"],
        decision=raw["decision"],
        date=raw["date"],
        scope=raw["scope"],
        country=raw.get("country"),
        organisation=raw.get("organisation"),
        certified_only=bool(raw.get("certified_only", False)),
    )


@lru_cache(maxsize=1)
def adequacy() -> Adequacy:
    """The shipped list, read once."""
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return Adequacy(
        as_of=raw["as_of"],
        eea=frozenset(raw["eea"]),
        decisions=tuple(_decision(d) for d in raw["decisions"]),
        invalidated=tuple(InvalidatedDecision(**d) for d in raw["invalidated"]),
    )
