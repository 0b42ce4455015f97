"""The append-only, hash-chained audit log.

Each event's hash covers the previous event's hash and every column of the event::

    body = seq ␟ ts ␟ actor ␟ action ␟ subject_ref ␟ reason ␟ details      (␟ = U+001F)
    hash = sha256(prev_hash ␞ body)                                       (␞ = U+001E)

The separators (and U+001D) may not occur in any field (``details`` is canonical JSON, which
escapes them), so a body has exactly one reading. The first event's ``prev_hash`` is 64 zeros. The
``audit_head`` row names the last event: appends lock it (so concurrent writers serialise, on
PostgreSQL as on SQLite) and :meth:`AuditLog.verify` compares it with the last event (so a
truncated tail is detected). Events never carry plaintext personal data: ``subject_ref`` is a
pseudonymous id (a data subject's ``public_id``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, cast
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.audit.chain import (
    FIELD_SEP,
    GENESIS_HASH,
    LINK_SEP,
    RECORD_SEP,
    events_table,
)
from privacyops.audit.models import AuditEvent, AuditHead
from privacyops.audit.verify import VerifyingLog, VerifyResult
from privacyops.errors import InvalidInput
from privacyops.store.db import Database, is_write_connection

__all__ = ["GENESIS_HASH", "AuditLog", "NewEvent", "VerifyResult", "format_ts"]

_RESERVED = (FIELD_SEP, LINK_SEP, RECORD_SEP)
_FIELD_SEP = FIELD_SEP
_LINK_SEP = LINK_SEP
_RECORD_SEP = RECORD_SEP
_LIMITS = {"actor": 128, "action": 64, "subject_ref": 64}
_events = events_table
_head = cast(sa.Table, AuditHead.__table__)
# Statements built once (building them per append cost more than running them).
_HEAD_ROW = sa.select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)
_HEAD_FOR_UPDATE = _HEAD_ROW.with_for_update()
_HEAD_MOVE = (
    sa.update(_head)
    .where(_head.c.id == 1)
    .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)


def format_ts(moment: datetime) -> str:
    """The fixed-width UTC text an event's ``ts`` is stored and hashed as."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class NewEvent:
    """An event to append.

    Attributes:
        action: what was done, a dotted verb such as ``"record.collect"``, ``"subject.erase"``,
            ``"consent.change"``, ``"retention.batch"``, ``"config.change"``.
        actor: who did it: ``"system"``, ``"staff:<id>"``, ``"subject"``, ``"job:<name>"``...
        subject_ref: the data subject's pseudonymous ``public_id``, or ``None``.
        reason: why (a rule, a request id, a legal ground); never personal data.
        details: JSON-serialisable facts without personal data (counts, ids, versions).
    """

    action: str
    actor: str = "system"
    subject_ref: str | None = None
    reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


def _check_text(name: str, value: str | None, *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise InvalidInput(f"Audit event {name} is required.", details=[{"loc": [name]}])
        return None
    if any(mark in value for mark in _RESERVED):
        raise InvalidInput(
            f"Audit event {name} contains a reserved control character.",
            details=[{"loc": [name], "msg": "U+001D, U+001E and U+001F are not allowed"}],
        )
    limit = _LIMITS.get(name)
    if limit is not None and len(value) > limit:
        raise InvalidInput(
            f"Audit event {name} is longer than {limit} characters.",
            details=[{"loc": [name], "msg": f"at most {limit} characters"}],
        )
    return value


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return format_ts(value)
    if isinstance(value, date | UUID | Decimal | Enum):
        return str(value.value if isinstance(value, Enum) else value)
    msg = f"{type(value).__name__} is not JSON-serialisable"
    raise TypeError(msg)


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
)


def chain_hash(prev_hash: str, body: str) -> str:
    """The hash of an event whose canonical body is ``body``, following ``prev_hash``."""
    return hashlib.sha256((prev_hash + _LINK_SEP + body).encode()).hexdigest()


def _prepare(events: Iterable[NewEvent], ts: str) -> list[Any]:
    """Validate and serialise events before the chain's head is locked.

    Each item is ``(body after seq, actor, action, subject_ref, (reason, details))``. The
    separators are checked on the joined body in one scan; only a body that fails is checked
    field by field, to say which field is wrong.
    """
    out: list[Any] = []
    join = _FIELD_SEP.join
    encode = _ENCODER.encode
    for e in events:
        details = e.details
        if not details:
            text = "{}"
        else:
            try:
                text = encode(details if isinstance(details, dict) else dict(details))
            except (TypeError, ValueError) as exc:
                raise InvalidInput(
                    "Audit event details must be JSON-serialisable.",
                    details=[{"loc": ["details"]}],
                ) from exc
        action, actor = e.action, e.actor
        subject_ref, reason = e.subject_ref or None, e.reason or None
        rest = join((ts, actor, action, subject_ref or "", reason or "", text))
        if (
            not action
            or not actor
            or rest.count(_FIELD_SEP) != 5
            or _LINK_SEP in rest
            or _RECORD_SEP in rest
            or len(actor) > 128
            or len(action) > 64
            or (subject_ref is not None and len(subject_ref) > 64)
        ):
            _check_text("action", action, required=True)
            _check_text("actor", actor, required=True)
            _check_text("subject_ref", subject_ref, required=False)
            _check_text("reason", reason, required=False)
        out.append((rest, actor, action, subject_ref, (reason, text)))
    return out


