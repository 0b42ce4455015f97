"""What the rights engine needs from the personal-data registry, as a small interface.

:class:`SubjectRegistry` names the operations fulfilment uses; the store's registry provides
them (``privacyops.rights.registry_adapter`` fits it to this interface). Keeping the interface
here makes the steps readable on their own and lets another registry be plugged in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

__all__ = ["HoldView", "RecordView", "SubjectRegistry"]


@dataclass(frozen=True, slots=True)
class RecordView:
    """One registry record of a person, decrypted, with what the manifest needs to explain it."""

    id: int
    channel: str
    data_categories: Sequence[str]
    purposes: Sequence[str]
    legal_basis: str
    policy_version: str
    collected_at: datetime
    source_system: str | None
    data: Mapping[str, Any] = field(default_factory=dict)
    #: The events a retention rule can start from (``last_contact``, ...), when recorded.
    clocks: Mapping[str, datetime | None] = field(default_factory=dict)
    last_service_delivery_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HoldView:
    """An active legal hold on a person (its reason carries no personal data)."""

    id: int
    reason: str


class SubjectRegistry(Protocol):
    """The registry operations the rights steps call, each inside the caller's ``session``."""

    def find_subject(self, session: Session, kind: str, value: str) -> str | None:
        """The ``public_id`` of the living subject with this identity, or ``None``."""
        ...

    def find_subjects(self, session: Session, kind: str, values: Sequence[str]) -> dict[str, str]:
        """:meth:`find_subject` for many values at once: value -> ``public_id`` of the living
        subjects found (the others absent)."""
        ...

    def holds_identity(self, session: Session, subject_ref: str, kind: str, value: str) -> bool:
        """Whether the subject has this identity (a second factor's phone, which several
        people may share, so that :meth:`find_subject` finds no one by it)."""
        ...

    def records_for(self, session: Session, subject_ref: str) -> list[RecordView]:
        """Every record of the subject, decrypted."""
        ...

    def record_facts(self, session: Session, subject_ref: str) -> list[RecordView]:
        """Every record of the subject without its data (no decryption): channel, basis..."""
        ...

    def record_facts_many(
        self, session: Session, subject_refs: Sequence[str]
    ) -> dict[str, list[RecordView]]:
        """:meth:`record_facts` of many subjects at once (each ref given is a key)."""
        ...

    def update_record(
        self, session: Session, subject_ref: str, record_id: int, changes: Mapping[str, Any]
    ) -> None:
        """Replace fields of one record's data (rectification)."""
        ...

    def restrict(self, session: Session, subject_ref: str, ground: str, note: str | None) -> int:
        """Mark the subject's processing restricted on ``ground``; returns the restriction id."""
        ...

    def lift_restriction(self, session: Session, subject_ref: str, restriction_id: int) -> None:
        """End a restriction."""
        ...

    def active_holds(self, session: Session, subject_ref: str) -> list[HoldView]:
        """The legal holds in force on the subject."""
        ...

    def active_holds_many(
        self, session: Session, subject_refs: Sequence[str]
    ) -> dict[str, list[HoldView]]:
        """:meth:`active_holds` of many subjects at once (each ref given is a key)."""
        ...

    def suppress_email(self, session: Session, email: str, reason: str) -> None:
        """Put an e-mail address on the marketing suppression list (idempotent)."""
        ...

    def delete_records(self, session: Session, subject_ref: str, record_ids: Sequence[int]) -> int:
        """Delete some records of the subject; returns how many were deleted."""
        ...

    def keep_records(
        self,
        session: Session,
        subject_ref: str,
        keeps: Mapping[int, tuple[datetime, str]],
        note: str | None,
    ) -> int | None:
        """Keep these records past an erasure until their exception ends ({record id:
        (keep-until, exception)}) and restrict the subject (Art. 18(2)); returns the
        restriction's id, ``None`` when nothing is kept."""
        ...

    def shred_subjects(self, session: Session, subject_refs: Sequence[str]) -> int:
        """Destroy these subjects' keys, then delete their records and identities (one
        key-store transaction for all); returns how many keys were destroyed."""
        ...
