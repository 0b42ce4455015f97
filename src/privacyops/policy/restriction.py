"""The grounds of a restriction of processing (GDPR Art. 18(1)(a)-(d)); policy §9.

One list for every part: the store refuses any other ground, the rights request form offers
these, and the answer to the person names the one applied.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RestrictionGround"]


class RestrictionGround(StrEnum):
    """Why processing is restricted; the value is what is stored."""

    ACCURACY_CONTESTED = "accuracy_contested"  # 18(1)(a): while the accuracy is verified
    UNLAWFUL_PROCESSING = "unlawful_processing"  # 18(1)(b): unlawful, erasure opposed
    LEGAL_CLAIMS = "legal_claims"  # 18(1)(c): the person needs it for legal claims
    OBJECTION_PENDING = "objection_pending"  # 18(1)(d): an Art. 21(1) objection is pending
    #: Set by an erasure, never asked for: what an Art. 17(3) exception keeps (a statutory
    #: keep-period) is only stored until the exception ends (Art. 18(2); docs/rights.md).
    ERASURE_EXCEPTION = "erasure_exception"

    @property
    def article(self) -> str:
        """The point of Art. 18 it stands on, e.g. ``"18(1)(a)"``."""
        if self is RestrictionGround.ERASURE_EXCEPTION:
            return "18(2)"
        return f"18(1)({'abcd'[list(RestrictionGround).index(self)]})"

    @classmethod
    def requestable(cls) -> list[RestrictionGround]:
        """The grounds a person may ask for (Art. 18(1)(a)-(d))."""
        return [g for g in cls if g is not RestrictionGround.ERASURE_EXCEPTION]

    @classmethod
    def parse(cls, value: object) -> RestrictionGround | None:
        """The ground ``value`` names, or ``None`` when it names none."""
        for ground in cls:
            if ground.value == value:
                return ground
        return None

    @classmethod
    def choices(cls) -> str:
        """The stored values, comma-separated (for error details)."""
        return ", ".join(g.value for g in cls)
