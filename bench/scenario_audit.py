"""Audit log: batched appends and chain verification, on SQLite and PostgreSQL.

Appends N events (``--quick``: a tenth) in batches of 10,000 through ``AuditLog.append_many``
(floor, issue 3: 50,000 events/s batched). Then ``AuditLog.verify()`` over the whole log, in
MB/s of the bytes it hashes, against hashlib SHA-256 over the very same bytes measured in the
same run: once per event (the minimum work of any hash-chain check) and once as one stream.
Verify and each baseline run five times, and the best time of each counts (a shared machine).
Floor: verify / per-event baseline ≥ 0.5. PostgreSQL runs when PRIVACYOPS_BENCH_POSTGRES_URL
is set (a fresh schema, dropped afterwards).
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from bench.bulk import postgres_database
from privacyops.audit import AuditLog, NewEvent
from privacyops.store import Database

BATCH = 10_000
REPEAT = 5  # verify and the baselines each run this often; the best time of each counts


@contextmanager
def databases() -> Iterator[tuple[str, Database]]:
    """Each benchmark database in turn: a SQLite file, then a PostgreSQL schema if configured."""
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{Path(folder) / 'bench.sqlite'}", master_key=b"b" * 32)
        db.upgrade()
        yield "sqlite", db
        db.dispose()


def postgres() -> Iterator[tuple[str, Database]]:
    for db in postgres_database(b"b" * 32):
        yield "postgresql", db


def events(n: int, start: int) -> list[NewEvent]:
    return [
        NewEvent(
            "record.collect",
            actor="intake:web_form",
            subject_ref=f"{(start + i) * 2654435761 % 2**64:032x}",
            reason="policy v3, channel web_form",
            details={"record_id": start + i, "channel": "web_form", "categories": 4},
        )
        for i in range(n)
    ]


def chained_bytes(db: Database) -> list[bytes]:
    """The exact byte strings verify() hashes, event by event (read once, outside the timing)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT seq, ts, actor, action, subject_ref, reason, details, prev_hash "
                "FROM audit_events ORDER BY seq"
            )
        ).all()
    return [
        (
            r.prev_hash
            + "\x1e"
            + "\x1f".join(
                (
                    str(r.seq),
                    r.ts,
                    r.actor,
                    r.action,
                    r.subject_ref or "",
                    r.reason or "",
                    r.details,
                )
            )
        ).encode()
        for r in rows
    ]


def measure(name: str, db: Database, n: int) -> list[tuple[str, float, str]]:
    log = AuditLog(db)
    batches = [events(BATCH, k) for k in range(0, n, BATCH)]
    started = time.perf_counter()
    for batch in batches:
        log.append_many(batch)
    append_s = time.perf_counter() - started

    verify_s = float("inf")
    for _ in range(REPEAT):
        started = time.perf_counter()
        result = log.verify()
        verify_s = min(verify_s, time.perf_counter() - started)
    if not result.ok or result.events_checked != n:
        raise SystemExit(f"verify failed on the benchmark log: {result}")

    data = chained_bytes(db)
    total = sum(len(b) for b in data)
    if total != result.bytes_checked:
        raise SystemExit("baseline bytes differ from the bytes verify() hashed")
    sha256 = hashlib.sha256
    hexdigest = type(sha256()).hexdigest
    per_event_s = stream_s = float("inf")
    joined = b"".join(data)
    for _ in range(REPEAT):
        # per event, the faster of a plain loop and the map() form verify() itself uses
        started = time.perf_counter()
        for b in data:
            sha256(b).hexdigest()
        per_event_s = min(per_event_s, time.perf_counter() - started)
        started = time.perf_counter()
        "".join(map(hexdigest, map(sha256, data)))
        per_event_s = min(per_event_s, time.perf_counter() - started)
        started = time.perf_counter()
        sha256(joined).hexdigest()
        stream_s = min(stream_s, time.perf_counter() - started)

    mb = total / 1e6
    verify_mbs = mb / verify_s
    return [
        (f"{name}: append_many, {n:,} events in batches of {BATCH:,}", n / append_s, "events/s"),
        (f"{name}: verify, {n:,} events ({mb:.1f} MB hashed)", verify_mbs, "MB/s"),
        (f"{name}: verify", n / verify_s, "events/s"),
        (f"{name}: baseline hashlib.sha256 per event, same bytes", mb / per_event_s, "MB/s"),
        (
            f"{name}: ratio verify / per-event sha256 (floor 0.5)",
            verify_mbs / (mb / per_event_s),
            "x",
        ),
        (f"{name}: baseline hashlib.sha256 one stream, same bytes", mb / stream_s, "MB/s"),
        (f"{name}: ratio verify / one-stream sha256", verify_mbs / (mb / stream_s), "x"),
    ]


def run(quick: bool) -> list[tuple[str, float, str]]:
    n = 20_000 if quick else 200_000
    results: list[tuple[str, float, str]] = []
    with databases() as (name, db):
        results += measure(name, db, n)
    for name, db in postgres():
        results += measure(name, db, n)
    return results
