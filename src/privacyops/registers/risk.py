"""The risk a breach poses to people, and what it obliges (GDPR Art. 33(1), 33(5), 34(1)).

As in the EDPB's examples (Guidelines 01/2021 on examples of breach notification, following
ENISA's method) the risk is likelihood × severity, each on four levels. The product decides:

- up to 2: *unlikely to result in a risk* — no notification, documented (Art. 33(5));
- 3 to 7: *a risk* — notify the supervisory authority within 72 hours (Art. 33(1));
- 8 and more: *a high risk* — notify the authority and the people affected (Art. 34(1)).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from privacyops.errors import InvalidInput

__all__ = ["LEVELS", "Decision", "RiskAssessment", "assess"]

#: Levels of likelihood and of severity, lowest first, with their weight.
LEVELS: dict[str, int] = {"low": 1, "medium": 2, "high": 3, "very_high": 4}


class Decision(StrEnum):
    """What a breach's risk obliges."""

    NONE = "none"  #: document only (Art. 33(5))
    AUTHORITY = "authority"  #: notify the supervisory authority (Art. 33)
    PEOPLE = "people"  #: notify the authority and the people affected (Art. 34)


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    likelihood: str
    severity: str
    score: int
    decision: Decision

    def as_dict(self) -> dict[str, object]:
        return {
            "likelihood": self.likelihood,
            "severity": self.severity,
            "score": self.score,
            "decision": self.decision.value,
        }


def _level(name: str, value: str) -> int:
    found = LEVELS.get(value)
    if found is None:
        raise InvalidInput(
            f"The {name} must be one of {', '.join(LEVELS)}.",
            details=[{"loc": [name], "msg": f"expected one of {', '.join(LEVELS)}"}],
        )
    return found


def assess(likelihood: str, severity: str) -> RiskAssessment:
    """Likelihood × severity and the decision it leads to.

    Raises:
        InvalidInput: a level is not one of :data:`LEVELS`.
    """
    score = _level("likelihood", likelihood) * _level("severity", severity)
    if score <= 2:
        decision = Decision.NONE
    elif score < 8:
        decision = Decision.AUTHORITY
    else:
        decision = Decision.PEOPLE
    return RiskAssessment(likelihood, severity, score, decision)
