"""Registry: batched intake and lookup of one subject's records, SQLite and PostgreSQL.

1. Intake through the Python API: ``Registry.ingest_many`` in batches of 1,000 web-form
   submissions (an e-mail identity and an encrypted payload each, every one a new subject):
   submissions/s on SQLite and on PostgreSQL (floor, issue 3: 2,000/s on SQLite).
2. Lookup: a registry of 1,000,000 subjects (``--quick``: 20,000) on SQLite, written with raw
   bulk inserts (``bench.bulk.fill_registry``: the rows ``ingest_many`` would write, a sample
   read back through the API first; not measured), then 1,000 random look-ups of one subject's
   records by e-mail (``find_subject`` + ``records_for``, decrypted): p50 and p99 latency.

PostgreSQL runs when PRIVACYOPS_BENCH_POSTGRES_URL is set (a fresh schema, dropped after).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.bulk import check_registry, fill_registry, postgres_database
from privacyops.store import Database, IdentityIn, RecordIn, Registry, Submission

MASTER = b"r" * 32
BATCH = 1000
COLLECTED = datetime(2024, 1, 1, tzinfo=UTC)


def submission(i: int) -> Submission:
    email = f"person{i}@example{i % 97}.com"
    return Submission(
        [IdentityIn("email", email)],
        RecordIn(
            channel="web_form",
            legal_basis="consent",
            policy_version="v3",
            data_categories=["name", "email", "company", "request_details"],
            purposes=["answer-request"],
            payload={
                "name": f"Person {i}",
                "email": email,
                "company": f"Company {i % 1000}",
                "request_details": "We would like a quote for a data platform project.",
            },
            collected_at=COLLECTED,
            source_system="website",
        ),
    )


def sqlite_db(folder: str) -> Database:
    db = Database(f"sqlite:///{Path(folder) / 'registry.sqlite'}", master_key=MASTER)
    db.upgrade()
    return db


def fill(registry: Registry, start: int, count: int, batch: int = BATCH) -> float:
    """Ingest ``count`` new subjects; returns the seconds it took."""
    started = time.perf_counter()
    for low in range(start, start + count, batch):
        registry.ingest_many([submission(i) for i in range(low, min(low + batch, start + count))])
    return time.perf_counter() - started


def writes(name: str, db: Database, n: int) -> tuple[str, float, str]:
    seconds = fill(Registry(db), 0, n)
    return (f"{name}: ingest_many, {n:,} submissions in batches of {BATCH:,}", n / seconds, "/s")


def lookups(db: Database, population: int, probes: int) -> list[tuple[str, float, str]]:
    fill_registry(db, population, submission)
    check_registry(db, population, submission)
    registry = Registry(db)
    rng = random.Random(7)
    times = []
    for _ in range(probes):
        i = rng.randrange(population)
        started = time.perf_counter()
        subject = registry.find_subject("email", f"person{i}@example{i % 97}.com")
        if subject is None:
            raise SystemExit(f"subject {i} not found")
        records = registry.records_for(subject)
        times.append(time.perf_counter() - started)
        if records[0].payload is None or records[0].payload["name"] != f"Person {i}":
            raise SystemExit("lookup returned the wrong record")
    times.sort()
    label = f"sqlite: lookup of one subject's records among {population:,} subjects"
    return [
        (f"{label}, p50", statistics.median(times) * 1000, "ms"),
        (f"{label}, p99", times[int(len(times) * 0.99) - 1] * 1000, "ms"),
    ]


def run(quick: bool) -> list[tuple[str, float, str]]:
    n = 5_000 if quick else 50_000
    population = 20_000 if quick else 1_000_000
    results = []
    with tempfile.TemporaryDirectory() as folder:
        db = sqlite_db(folder)
        results.append(writes("sqlite", db, n))
        db.dispose()
    for db in postgres_database(MASTER):
        results.append(writes("postgresql", db, n))
    with tempfile.TemporaryDirectory() as folder:
        db = sqlite_db(folder)
        results += lookups(db, population, 1000)
        db.dispose()
    return results
