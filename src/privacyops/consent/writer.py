"""Durable consent writes with group commit.

Every choice must be on disk before the visitor's browser is told it was recorded (it is the
controller's evidence, GDPR Art. 7(1)). One transaction per choice would cost one disk flush
each; instead one writer thread takes every choice waiting in its queue, links each to the
visitor's previous record, inserts them (and their audit events) in ONE transaction and
flushes once: the same durability per record, a fraction of the flushes. A caller's future
resolves only after that commit returned.

On SQLite the writer's connections run ``PRAGMA synchronous = FULL``: the WAL is flushed at
every commit, so an acknowledged record survives a power cut (the store's default, NORMAL, only
guarantees that at checkpoints). PostgreSQL commits are durable with its default
``synchronous_commit = on``.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from privacyops.audit import AuditLog, NewEvent
from privacyops.consent.models import ConsentRecord
from privacyops.consent.records import StoredRecord
from privacyops.errors import DependencyUnavailable
from privacyops.store import Database

__all__ = ["ConsentWriter", "make_durable", "write_records"]

log = logging.getLogger(__name__)
_records = cast(sa.Table, ConsentRecord.__table__)
# Statements built once: each visitor's latest record, and the insert of a batch.
_LATEST = sa.select(_records.c.visitor_id, _records.c.id, _records.c.record_id).where(
    _records.c.id.in_(
        sa.select(sa.func.max(_records.c.id))
        .where(_records.c.visitor_id.in_(sa.bindparam("visitors", expanding=True)))
        .group_by(_records.c.visitor_id)
        .scalar_subquery()
    )
)
_INSERT = sa.insert(_records).returning(_records.c.id, sort_by_parameter_order=True)


def make_durable(conn: sa.Connection) -> None:
    """On SQLite, make this connection flush the WAL at every commit (``synchronous=FULL``)."""
    if conn.dialect.name != "sqlite":
        return
    record = conn.connection
    if not record.info.get("privacyops_sync_full"):
        cursor = record.dbapi_connection.cursor()  # type: ignore[union-attr]  # live connection
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()
        record.info["privacyops_sync_full"] = True


def _audit_event(row: dict[str, Any]) -> NewEvent:
    subject = row.get("subject_id")
    return NewEvent(
        "consent.record",
        actor="visitor" if row.get("source") == "banner" else f"consent:{row.get('source')}",
        subject_ref=subject or f"v:{row['visitor_id']}",
        details={
            "record_id": row["record_id"],
            "action": row["action"],
            "policy_version": row["policy_version"],
            "gpc": row["gpc"],
        },
    )


def write_records(
    db: Database, conn: sa.Connection, rows: Sequence[dict[str, Any]], *, audit: bool = True
) -> list[StoredRecord]:
    """Insert prepared rows in ``conn``'s transaction, each linked to its visitor's previous
    record (also one written earlier in the same batch); returns what was stored, in order."""
    visitors = list({r["visitor_id"] for r in rows})
    last: dict[str, tuple[int, str]] = {
        str(v): (int(i), str(r)) for v, i, r in conn.execute(_LATEST, {"visitors": visitors})
    }
    results: list[StoredRecord | None] = [None] * len(rows)
    pending = list(enumerate(rows))
    insert = _INSERT
    while pending:
        # A visitor can appear twice in a batch: the second waits for the first's id.
        this_round: list[tuple[int, dict[str, Any]]] = []
        later: list[tuple[int, dict[str, Any]]] = []
        seen: set[str] = set()
        for index, row in pending:
            (later if row["visitor_id"] in seen else this_round).append((index, row))
            seen.add(row["visitor_id"])
        params = []
        for _, row in this_round:
            previous = last.get(row["visitor_id"])
            params.append({**row, "previous_id": previous[0] if previous else None})
        ids = conn.execute(insert, params).scalars().all()
        for (index, row), new_id in zip(this_round, ids, strict=True):
            previous = last.get(row["visitor_id"])
            results[index] = StoredRecord(
                record_id=row["record_id"],
                id=int(new_id),
                created_at=row["created_at"],
                expires_at=row["expires_at"],
                previous_record_id=previous[1] if previous else None,
            )
            last[row["visitor_id"]] = (int(new_id), row["record_id"])
        pending = later
    if audit:
        AuditLog(db).append_many([_audit_event(r) for r in rows], connection=conn)
    return [r for r in results if r is not None]


@dataclass(slots=True)
class _Item:
    row: dict[str, Any]
    future: Future[StoredRecord] | asyncio.Future[StoredRecord]
    loop: asyncio.AbstractEventLoop | None = None


def _settle(
    outcomes: list[tuple[asyncio.Future[StoredRecord], StoredRecord | BaseException]],
) -> None:
    """Resolve event-loop futures (run in their loop: one wake-up for a whole batch)."""
    for future, outcome in outcomes:
        if future.done():  # the caller gave up (cancelled)
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class ConsentWriter:
    """A background thread that commits queued consent records in groups.

    Args:
        db: the database.
        max_batch: most records per transaction.
        audit: append a ``consent.record`` audit event per record, in the same transaction.
    """

    def __init__(self, db: Database, *, max_batch: int = 256, audit: bool = True) -> None:
        self.db = db
        self.max_batch = max_batch
        self.audit = audit
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"ConsentWriter({self.db!r}, max_batch={self.max_batch})"

    def submit(self, row: dict[str, Any]) -> Future[StoredRecord]:
        """Queue a prepared row; the future resolves once it is committed (or fails)."""
        future: Future[StoredRecord] = Future()
        self._start()
        self._queue.put(_Item(row, future))
        return future

    def _start(self) -> None:
        if self._closed:
            raise DependencyUnavailable("The consent writer is shut down.")
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="consent-writer", daemon=True
                    )
                    self._thread.start()

    def submit_async(self, row: dict[str, Any]) -> asyncio.Future[StoredRecord]:
        """:meth:`submit` for the running event loop: the future resolves in that loop, and a
        whole committed batch wakes the loop once (not once per record)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[StoredRecord] = loop.create_future()
        self._start()
        self._queue.put(_Item(row, future, loop))
        return future

    def write(self, row: dict[str, Any], timeout: float = 30.0) -> StoredRecord:
        """Queue a row and wait for its commit."""
        return self.submit(row).result(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is queued, then stop the thread."""
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Item]) -> None:
        outcomes: list[StoredRecord] | BaseException
        try:
            with self.db.write_engine.connect() as conn:
                make_durable(conn)
                with conn.begin():
                    outcomes = write_records(
                        self.db, conn, [i.row for i in batch], audit=self.audit
                    )
        except sa_exc.OperationalError:
            log.error("consent write failed: database unavailable")
            outcomes = DependencyUnavailable("The consent store is not answering.")
        except Exception as exc:  # the thread must answer every waiting caller, whatever broke
            log.error("consent write failed: %s", type(exc).__name__)
            outcomes = exc
        by_loop: dict[
            asyncio.AbstractEventLoop,
            list[tuple[asyncio.Future[StoredRecord], StoredRecord | BaseException]],
        ] = {}
        for index, item in enumerate(batch):
            outcome = outcomes if isinstance(outcomes, BaseException) else outcomes[index]
            if item.loop is not None:
                future = cast("asyncio.Future[StoredRecord]", item.future)
                by_loop.setdefault(item.loop, []).append((future, outcome))
            elif isinstance(outcome, BaseException):
                item.future.set_exception(outcome)
            else:
                cast("Future[StoredRecord]", item.future).set_result(outcome)
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # that loop is closed: nobody is waiting any more
                log.warning("consent writer: %d answers for a closed event loop", len(settled))
