"""The append-only, hash-chained audit log.

Each event's hash covers the previous event's hash and every column of the event::

    body = seq ␟ ts ␟ actor ␟ action ␟ subject_ref ␟ reason ␟ details      (␟ = U+001F)
    hash = sha256(prev_hash ␞ body)                                       (␞ = U+001E)

The separators may not occur in any field (``details`` is canonical JSON, which escapes them),
so a body has exactly one reading. The first event's ``prev_hash`` is 64 zeros. The
``audit_head`` row names the last event: appends lock it (so concurrent writers serialise, on
PostgreSQL as on SQLite) and :meth:`AuditLog.verify` compares it with the last event (so a
truncated tail is detected). Events never carry plaintext personal data: ``subject_ref`` is a
pseudonymous id (a data subject's ``public_id``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, cast
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.audit.models import AuditEvent, AuditHead
from privacyops.errors import InvalidInput
from privacyops.store.db import Database

__all__ = ["GENESIS_HASH", "AuditLog", "NewEvent", "VerifyResult", "format_ts"]

GENESIS_HASH = "0" * 64
_FIELD_SEP = "\x1f"
_LINK_SEP = "\x1e"
_LIMITS = {"actor": 128, "action": 64, "subject_ref": 64}
_events = cast(sa.Table, AuditEvent.__table__)
_head = cast(sa.Table, AuditHead.__table__)


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


@dataclass(frozen=True)
class VerifyResult:
    """What :meth:`AuditLog.verify` found.

    ``first_broken_seq`` names the first event that is changed, missing, inserted or out of
    order (``None`` when the chain is intact); ``problem`` says which, in words.
    """

    ok: bool
    events_checked: int
    bytes_checked: int
    head_seq: int
    head_hash: str
    first_broken_seq: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (``privacyops audit verify --json``)."""
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "bytes_checked": self.bytes_checked,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "first_broken_seq": self.first_broken_seq,
            "problem": self.problem,
        }


