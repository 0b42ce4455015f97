"""What the registry's callers hand in and get back (no personal data outside ``payload``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["IdentityIn", "IdentityReviewView", "Record", "RecordIn", "Subject", "Submission"]


@dataclass(frozen=True)
class IdentityIn:
    """An identity as a caller gives it, e.g. ``IdentityIn("email", "Ada@Example.com")``.

    ``identifies``: whether it finds its person on its own (the manifest category's
    ``identifies``); ``None`` means the kind's default (:func:`privacyops.identities.identifies`).
    """

    kind: str
    value: str
    identifies: bool | None = None


@dataclass(frozen=True)
class RecordIn:
    """A personal-data record to store.

    ``payload`` holds the personal fields themselves (sealed before storage); the other
    attributes are the record's facts, kept in plaintext for retention and reporting: they must
    not contain personal data.
    """

    channel: str
    legal_basis: str
    policy_version: str
    data_categories: Sequence[str] = ()
    purposes: Sequence[str] = ()
    payload: Mapping[str, Any] = field(default_factory=dict)
    collected_at: datetime | None = None
    last_contact_at: datetime | None = None
    last_event_registration_at: datetime | None = None
    last_service_delivery_at: datetime | None = None
    source_system: str | None = None


@dataclass(frozen=True)
class Submission:
    """What a channel hands in: who it is about, and the record."""

    identities: Sequence[IdentityIn]
    record: RecordIn


@dataclass(frozen=True)
class Subject:
    """A data subject as the registry's callers see it (no personal data)."""

    id: int
    public_id: str
    created_at: datetime
    erased_at: datetime | None = None
    #: set on the subject a submission went to when its identifying identities pointed at more
    #: than one known subject: the staff review that decides (see ``Registry.identity_reviews``)
    review_id: int | None = None


@dataclass(frozen=True)
class Record:
    """A personal-data record, decrypted. ``payload`` is ``None`` when the subject's key no
    longer exists (crypto-shredded) and the record is only ciphertext."""

    id: int
    subject_public_id: str
    channel: str
    data_categories: list[str]
    purposes: list[str]
    legal_basis: str
    policy_version: str
    collected_at: datetime
    last_contact_at: datetime | None
    last_event_registration_at: datetime | None
    last_service_delivery_at: datetime | None
    source_system: str | None
    payload: dict[str, Any] | None
    updated_at: datetime
    #: when an erasure kept the record under an Art. 17(3) exception: until when, and which
    keep_until: datetime | None = None
    kept_under: str | None = None


@dataclass(frozen=True)
class IdentityReviewView:
    """A conflict waiting for (or decided by) staff: the submission's record is on
    ``subject_public_id``; ``matches`` name the known subjects its identities pointed at and
    by which kinds (``[{"subject": public id, "kinds": ["email"]}, ...]``), no values."""

    id: int
    subject_public_id: str
    matches: list[dict[str, Any]]
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    outcome: str | None
    merged_into: str | None