class AuditLog(VerifyingLog):
    """Append to, read and verify the audit log of a :class:`~privacyops.store.Database`.

    Example::

        log = AuditLog(db)
        log.append("record.collect", actor="intake:web_form", subject_ref=subject.public_id,
                   reason="policy v3, contact_request", details={"record_id": 42})
        assert log.verify().ok
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def __repr__(self) -> str:
        return f"AuditLog({self.db!r})"

    # --- writing -----------------------------------------------------------------------

    def append(
        self,
        action: str,
        *,
        actor: str = "system",
        subject_ref: str | None = None,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
        session: Session | None = None,
    ) -> int:
        """Append one event; returns its sequence number.

        With ``session`` the event joins that session's transaction (it is written, or not,
        together with the act it records); without, it commits on its own.

        Raises:
            InvalidInput: a field is missing, too long, holds U+001E/U+001F, or ``details`` is
                not JSON-serialisable.
        """
        event = NewEvent(action, actor, subject_ref, reason, details or {})
        return self.append_many([event], session=session)[0]

    def append_many(
        self,
        events: Iterable[NewEvent],
        *,
        session: Session | None = None,
        connection: sa.Connection | None = None,
    ) -> list[int]:
        """Append events in one transaction, in order; returns their sequence numbers.

        This is the fast path (tens of thousands of events per second): one lock of the chain's
        head, one multi-row insert. With ``session`` or ``connection`` the events join that
        transaction.
        """
        ts = format_ts(datetime.now(UTC))
        prepared = _prepare(events, ts)
        if not prepared:
            return []
        if connection is not None:
            return self._write(connection, ts, prepared)
        if session is not None:
            return self._write(session.connection(), ts, prepared)
        with self.db.begin() as conn:
            return self._write(conn, ts, prepared)

    def _lock_head(self, conn: sa.Connection) -> tuple[int, str]:
        if conn.dialect.name == "postgresql":
            row = conn.execute(_HEAD_FOR_UPDATE).one_or_none()
        else:
            # SQLite has no row locks: a write transaction (BEGIN IMMEDIATE) holds the
            # database's write lock already, so the head read next cannot go stale
            if not is_write_connection(conn):
                raise RuntimeError("audit events appended outside a write transaction")
            row = conn.execute(_HEAD_ROW).first()
        if row is None:
            conn.execute(sa.insert(_head).values(id=1, seq=0, hash=GENESIS_HASH))
            return 0, GENESIS_HASH
        return int(row[0]), str(row[1])

    def _write(
        self, conn: sa.Connection, ts: str, prepared: list[tuple[str, str, str, str | None, str]]
    ) -> list[int]:
        first, prev = self._lock_head(conn)
        seq = first
        rows: list[tuple[Any, ...]] = []
        sha256 = hashlib.sha256
        for rest, actor, action, subject_ref, reason_details in prepared:
            seq += 1
            digest = sha256(f"{prev}{_LINK_SEP}{seq}{_FIELD_SEP}{rest}".encode()).hexdigest()
            rows.append((seq, ts, actor, action, subject_ref, *reason_details, prev, digest))
            prev = digest
        self._insert(conn, rows)
        conn.execute(_HEAD_MOVE, {"new_seq": seq, "new_hash": prev})
        return list(range(first + 1, seq + 1))

    @staticmethod
    def _insert(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> None:
        """Write rows at driver level (the events are already validated and serialised):
        ``COPY`` on PostgreSQL, ``executemany`` on SQLite."""
        columns = "seq, ts, actor, action, subject_ref, reason, details, prev_hash, hash"
        dbapi = conn.connection.dbapi_connection
        if dbapi is None:  # pragma: no cover - a live Connection always has one
            raise RuntimeError("connection is closed")
        cursor = dbapi.cursor()
        try:
            if conn.dialect.name == "postgresql" and len(rows) > 50:
                with cursor.copy(f"COPY audit_events ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
                marks = ", ".join([mark] * 9)
                cursor.executemany(f"INSERT INTO audit_events ({columns}) VALUES ({marks})", rows)
        finally:
            cursor.close()

    # --- reading -----------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """The last event's sequence number and hash (``(0, GENESIS_HASH)`` when empty).

        Publishing this pair elsewhere (a ticket, an e-mail) anchors the log up to that point.
        """
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)).first()
        return (int(row[0]), str(row[1])) if row is not None else (0, GENESIS_HASH)

    def tail(self, limit: int = 20) -> list[AuditEvent]:
        """The last ``limit`` events, oldest first."""
        with self.db.session() as session:
            found = session.scalars(
                sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
            ).all()
        return list(reversed(found))

    def events(
        self,
        *,
        since: datetime | None = None,
        after_seq: int = 0,
        actions: Iterable[str] | None = None,
        subject_ref: str | None = None,
        batch_size: int = 5000,
        session: Session | None = None,
    ) -> Iterator[AuditEvent]:
        """Events in order, filtered; read in batches so any length of log streams in bounded
        memory. With ``session``, read in the caller's transaction (a step that is writing)."""
        wanted = list(actions) if actions is not None else None
        last = after_seq
        while True:
            query = sa.select(AuditEvent).where(AuditEvent.seq > last)
            if since is not None:
                query = query.where(AuditEvent.ts >= format_ts(since))
            if wanted is not None:
                query = query.where(AuditEvent.action.in_(wanted))
            if subject_ref is not None:
                query = query.where(AuditEvent.subject_ref == subject_ref)
            query = query.order_by(AuditEvent.seq).limit(batch_size)
            if session is not None:
                batch = session.scalars(query).all()
            else:
                with self.db.session() as own:
                    batch = own.scalars(query).all()
            if not batch:
                return
            yield from batch
            last = batch[-1].seq