def _check_text(name: str, value: str | None, *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise InvalidInput(f"Audit event {name} is required.", details=[{"loc": [name]}])
        return None
    if _FIELD_SEP in value or _LINK_SEP in value:
        raise InvalidInput(
            f"Audit event {name} contains a reserved control character.",
            details=[{"loc": [name], "msg": "U+001E and U+001F are not allowed"}],
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


def _canonical_details(details: Mapping[str, Any]) -> str:
    try:
        return json.dumps(
            dict(details),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            default=_json_default,
        )
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            "Audit event details must be JSON-serialisable.", details=[{"loc": ["details"]}]
        ) from exc


def chain_hash(prev_hash: str, body: str) -> str:
    """The hash of an event whose canonical body is ``body``, following ``prev_hash``."""
    return hashlib.sha256((prev_hash + _LINK_SEP + body).encode()).hexdigest()


class AuditLog:
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
        self, events: Iterable[NewEvent], *, session: Session | None = None
    ) -> list[int]:
        """Append events in one transaction, in order; returns their sequence numbers.

        This is the fast path (tens of thousands of events per second): one lock of the chain's
        head, one multi-row insert.
        """
        prepared = [
            (
                _check_text("action", e.action, required=True),
                _check_text("actor", e.actor, required=True),
                _check_text("subject_ref", e.subject_ref, required=False),
                _check_text("reason", e.reason, required=False),
                _canonical_details(e.details),
            )
            for e in events
        ]
        if not prepared:
            return []
        if session is not None:
            return self._write(session.connection(), prepared)
        with self.db.engine.begin() as conn:
            return self._write(conn, prepared)

    def _lock_head(self, conn: sa.Connection) -> tuple[int, str]:
        if conn.dialect.name == "postgresql":
            query = sa.select(_head.c.seq, _head.c.hash).where(_head.c.id == 1).with_for_update()
            row = conn.execute(query).one_or_none()
        else:
            # SQLite has no row locks: a no-op write takes the database's write lock first,
            # so the head read next cannot go stale before this transaction commits.
            conn.execute(sa.update(_head).where(_head.c.id == 1).values(seq=_head.c.seq))
            row = conn.execute(sa.select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)).first()
        if row is None:
            conn.execute(sa.insert(_head).values(id=1, seq=0, hash=GENESIS_HASH))
            return 0, GENESIS_HASH
        return int(row[0]), str(row[1])

    def _write(self, conn: sa.Connection, prepared: Sequence[tuple[str | None, ...]]) -> list[int]:
        seq, prev = self._lock_head(conn)
        ts = format_ts(datetime.now(UTC))
        rows: list[dict[str, Any]] = []
        sha256 = hashlib.sha256
        for action, actor, subject_ref, reason, details in prepared:
            seq += 1
            body = _FIELD_SEP.join(
                (
                    str(seq),
                    ts,
                    actor or "",
                    action or "",
                    subject_ref or "",
                    reason or "",
                    details or "",
                )
            )
            digest = sha256((prev + _LINK_SEP + body).encode()).hexdigest()
            rows.append(
                {
                    "seq": seq,
                    "ts": ts,
                    "actor": actor,
                    "action": action,
                    "subject_ref": subject_ref,
                    "reason": reason,
                    "details": details,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            prev = digest
        conn.execute(sa.insert(_events), rows)
        conn.execute(sa.update(_head).where(_head.c.id == 1).values(seq=seq, hash=prev))
        return [r["seq"] for r in rows]

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
    ) -> Iterator[AuditEvent]:
        """Events in order, filtered; read in batches so any length of log streams in bounded
        memory."""
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
            with self.db.session() as session:
                batch = session.scalars(query).all()
            if not batch:
                return
            yield from batch
            last = batch[-1].seq

    # --- verifying ---------------------------------------------------------------------

    def verify(self, *, progress: Callable[[int], None] | None = None) -> VerifyResult:
        """Recompute the chain from the first event; name the first broken one.

        Args:
            progress: called with the number of events checked so far, every 10,000 events.
        """
        sep = "char(31)" if self.db.dialect == "sqlite" else "chr(31)"
        body = f" || {sep} || ".join(
            (
                "CAST(seq AS VARCHAR(20))",
                "ts",
                "actor",
                "action",
                "COALESCE(subject_ref, '')",
                "COALESCE(reason, '')",
                "details",
            )
        )
        sql = f"SELECT seq, prev_hash, hash, {body} FROM audit_events ORDER BY seq"
        head_seq, head_hash = self.head()
        checked = 0
        nbytes = 0
        expected_seq = 1
        prev = GENESIS_HASH
        sha256 = hashlib.sha256

        def broken(seq: int, problem: str) -> VerifyResult:
            return VerifyResult(False, checked, nbytes, head_seq, head_hash, seq, problem)

        with self.db.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=10_000).exec_driver_sql(
                sql
            )
            for seq, prev_hash, stored_hash, text in result:
                if seq != expected_seq:
                    if seq > expected_seq:
                        return broken(expected_seq, f"event {expected_seq} is missing (deleted)")
                    return broken(seq, f"event {seq} is duplicated or out of order")
                if prev_hash != prev:
                    return broken(
                        seq,
                        f"event {seq} does not follow event {seq - 1} "
                        "(inserted, reordered or its link changed)",
                    )
                data = (prev + _LINK_SEP + text).encode()
                nbytes += len(data)
                if sha256(data).hexdigest() != stored_hash:
                    return broken(seq, f"event {seq} was changed after it was written")
                prev = stored_hash
                checked += 1
                expected_seq += 1
                if progress is not None and checked % 10_000 == 0:
                    progress(checked)
        last_seq = expected_seq - 1
        if last_seq < head_seq:
            return broken(last_seq + 1, f"events {last_seq + 1}..{head_seq} are missing (deleted)")
        if last_seq > head_seq:
            return broken(head_seq + 1, f"event {head_seq + 1} is past the chain's head (inserted)")
        if prev != head_hash:
            return broken(last_seq, f"event {last_seq} does not match the chain's head (changed)")
        return VerifyResult(True, checked, nbytes, head_seq, head_hash)
