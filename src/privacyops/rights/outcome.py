"""The outcome of a request: what its answer says and staff see, without personal data.

Stored as JSON in ``rights_requests.outcome``. :meth:`Outcome.of` reads what any version wrote
(keys it does not know are kept as they are); :meth:`Outcome.store` writes back only the keys
that were set, in the order of the fields below, so a request in flight resumes unchanged.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from privacyops.rights.models import RightsRequest

__all__ = ["KeptLaw", "KeptRecord", "Outcome", "SystemStatus"]


class SystemStatus(BaseModel):
    """Where one connected system stands for the request (``done``, ``pending``, ``failed``)
    and, once it answered, how many records it returned, erased or corrected."""

    model_config = ConfigDict(extra="allow")

    system: str
    status: str
    records: int | None = None
    erased: int | None = None
    corrected: int | None = None


class KeptLaw(BaseModel):
    """A law that keeps a record past an erasure: its citation and its country (ISO code)."""

    model_config = ConfigDict(extra="allow")

    law: str
    country: str | None = None


class KeptRecord(BaseModel):
    """A record an erasure kept, with the reason the person is told (GDPR Art. 17(3)).

    ``exception`` is the Art. 17(3) point's name (``legal_obligation``, ``legal_claims``, ...),
    ``article`` its number (``17(3)(b)``); ``laws`` the statutes that keep it (with country);
    ``kept`` says what is kept in words; ``until`` is the day it is erased (none: while the
    exception lasts, e.g. a legal hold without an end); ``hold`` the legal hold's reason."""

    model_config = ConfigDict(extra="allow")

    record: int
    channel: str
    reason: str
    exception: str | None = None
    article: str | None = None
    laws: list[KeptLaw] | None = None
    kept: str | None = None
    until: date | None = None
    hold: str | None = None


class Outcome(BaseModel):
    """Every key a step may set; a key left unset is absent from the stored JSON.

    ``restriction`` may be set to ``None`` (nothing was held to restrict): that is shown, so
    "unset" and "``None``" differ, which is why the JSON form keeps only the keys set.
    """

    model_config = ConfigDict(extra="allow")

    # erasure (Art. 17): its ground (Art. 17(1)), what went, what an exception kept
    erasure_ground: str | None = None
    erased: int | None = None
    erased_channels: list[str] | None = None
    method: str | None = None
    kept: list[KeptRecord] | None = None
    # rectification (Art. 16)
    corrected: list[str] | None = None
    not_held: list[str] | None = None
    # objection (Art. 21) and restriction (Art. 18)
    objection: str | None = None
    restricted: bool | None = None
    ground: str | None = None
    restriction: int | None = None
    result: str | None = None
    decision: str | None = None
    reason: str | None = None
    # consent withdrawal (Art. 7(3))
    withdrawn: list[str] | None = None
    opt_ins: int | None = None
    # complaint (Art. 77)
    complaint: dict[str, Any] | None = None
    # connected systems, and what the request waits for
    other_systems: list[SystemStatus] | None = None
    waiting_for: list[str] | None = None
    retries: int | None = None
    # Art. 19 notices
    not_notified: list[str] | None = None
    recipients_notified: list[str] | None = None

    @classmethod
    def of(cls, row: RightsRequest) -> Outcome:
        """The outcome stored on ``row`` (empty when it has none yet)."""
        return cls.model_validate(row.outcome or {})

    def store(self, row: RightsRequest) -> None:
        """Write this outcome to ``row`` (a new JSON value, so the change is saved)."""
        row.outcome = self.model_dump(mode="json", exclude_unset=True)

    def without(self, *names: str) -> Outcome:
        """A copy with the keys ``names`` unset (absent from the JSON form)."""
        data = self.model_dump(mode="json", exclude_unset=True)
        return Outcome.model_validate({k: v for k, v in data.items() if k not in names})

    def systems(self) -> list[SystemStatus]:
        """The connected systems' statuses (none recorded: an empty list)."""
        return list(self.other_systems or [])
