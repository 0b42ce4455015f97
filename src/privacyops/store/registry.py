"""The personal-data registry: data subjects, their identities, their records, and the
restrictions, legal holds and suppressions that limit what may be done with them.

Every personal value is sealed with its subject's data key before it reaches the database, and
identities are found by blind index (HMAC), so the registry tables alone reveal nothing.
Destroying the subject's key (:meth:`Registry.shred_subject`) makes every copy unreadable.

The registry does not write audit events (the store sits below the audit layer): callers pass
their own ``session`` and append the event in the same transaction::

    with db.session() as session:
        subject, record_id = registry.ingest(submission, session=session)
        AuditLog(db).append("record.collect", subject_ref=subject.public_id, session=session)
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from privacyops.errors import InvalidInput, NotFound, ProcessingRestricted
from privacyops.store.base import utcnow
from privacyops.store.crypto import DecryptionError, new_key, open_sealed, seal
from privacyops.store.db import Database
from privacyops.store.models import (
    DataSubject,
    Identity,
    LegalHold,
    MarketingSuppression,
    PersonalDataRecord,
    ProcessingRestriction,
)

__all__ = [
    "IDENTITY_KINDS",
    "RESTRICTION_GROUNDS",
    "IdentityIn",
    "Record",
    "RecordIn",
    "Registry",
    "Subject",
    "Submission",
    "normalise_identity",
]

#: Kinds of identity the registry knows, and how each is normalised before hashing.
IDENTITY_KINDS: tuple[str, ...] = (
    "email",
    "phone",
    "name",
    "name_company",
    "skype",
    "linkedin",
    "visitor_id",
    "customer_id",
)

#: Grounds of a restriction of processing (GDPR Art. 18(1)(a)-(d)) and of an objection pending.
RESTRICTION_GROUNDS: tuple[str, ...] = (
    "accuracy_contested",  # 18(1)(a)
    "unlawful_processing",  # 18(1)(b)
    "legal_claims",  # 18(1)(c): kept for the establishment, exercise or defence of claims
    "objection_pending",  # 18(1)(d)
)

_subjects = cast(sa.Table, DataSubject.__table__)
_identities = cast(sa.Table, Identity.__table__)
_records = cast(sa.Table, PersonalDataRecord.__table__)
_restrictions = cast(sa.Table, ProcessingRestriction.__table__)
_holds = cast(sa.Table, LegalHold.__table__)
_suppressions = cast(sa.Table, MarketingSuppression.__table__)
_CHUNK = 500
_SPACES = re.compile(r"\s+")


def normalise_identity(kind: str, value: str) -> str:
    """The canonical form of an identity value, so that the same person is found however they
    typed it (case, spaces, phone formatting, URL prefixes).

    Raises:
        InvalidInput: unknown kind, empty value, or a phone number that does not parse.
    """
    if kind not in IDENTITY_KINDS:
        raise InvalidInput(
            f"Unknown identity kind {kind!r}.",
            details=[{"loc": ["kind"], "msg": f"one of {', '.join(IDENTITY_KINDS)}"}],
        )
    text = _SPACES.sub(" ", str(value)).strip()
    if not text:
        raise InvalidInput(f"The {kind} is empty.", details=[{"loc": [kind], "msg": "empty"}])
    if kind == "email":
        return text.replace(" ", "").lower()
    if kind == "phone":
        if text.startswith("00"):
            text = "+" + text[2:]
        if not text.startswith("+"):
            # Without a country code the number cannot be placed; its digits are its identity.
            digits = re.sub(r"\D", "", text)
            if len(digits) < 5:
                raise InvalidInput(
                    "The phone number is not valid.",
                    details=[{"loc": ["phone"], "msg": "not a phone number"}],
                )
            return digits
        try:
            number = phonenumbers.parse(text, None)
            if not phonenumbers.is_possible_number(number):
                raise phonenumbers.NumberParseException(
                    phonenumbers.NumberParseException.NOT_A_NUMBER, "impossible length"
                )
        except phonenumbers.NumberParseException:
            raise InvalidInput(
                "The phone number is not valid.",
                details=[{"loc": ["phone"], "msg": "not a phone number"}],
            ) from None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if kind == "linkedin":
        text = re.sub(r"^(https?://)?(www\.)?", "", text.lower()).rstrip("/")
        return text
    if kind in ("name", "name_company", "skype"):
        return text.casefold()
    return text


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    msg = f"{type(value).__name__} is not JSON-serialisable"
    raise TypeError(msg)


def _encode_payload(payload: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(dict(payload), separators=(",", ":"), default=_json_default).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            "The record payload must be JSON-serialisable.", details=[{"loc": ["payload"]}]
        ) from exc


@dataclass(frozen=True)
class IdentityIn:
    """An identity as a caller gives it, e.g. ``IdentityIn("email", "Ada@Example.com")``."""

    kind: str
    value: str


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


@dataclass(frozen=True)
class _Prepared:
    identities: list[tuple[str, bytes, str]]  # (kind, blind index, normalised value)
    record: RecordIn


def _sqlite_value(value: Any) -> Any:
    # The storage forms SQLAlchemy's SQLite types use: naive UTC text, JSON text.
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(" ", "microseconds")
    if isinstance(value, list):
        return json.dumps(value)
    return value


def _insert_many(s: Session, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows (all with the same keys) and return their new ids, in order.

    On SQLite the rows go to the driver directly: the transaction holds the database's write
    lock, so the rowids given to one ``executemany`` are consecutive and end at
    ``last_insert_rowid()``. On PostgreSQL, a multi-row insert with ordered ``RETURNING``.
    """
    conn = s.connection()
    if conn.dialect.name != "sqlite":
        result = conn.execute(
            sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        return [int(x) for x in result.scalars().all()]
    columns = list(rows[0])
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    dbapi = conn.connection.dbapi_connection
    if dbapi is None:  # pragma: no cover - a live Connection always has one
        raise RuntimeError("connection is closed")
    cursor = dbapi.cursor()
    try:
        cursor.executemany(sql, [tuple(_sqlite_value(r[c]) for c in columns) for r in rows])
        cursor.execute("SELECT last_insert_rowid()")
        (last,) = cursor.fetchone() or (0,)
    finally:
        cursor.close()
    return list(range(int(last) - len(rows) + 1, int(last) + 1))


def _subject(row: Any) -> Subject:
    return Subject(row.id, row.public_id, row.created_at, row.erased_at)


class Registry:
    """The API over the registry tables of one :class:`~privacyops.store.Database`.

    Every method takes an optional ``session``: given, the work joins that transaction (the
    caller commits); omitted, the method commits on its own. Subject data keys are written to
    and destroyed in the key store immediately (before the registry transaction).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.keyring = db.keyring
        self.key_store = db.key_store

    def __repr__(self) -> str:
        return f"Registry({self.db!r})"

    @contextmanager
    def _session(self, session: Session | None) -> Iterator[Session]:
        if session is not None:
            yield session
        else:
            with self.db.session() as own:
                yield own

    # --- keys ----------------------------------------------------------------------------

    def _data_keys(self, public_ids: Iterable[str], s: Session | None = None) -> dict[str, bytes]:
        conn = s.connection() if s is not None and self.key_store.shared else None
        wrapped = self.key_store.get_many(public_ids, connection=conn)
        return {p: self.keyring.unwrap(p, w) for p, w in wrapped.items()}

    def _new_subject_keys(self, s: Session, count: int, created: list[str]) -> dict[str, bytes]:
        keys = {secrets.token_hex(16): new_key() for _ in range(count)}
        # a key table of this database: in this transaction (no second pooled connection)
        conn = s.connection() if self.key_store.shared else None
        self.key_store.put_many(self.keyring.wrap_many(keys), connection=conn)
        created.extend(keys)
        return keys

    # --- subjects and identities -------------------------------------------------------------

    def _index(self, kind: str, value: str) -> tuple[bytes, str]:
        normal = normalise_identity(kind, value)
        return self.keyring.blind_index(kind, normal), normal

    def find_subject(
        self, kind: str, value: str, *, session: Session | None = None
    ) -> Subject | None:
        """The subject with this identity, or ``None``.

        Raises:
            InvalidInput: unknown kind or malformed value.
        """
        index, _ = self._index(kind, value)
        query = (
            sa.select(_subjects)
            .join(_identities, _identities.c.subject_id == _subjects.c.id)
            .where(_identities.c.kind == kind, _identities.c.blind_index == index)
        )
        with self._session(session) as s:
            row = s.execute(query).first()
        return _subject(row) if row is not None else None

    def find_subjects(
        self, kind: str, values: Sequence[str], *, session: Session | None = None
    ) -> dict[str, Subject]:
        """The subjects with these identities of one ``kind``, keyed by each value as given
        (a value nobody has is absent), looked up set-based (one query per 500 values).

        Raises:
            InvalidInput: unknown kind or a malformed value.
        """
        wanted: dict[bytes, list[str]] = {}
        for value in dict.fromkeys(values):
            wanted.setdefault(self._index(kind, value)[0], []).append(value)
        indexes = list(wanted)
        found: dict[str, Subject] = {}
        with self._session(session) as s:
            for start in range(0, len(indexes), _CHUNK):
                rows = s.execute(
                    sa.select(_subjects, _identities.c.blind_index)
                    .join(_identities, _identities.c.subject_id == _subjects.c.id)
                    .where(
                        _identities.c.kind == kind,
                        _identities.c.blind_index.in_(indexes[start : start + _CHUNK]),
                    )
                )
                for row in rows:
                    for value in wanted[row.blind_index]:
                        found.setdefault(value, _subject(row))
        return found

    def get_subject(self, public_id: str, *, session: Session | None = None) -> Subject:
        """The subject with this public id.

        Raises:
            NotFound: no such subject.
        """
        with self._session(session) as s:
            row = s.execute(sa.select(_subjects).where(_subjects.c.public_id == public_id)).first()
        if row is None:
            raise NotFound("No such data subject.")
        return _subject(row)

    def get_subjects(
        self, public_ids: Sequence[str], *, session: Session | None = None
    ) -> list[Subject]:
        """The subjects with these public ids, in the order given (duplicates once), looked up
        set-based (one query per 500 ids, not one per subject).

        Raises:
            NotFound: one of them does not exist.
        """
        wanted = list(dict.fromkeys(public_ids))
        found: dict[str, Subject] = {}
        with self._session(session) as s:
            for start in range(0, len(wanted), _CHUNK):
                rows = s.execute(
                    sa.select(_subjects).where(
                        _subjects.c.public_id.in_(wanted[start : start + _CHUNK])
                    )
                )
                found.update({row.public_id: _subject(row) for row in rows})
        if len(found) != len(wanted):
            raise NotFound("No such data subject.")
        return [found[p] for p in wanted]

    def get_or_create_subject(
        self, identities: Sequence[IdentityIn], *, session: Session | None = None
    ) -> Subject:
        """The subject any of these identities belongs to, or a new one; identities the subject
        does not have yet are added to it."""
        created: list[str] = []
        try:
            with self._session(session) as s:
                subjects, _ = self._resolve(s, [self._prepare(identities, None)], created)
        except BaseException:
            self.key_store.destroy(created, purge=False)  # keys of subjects never written
            raise
        return subjects[0]

    def add_identity(
        self, subject: Subject, kind: str, value: str, *, session: Session | None = None
    ) -> None:
        """Add an identity to a subject (no-op when the subject already has it).

        Raises:
            InvalidInput: the identity belongs to another subject (without saying whose);
            ProcessingRestricted: the subject was erased.
        """
        index, normal = self._index(kind, value)
        key = self._data_keys([subject.public_id]).get(subject.public_id)
        if key is None:
            raise ProcessingRestricted("This data subject was erased.")
        with self._session(session) as s:
            owner = s.execute(
                sa.select(_identities.c.subject_id).where(
                    _identities.c.kind == kind, _identities.c.blind_index == index
                )
            ).scalar()
            if owner == subject.id:
                return
            if owner is not None:
                raise InvalidInput(
                    f"This {kind} already identifies another data subject.",
                    details=[{"loc": [kind], "msg": "belongs to another data subject"}],
                )
            s.execute(
                sa.insert(_identities).values(
                    subject_id=subject.id,
                    kind=kind,
                    blind_index=index,
                    value_sealed=seal(
                        key, normal.encode(), b"identity:" + subject.public_id.encode()
                    ),
                    created_at=utcnow(),
                )
            )

    def identities_of(
        self, subject: Subject, *, session: Session | None = None
    ) -> list[tuple[str, str]]:
        """The subject's identities, decrypted, as ``(kind, normalised value)`` pairs."""
        with self._session(session) as s:
            rows = s.execute(
                sa.select(_identities.c.kind, _identities.c.value_sealed)
                .where(_identities.c.subject_id == subject.id)
                .order_by(_identities.c.id)
            ).all()
        key = self._data_keys([subject.public_id]).get(subject.public_id)
        if key is None:
            return []
        aad = b"identity:" + subject.public_id.encode()
        return [(kind, open_sealed(key, bytes(sealed), aad).decode()) for kind, sealed in rows]

    # --- intake ------------------------------------------------------------------------------

    def _prepare(self, identities: Sequence[IdentityIn], record: RecordIn | None) -> _Prepared:
        if not identities:
            raise InvalidInput(
                "A submission needs at least one identity (e-mail, phone, visitor id...).",
                details=[{"loc": ["identities"], "msg": "empty"}],
            )
        prepared = []
        for identity in identities:
            index, normal = self._index(identity.kind, identity.value)
            prepared.append((identity.kind, index, normal))
        return _Prepared(prepared, record or RecordIn("", "", ""))

    def _resolve(
        self, s: Session, batch: Sequence[_Prepared], created_keys: list[str]
    ) -> tuple[list[Subject], dict[str, bytes]]:
        """Find or create the subject of each prepared submission (set-based) and add the
        identities they lack; returns the subjects in order and their data keys."""
        indexes = list({bi for p in batch for _, bi, _ in p.identities})
        known: dict[bytes, Subject] = {}
        for start in range(0, len(indexes), _CHUNK):
            rows = s.execute(
                sa.select(_identities.c.blind_index, _subjects)
                .join(_subjects, _subjects.c.id == _identities.c.subject_id)
                .where(_identities.c.blind_index.in_(indexes[start : start + _CHUNK]))
            ).all()
            for row in rows:
                known[bytes(row.blind_index)] = _subject(row)
        # Subjects to create: submissions none of whose identities is known, merged when they
        # share an identity within the batch (placeholders are negative numbers).
        owner: dict[bytes, Subject | int] = dict(known)
        assigned: list[Subject | int] = []
        placeholders = 0
        for p in batch:
            found: Subject | int | None = next(
                (owner[bi] for _, bi, _ in p.identities if bi in owner), None
            )
            if found is None:
                placeholders += 1
                found = -placeholders
            for _, bi, _ in p.identities:
                owner.setdefault(bi, found)
            assigned.append(found)
        new_keys = self._new_subject_keys(s, placeholders, created_keys) if placeholders else {}
        created: dict[int, Subject] = {}
        if placeholders:
            now = utcnow()
            new_ids = _insert_many(
                s, _subjects, [{"public_id": p, "created_at": now} for p in new_keys]
            )
            for n, (subject_id, public_id) in enumerate(zip(new_ids, new_keys, strict=True), 1):
                created[-n] = Subject(subject_id, public_id, now, None)
        subjects = [created[a] if isinstance(a, int) else a for a in assigned]
        keys = dict(new_keys)
        existing = {x.public_id for x in subjects} - keys.keys()
        keys.update(self._data_keys(existing, s))
        erased = existing - keys.keys()
        if erased:  # an identity still points at a subject whose key is gone
            raise ProcessingRestricted("A data subject in this batch was erased.")
        new_rows = []
        seen = set(known)
        now = utcnow()
        for p, subject in zip(batch, subjects, strict=True):
            aad = b"identity:" + subject.public_id.encode()
            for kind, bi, normal in p.identities:
                if bi in seen:
                    continue
                seen.add(bi)
                new_rows.append(
                    {
                        "subject_id": subject.id,
                        "kind": kind,
                        "blind_index": bi,
                        "value_sealed": seal(keys[subject.public_id], normal.encode(), aad),
                        "created_at": now,
                    }
                )
        if new_rows:
            _insert_many(s, _identities, new_rows)
        return subjects, keys

    def _record_row(self, subject: Subject, key: bytes, record: RecordIn) -> dict[str, Any]:
        now = utcnow()
        return {
            "subject_id": subject.id,
            "channel": record.channel,
            "data_categories": list(record.data_categories),
            "purposes": list(record.purposes),
            "legal_basis": record.legal_basis,
            "policy_version": record.policy_version,
            "collected_at": record.collected_at or now,
            "last_contact_at": record.last_contact_at,
            "last_event_registration_at": record.last_event_registration_at,
            "last_service_delivery_at": record.last_service_delivery_at,
            "source_system": record.source_system,
            "payload_sealed": seal(
                key, _encode_payload(record.payload), b"record:" + subject.public_id.encode()
            ),
            "updated_at": now,
        }

    def ingest(
        self, submission: Submission, *, session: Session | None = None
    ) -> tuple[Subject, int]:
        """Store one submission: find or create its subject, add new identities, add the
        record. Returns the subject and the new record's id."""
        return self.ingest_many([submission], session=session)[0]

    def ingest_many(
        self, submissions: Sequence[Submission], *, session: Session | None = None
    ) -> list[tuple[Subject, int]]:
        """Store many submissions in one transaction, set-based (the fast path for imports).

        Returns ``(subject, record id)`` per submission, in order. When a concurrent writer
        creates the same identity first, the batch is retried (up to three times) without its
        session; with a caller's ``session`` the conflict propagates.
        """
        batch = [self._prepare(x.identities, x.record) for x in submissions]
        if not batch:
            return []
        attempts = 1 if session is not None else 3
        for attempt in range(attempts):
            created: list[str] = []
            try:
                with self._session(session) as s:
                    return self._ingest(s, batch, created)
            except IntegrityError:
                self.key_store.destroy(created, purge=False)
                if attempt == attempts - 1:
                    raise
            except BaseException:
                self.key_store.destroy(created, purge=False)  # keys of subjects never written
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _ingest(
        self, s: Session, batch: Sequence[_Prepared], created: list[str]
    ) -> list[tuple[Subject, int]]:
        subjects, keys = self._resolve(s, batch, created)
        rows = [
            self._record_row(subject, keys[subject.public_id], p.record)
            for p, subject in zip(batch, subjects, strict=True)
        ]
        ids = _insert_many(s, _records, rows)
        return list(zip(subjects, ids, strict=True))

    def add_record(
        self, subject: Subject, record: RecordIn, *, session: Session | None = None
    ) -> int:
        """Add a record to an existing subject; returns its id.

        Raises:
            ProcessingRestricted: the subject was erased.
        """
        key = self._data_keys([subject.public_id]).get(subject.public_id)
        if key is None:
            raise ProcessingRestricted("This data subject was erased.")
        with self._session(session) as s:
            return int(
                s.execute(
                    sa.insert(_records).returning(_records.c.id),
                    [self._record_row(subject, key, record)],
                ).scalar_one()
            )

    # --- reading and updating records ------------------------------------------------------

    def records_for(self, subject: Subject, *, session: Session | None = None) -> list[Record]:
        """The subject's records, decrypted, oldest first (payload ``None`` when shredded)."""
        with self._session(session) as s:
            rows = s.execute(
                sa.select(_records)
                .where(_records.c.subject_id == subject.id)
                .order_by(_records.c.collected_at, _records.c.id)
            ).all()
        key = self._data_keys([subject.public_id]).get(subject.public_id)
        return [self._record(row, subject.public_id, key) for row in rows]

    def get_record(self, record_id: int, *, session: Session | None = None) -> Record:
        """One record, decrypted.

        Raises:
            NotFound: no such record.
        """
        with self._session(session) as s:
            row = s.execute(
                sa.select(_records, _subjects.c.public_id)
                .join(_subjects, _subjects.c.id == _records.c.subject_id)
                .where(_records.c.id == record_id)
            ).first()
        if row is None:
            raise NotFound("No such record.")
        key = self._data_keys([row.public_id]).get(row.public_id)
        return self._record(row, row.public_id, key)

    @staticmethod
    def _record(row: Any, public_id: str, key: bytes | None) -> Record:
        payload: dict[str, Any] | None = None
        if key is not None and row.payload_sealed is not None:
            try:
                payload = json.loads(
                    open_sealed(key, bytes(row.payload_sealed), b"record:" + public_id.encode())
                )
            except DecryptionError:
                payload = None
        return Record(
            id=row.id,
            subject_public_id=public_id,
            channel=row.channel,
            data_categories=list(row.data_categories),
            purposes=list(row.purposes),
            legal_basis=row.legal_basis,
            policy_version=row.policy_version,
            collected_at=row.collected_at,
            last_contact_at=row.last_contact_at,
            last_event_registration_at=row.last_event_registration_at,
            last_service_delivery_at=row.last_service_delivery_at,
            source_system=row.source_system,
            payload=payload,
            updated_at=row.updated_at,
        )

    def update_record(
        self,
        record_id: int,
        *,
        payload: Mapping[str, Any] | None = None,
        session: Session | None = None,
        **facts: Any,
    ) -> Record:
        """Change a record (rectification, GDPR Art. 16, or a new clock event).

        Args:
            payload: replaces the whole payload when given.
            **facts: any of ``data_categories``, ``purposes``, ``legal_basis``,
                ``policy_version``, ``last_contact_at``, ``last_event_registration_at``,
                ``last_service_delivery_at``, ``source_system``.

        Raises:
            InvalidInput: an unknown fact; NotFound: no such record; ProcessingRestricted: the
            subject was erased.
        """
        allowed = {
            "data_categories",
            "purposes",
            "legal_basis",
            "policy_version",
            "last_contact_at",
            "last_event_registration_at",
            "last_service_delivery_at",
            "source_system",
        }
        unknown = sorted(set(facts) - allowed)
        if unknown:
            raise InvalidInput(
                f"Cannot update {', '.join(unknown)}.",
                details=[{"loc": [name], "msg": "not an updatable fact"} for name in unknown],
            )
        with self._session(session) as s:
            current = self.get_record(record_id, session=s)
            values: dict[str, Any] = dict(facts)
            if "data_categories" in values:
                values["data_categories"] = list(values["data_categories"])
            if "purposes" in values:
                values["purposes"] = list(values["purposes"])
            if payload is not None:
                public_id = current.subject_public_id
                key = self._data_keys([public_id]).get(public_id)
                if key is None:
                    raise ProcessingRestricted("This data subject was erased.")
                values["payload_sealed"] = seal(
                    key, _encode_payload(payload), b"record:" + public_id.encode()
                )
            values["updated_at"] = utcnow()
            s.execute(sa.update(_records).where(_records.c.id == record_id).values(**values))
            return self.get_record(record_id, session=s)

    def delete_records(self, record_ids: Iterable[int], *, session: Session | None = None) -> int:
        """Delete records by id (set-based); returns how many were deleted."""
        ids = list(record_ids)
        deleted = 0
        with self._session(session) as s:
            for start in range(0, len(ids), _CHUNK):
                result = s.execute(
                    sa.delete(_records).where(_records.c.id.in_(ids[start : start + _CHUNK]))
                )
                deleted += cast(sa.CursorResult[Any], result).rowcount
        return deleted

    # --- restrictions (Art. 18) and legal holds ------------------------------------------------

    def restrict(
        self,
        subject: Subject,
        ground: str,
        *,
        note: str | None = None,
        session: Session | None = None,
    ) -> int:
        """Restrict processing of a subject's data on a ground of Art. 18(1); returns its id.

        Raises:
            InvalidInput: unknown ground.
        """
        if ground not in RESTRICTION_GROUNDS:
            raise InvalidInput(
                f"Unknown restriction ground {ground!r}.",
                details=[{"loc": ["ground"], "msg": f"one of {', '.join(RESTRICTION_GROUNDS)}"}],
            )
        with self._session(session) as s:
            return int(
                s.execute(
                    sa.insert(_restrictions)
                    .values(subject_id=subject.id, ground=ground, note=note, created_at=utcnow())
                    .returning(_restrictions.c.id)
                ).scalar_one()
            )

    def lift_restriction(self, restriction_id: int, *, session: Session | None = None) -> None:
        """Lift a restriction (the subject is told first, Art. 18(3)).

        Raises:
            NotFound: no such active restriction.
        """
        with self._session(session) as s:
            result = s.execute(
                sa.update(_restrictions)
                .where(_restrictions.c.id == restriction_id, _restrictions.c.lifted_at.is_(None))
                .values(lifted_at=utcnow())
            )
            if cast(sa.CursorResult[Any], result).rowcount == 0:
                raise NotFound("No such active restriction.")

    def restrictions(
        self, subject: Subject, *, session: Session | None = None
    ) -> list[ProcessingRestriction]:
        """The subject's active restrictions."""
        with self._session(session) as s:
            return list(
                s.scalars(
                    sa.select(ProcessingRestriction).where(
                        ProcessingRestriction.subject_id == subject.id,
                        ProcessingRestriction.lifted_at.is_(None),
                    )
                ).all()
            )

    def add_legal_hold(
        self,
        subject: Subject,
        reason: str,
        *,
        until: datetime | None = None,
        created_by: str | None = None,
        session: Session | None = None,
    ) -> int:
        """Keep a subject's data past retention until ``until`` (or until lifted)."""
        if not reason.strip():
            raise InvalidInput("A legal hold needs a reason.", details=[{"loc": ["reason"]}])
        with self._session(session) as s:
            return int(
                s.execute(
                    sa.insert(_holds)
                    .values(
                        subject_id=subject.id,
                        reason=reason,
                        until=until,
                        created_by=created_by,
                        created_at=utcnow(),
                    )
                    .returning(_holds.c.id)
                ).scalar_one()
            )

    def lift_legal_hold(self, hold_id: int, *, session: Session | None = None) -> None:
        """End a legal hold.

        Raises:
            NotFound: no such active hold.
        """
        with self._session(session) as s:
            result = s.execute(
                sa.update(_holds)
                .where(_holds.c.id == hold_id, _holds.c.lifted_at.is_(None))
                .values(lifted_at=utcnow())
            )
            if cast(sa.CursorResult[Any], result).rowcount == 0:
                raise NotFound("No such active legal hold.")

    def legal_holds(
        self, subject: Subject, *, at: datetime | None = None, session: Session | None = None
    ) -> list[LegalHold]:
        """The subject's holds in force at ``at`` (default now)."""
        moment = at or utcnow()
        with self._session(session) as s:
            return list(
                s.scalars(
                    sa.select(LegalHold).where(
                        LegalHold.subject_id == subject.id,
                        LegalHold.lifted_at.is_(None),
                        sa.or_(LegalHold.until.is_(None), LegalHold.until > moment),
                    )
                ).all()
            )

    # --- marketing suppression (Art. 21(3)) ------------------------------------------------------

    def _suppression_index(self, email: str) -> bytes:
        return self.keyring.blind_index("suppression:email", normalise_identity("email", email))

    def suppress(
        self, email: str, *, reason: str | None = None, session: Session | None = None
    ) -> None:
        """Never send marketing to this address again (idempotent). Kept as an HMAC only."""
        index = self._suppression_index(email)
        with self._session(session) as s:
            exists = s.execute(
                sa.select(_suppressions.c.id).where(_suppressions.c.email_hmac == index)
            ).first()
            if exists is None:
                s.execute(
                    sa.insert(_suppressions).values(
                        email_hmac=index, reason=reason, created_at=utcnow()
                    )
                )

    def unsuppress(self, email: str, *, session: Session | None = None) -> bool:
        """Remove an address from the suppression list (the person opted in again)."""
        index = self._suppression_index(email)
        with self._session(session) as s:
            result = s.execute(sa.delete(_suppressions).where(_suppressions.c.email_hmac == index))
            return cast(sa.CursorResult[Any], result).rowcount > 0

    def is_suppressed(self, email: str, *, session: Session | None = None) -> bool:
        """Whether marketing to this address is suppressed."""
        index = self._suppression_index(email)
        with self._session(session) as s:
            return (
                s.execute(
                    sa.select(_suppressions.c.id).where(_suppressions.c.email_hmac == index)
                ).first()
                is not None
            )

    # --- erasure (crypto-shredding) ------------------------------------------------------------

    def shred_subject(
        self, subject: Subject, *, force: bool = False, session: Session | None = None
    ) -> bool:
        """Erase a subject: destroy its data key first, then delete its identities and records
        and mark it erased. Returns ``False`` when it was already erased.

        Raises:
            ProcessingRestricted: an active legal hold protects the subject (unless ``force``).
        """
        return self.shred_subjects([subject], force=force, session=session) > 0

    def shred_subjects(
        self,
        subjects: Sequence[Subject],
        *,
        force: bool = False,
        purge: bool = True,
        session: Session | None = None,
    ) -> int:
        """Erase many subjects set-based (see :meth:`shred_subject`); returns how many keys
        were destroyed. ``purge`` also wipes the deleted keys' bytes from storage now."""
        ids = [x.id for x in subjects]
        if not ids:
            return 0
        with self._session(session) as s:
            if not force:
                now = utcnow()
                for start in range(0, len(ids), _CHUNK):
                    held = s.execute(
                        sa.select(_holds.c.id).where(
                            _holds.c.subject_id.in_(ids[start : start + _CHUNK]),
                            _holds.c.lifted_at.is_(None),
                            sa.or_(_holds.c.until.is_(None), _holds.c.until > now),
                        )
                    ).first()
                    if held is not None:
                        raise ProcessingRestricted(
                            "A legal hold keeps this data subject's data; lift it first."
                        )
            # The key goes first: from this moment every copy of the data is ciphertext only.
            destroyed = self.key_store.destroy([x.public_id for x in subjects], purge=purge)
            now = utcnow()
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                s.execute(sa.delete(_identities).where(_identities.c.subject_id.in_(chunk)))
                s.execute(sa.delete(_records).where(_records.c.subject_id.in_(chunk)))
                s.execute(
                    sa.update(_subjects)
                    .where(_subjects.c.id.in_(chunk), _subjects.c.erased_at.is_(None))
                    .values(erased_at=now)
                )
        return destroyed
