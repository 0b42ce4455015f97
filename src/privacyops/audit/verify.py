"""Verifying the audit log's hash chain (:meth:`privacyops.audit.AuditLog.verify`).

Kept apart from appending (:mod:`privacyops.audit.log`): verification reads the whole log in
ranges with parallel readers and recomputes every hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import operator
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from privacyops.audit.chain import GENESIS_HASH, LINK_SEP, RECORD_SEP, events_table
from privacyops.store.db import Database

__all__ = ["VERIFY_CHUNK", "VERIFY_READERS", "VerifyResult", "VerifyingLog"]

_RECORD_SEP_BYTES = RECORD_SEP.encode()
_LINK_SEP = LINK_SEP
_HEXDIGEST = type(hashlib.sha256()).hexdigest
_PREFIX = operator.itemgetter(slice(None, 64))  # a hashed text's first 64 bytes: its link
#: Events verify() reads per query.
VERIFY_CHUNK = 5000
#: Connections verify() reads ranges with, in parallel with its hashing, per database. SQLite
#: builds a range in this process without the GIL: one reader keeps up with the hashing, and a
#: second only competes with it for the CPU. A PostgreSQL server takes longer per event than the
#: hashing here: two of its processes build ranges at once.
VERIFY_READERS = {"sqlite": 1, "postgresql": 2}
# The hashed body, as SQL over the audit_events columns (joined with U+001F by verify()).
_BODY_SQL = (
    "CAST(seq AS VARCHAR(20))",
    "ts",
    "actor",
    "action",
    "COALESCE(subject_ref, '')",
    "COALESCE(reason, '')",
    "details",
)
_events = events_table


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


class VerifyingLog:
    """The verifying half of :class:`~privacyops.audit.AuditLog`."""

    db: Database

    def head(self) -> tuple[int, str]:
        """The chain's head: its last event's ``seq`` and hash."""
        raise NotImplementedError

    # --- verifying ---------------------------------------------------------------------

    def verify(self, *, progress: Callable[[int], None] | None = None) -> VerifyResult:
        """Recompute the chain from the first event; name the first broken one.

        The fast pass reads the log in ranges of :data:`VERIFY_CHUNK` events, each range as
        strings the database concatenates (the hashed texts as UTF-8 bytes, the stored hashes,
        the stored links), recomputes every hash, and compares the hashes and the links with
        the stored ones as whole strings, so Python touches each event once, to hash it. When
        anything is off, a detailed pass, event by event, names the first broken event and what
        is wrong with it.

        Args:
            progress: called with the number of events checked so far, after each range.
        """
        head_seq, head_hash = self.head()
        checked = 0
        nbytes = 0
        last_hash = GENESIS_HASH
        sha256 = hashlib.sha256
        stop = threading.Event()
        # Readers (one connection each) have the database build the next ranges while this
        # thread hashes the current one; range k comes from reader k % nreaders.
        nreaders = VERIFY_READERS.get(self.db.dialect, 2)
        queues: list[queue.Queue[tuple[Any, ...] | BaseException | None]] = [
            queue.Queue(maxsize=2) for _ in range(nreaders)
        ]
        readers = [
            threading.Thread(
                target=self._read_chunks, args=(head_seq, n, nreaders, q, stop), daemon=True
            )
            for n, q in enumerate(queues)
        ]
        for reader in readers:
            reader.start()
        intact = True
        turn = 0
        try:
            while True:
                item = queues[turn % nreaders].get()
                turn += 1
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                data, hashes, links, misshapen, count = item
                lines = bytes(data).split(_RECORD_SEP_BYTES) if count else []
                # Each event's link (prev_hash, which its hashed text starts with: the database
                # generates the text from it) is the hash before it; every hash and link has
                # 64 characters, so the joined strings line up event by event.
                if (
                    count != len(lines)
                    or misshapen
                    or (
                        links != last_hash + hashes[:-64]
                        if links is not None
                        else b"".join(map(_PREFIX, lines)) != (last_hash + hashes[:-64]).encode()
                    )
                    or "".join(map(_HEXDIGEST, map(sha256, lines))) != hashes
                ):
                    intact = False
                    break
                nbytes += len(data) - count + 1
                checked += count
                last_hash = hashes[-64:]
                if progress is not None:
                    progress(checked)
        finally:
            stop.set()
            for reader, chunks in zip(readers, queues, strict=True):
                while reader.is_alive():
                    with contextlib.suppress(queue.Empty):
                        chunks.get(timeout=0.05)
                reader.join()
        if (
            intact
            and checked == head_seq
            and last_hash == head_hash
            and self._nothing_after(checked)
        ):
            return VerifyResult(True, checked, nbytes, head_seq, head_hash)
        return self._locate_break(progress)

    def _read_chunks(
        self,
        head_seq: int,
        reader: int,
        nreaders: int,
        chunks: queue.Queue[tuple[Any, ...] | BaseException | None],
        stop: threading.Event,
    ) -> None:
        """verify()'s reader number ``reader`` of ``nreaders``: its share of the ranges up to the
        head, in order, then ``None``."""
        sql = self._chunk_sql()
        # psycopg: results in binary format, so the texts arrive as they are, not escaped
        options: dict[str, Any] = {"binary": True} if self.db.dialect == "postgresql" else {}
        try:
            with self.db.engine.connect() as conn:
                dbapi = conn.connection.dbapi_connection
                if dbapi is None:  # pragma: no cover - a live Connection always has one
                    raise RuntimeError("connection is closed")
                cursor = dbapi.cursor()
                try:
                    step = VERIFY_CHUNK * nreaders
                    for low in range(reader * VERIFY_CHUNK, head_seq, step):
                        if stop.is_set():
                            return
                        cursor.execute(sql, (low, low + VERIFY_CHUNK), **options)
                        row = cursor.fetchone()
                        if row is None or not row[4]:
                            row = (b"", "", "", 0, 0)
                        chunks.put(tuple(row))
                finally:
                    cursor.close()
            chunks.put(None)
        except BaseException as exc:  # handed to verify(), which re-raises it
            chunks.put(exc)

    def _nothing_after(self, seq: int) -> bool:
        with self.db.engine.connect() as conn:
            beyond = conn.execute(
                sa.select(sa.func.count()).select_from(_events).where(_events.c.seq > seq)
            ).scalar()
        return beyond == 0

    def _chunk_sql(self) -> str:
        """One range of events as (hashed texts as UTF-8 bytes joined by U+001D, stored hashes,
        stored links or NULL, count of hashes or links not 64 characters long, count).

        The hashed text is the generated column ``line`` (see
        :data:`privacyops.audit.models.LINE_SQL`): the database keeps it equal to the columns,
        and it starts with the event's ``prev_hash``. The texts arrive as bytes, so Python hashes
        them as they come. SQLite runs in this process, without the GIL, and enforces no column
        length: it joins the links and counts misshapen hashes too. PostgreSQL's server is the
        slower side, and ``VARCHAR(64)`` already refuses a longer hash: it sends texts and
        hashes only, and verify() takes each link from the first 64 bytes of its text. Should
        a database ever join the rows out of order, hashes and links do not match and the
        detailed pass, which orders, decides.
        """
        if self.db.dialect == "sqlite":
            return (
                "SELECT CAST(group_concat(line, char(29)) AS BLOB), group_concat(hash, ''), "
                "group_concat(prev_hash, ''), "
                "sum(CASE WHEN length(hash) = 64 AND length(prev_hash) = 64 THEN 0 ELSE 1 END), "
                "count(*) FROM audit_events WHERE seq > ? AND seq <= ?"
            )
        return (
            "SELECT string_agg(textsend(line), decode('1d', 'hex')), string_agg(hash, ''), "
            "NULL, 0, count(*) FROM "
            "(SELECT line, hash FROM audit_events WHERE seq > %s AND seq <= %s ORDER BY seq) s"
        )

    def _locate_break(self, progress: Callable[[int], None] | None) -> VerifyResult:
        """The detailed pass of :meth:`verify`: event by event, says what is wrong where."""
        sep = "char(31)" if self.db.dialect == "sqlite" else "chr(31)"
        body = f" || {sep} || ".join(_BODY_SQL)
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
