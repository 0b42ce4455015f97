"""What every part of the registry shares: its tables, the key store, row helpers."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.errors import InvalidInput
from privacyops.identities import normalise_identity
from privacyops.store.base import utcnow
from privacyops.store.crypto import DecryptionError, new_key, open_sealed, seal
from privacyops.store.db import Database
from privacyops.store.models import (
    DataSubject,
    Identity,
    IdentityReview,
    LegalHold,
    MarketingSuppression,
    PersonalDataRecord,
    ProcessingRestriction,
)
from privacyops.store.registry.types import Record, RecordIn, Subject

subjects_table = cast(sa.Table, DataSubject.__table__)
identities_table = cast(sa.Table, Identity.__table__)
records_table = cast(sa.Table, PersonalDataRecord.__table__)
restrictions_table = cast(sa.Table, ProcessingRestriction.__table__)
holds_table = cast(sa.Table, LegalHold.__table__)
suppressions_table = cast(sa.Table, MarketingSuppression.__table__)
reviews_table = cast(sa.Table, IdentityReview.__table__)
#: Values per set-based query (bound parameters stay well under every database's limit).
CHUNK = 500


def json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    msg = f"{type(value).__name__} is not JSON-serialisable"
    raise TypeError(msg)


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(dict(payload), separators=(",", ":"), default=json_default).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            "The record payload must be JSON-serialisable.", details=[{"loc": ["payload"]}]
        ) from exc


@dataclass(frozen=True)
class Prepared:
    """A submission with its identities' blind indexes computed."""

    #: (kind, blind index, normalised value, whether it identifies)
    identities: list[tuple[str, bytes, str, bool]]
    record: RecordIn


def sqlite_value(value: Any) -> Any:
    # The storage forms SQLAlchemy's SQLite types use: naive UTC text, JSON text.
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(" ", "microseconds")
    if isinstance(value, list):
        return json.dumps(value)
    return value


def insert_many(s: Session, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
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
        cursor.executemany(sql, [tuple(sqlite_value(r[c]) for c in columns) for r in rows])
        cursor.execute("SELECT last_insert_rowid()")
        (last,) = cursor.fetchone() or (0,)
    finally:
        cursor.close()
    return list(range(int(last) - len(rows) + 1, int(last) + 1))


def subject_of(row: Any) -> Subject:
    return Subject(row.id, row.public_id, row.created_at, row.erased_at)


def record_row(subject: Subject, key: bytes, record: RecordIn) -> dict[str, Any]:
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
            key, encode_payload(record.payload), b"record:" + subject.public_id.encode()
        ),
        "updated_at": now,
    }


def decrypt_record(row: Any, public_id: str, key: bytes | None) -> Record:
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
        keep_until=row.keep_until,
        kept_under=row.kept_under,
    )


class RegistryCore:
    """The registry's state and the helpers its parts share (see :class:`Registry`)."""

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
