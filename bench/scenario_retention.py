"""Retention sweep against raw SQL, on SQLite and PostgreSQL, with peak memory.

A registry of N records (``web_form``, policy v3, 6 years from collection) belonging to N/5
subjects, one e-mail identity and one data key each; N/5 records (all records of N/25
subjects) collected in 2015, expired as of 2026-06-01; the rest collected in 2024. Sizes:
1,000,000 and 5,000,000 records (``--quick``: 50,000 and 250,000). The data is written with raw
bulk inserts (not measured).

For each size: first the raw SQL a person would write, ``DELETE FROM personal_data_records
WHERE channel = ? AND policy_version = ? AND collected_at <= ?`` in one transaction, timed and
rolled back; then ``privacyops.retention.sweep`` over the same rows, in a child process (its
peak RSS is the sweep's own), which also erases the N/25 subjects left without records (key
destroyed, identity deleted) and writes an audit event per chunk. rows/s for both and the ratio
(floor, issue 7: 0.5). PostgreSQL runs when PRIVACYOPS_BENCH_POSTGRES_URL is set.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from privacyops.store import Database

MASTER = b"t" * 32
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
OLD = datetime(2015, 3, 1, tzinfo=UTC)
NEW = datetime(2024, 3, 1, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[1]


def populate(db: Database, n: int) -> None:
    """N records for N/5 subjects; subjects 0..N/25-1 have only expired records."""
    subjects = n // 5
    expired_subjects = n // 25
    sqlite = db.dialect == "sqlite"
    now = datetime.now(UTC)

    def ts(moment: datetime) -> object:
        return moment.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else moment

    step = 50_000
    with db.engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        if raw is None:
            raise SystemExit("no connection")
        cur = raw.cursor()
        mark = "?" if sqlite else "%s"
        for low in range(0, subjects, step):
            ids = range(low + 1, min(low + step, subjects) + 1)
            cur.executemany(
                "INSERT INTO data_subjects (id, public_id, created_at) "
                f"VALUES ({mark}, {mark}, {mark})",
                [(i, f"{i:032x}", ts(now)) for i in ids],
            )
            cur.executemany(
                "INSERT INTO identities "
                "(id, subject_id, kind, blind_index, value_sealed, created_at) "
                f"VALUES ({mark}, {mark}, 'email', {mark}, {mark}, {mark})",
                [(i, i, secrets.token_bytes(32), secrets.token_bytes(60), ts(now)) for i in ids],
            )
        payload = secrets.token_bytes(180)
        for low in range(0, n, step):
            rows = []
            for r in range(low, min(low + step, n)):
                subject = r // 5 + 1
                when = OLD if subject <= expired_subjects else NEW
                rows.append((r + 1, subject, ts(when), payload, ts(now)))
            cur.executemany(
                "INSERT INTO personal_data_records (id, subject_id, channel, data_categories, "
                "purposes, legal_basis, policy_version, collected_at, payload_sealed, updated_at) "
                f"VALUES ({mark}, {mark}, 'web_form', '[\"name\", \"email\"]', "
                f"'[\"answer-request\"]', 'consent', 'v3', {mark}, {mark}, {mark})",
                rows,
            )
        if not sqlite:
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('data_subjects', 'id'), %s)", (subjects,)
            )
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('identities', 'id'), %s)", (subjects,)
            )
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('personal_data_records', 'id'), %s)", (n,)
            )
    keys = db.key_store.engine
    with keys.begin() as conn:
        raw = conn.connection.dbapi_connection
        if raw is None:
            raise SystemExit("no connection")
        cur = raw.cursor()
        mark = "?" if keys.dialect.name == "sqlite" else "%s"
        for low in range(0, subjects, step):
            cur.executemany(
                "INSERT INTO subject_keys (public_id, wrapped_key, created_at) "
                f"VALUES ({mark}, {mark}, {mark})",
                [
                    (f"{i:032x}", secrets.token_bytes(61), ts(now))
                    for i in range(low + 1, min(low + step, subjects) + 1)
                ],
            )
    if not sqlite:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


def raw_delete(db: Database) -> tuple[int, float]:
    """The raw SQL baseline: one DELETE of the same rows, timed, rolled back."""
    cutoff = datetime(2020, 6, 1, tzinfo=UTC)
    with db.engine.connect() as conn:
        conn.execute(sa.text("SELECT count(*) FROM personal_data_records")).scalar()  # warm
        conn.rollback()
        tx = conn.begin()
        started = time.perf_counter()
        result = conn.execute(
            sa.text(
                "DELETE FROM personal_data_records WHERE channel = 'web_form' "
                "AND policy_version = 'v3' AND collected_at <= :cutoff"
            ),
            {"cutoff": cutoff.replace(tzinfo=None).isoformat(" ", "microseconds")
             if db.dialect == "sqlite" else cutoff},
        )  # fmt: skip
        seconds = time.perf_counter() - started
        deleted = result.rowcount
        tx.rollback()
    return deleted, seconds


def child_sweep(url: str, key_store_url: str | None) -> None:
    """Run in a child process: one sweep, then print seconds, rows and peak RSS as JSON."""
    import resource

    from privacyops.policy import default_policy_book
    from privacyops.retention import sweep

    db = Database(url, master_key=MASTER, key_store_url=key_store_url)
    book = default_policy_book()
    started = time.perf_counter()
    report = sweep(db, book, as_of=AS_OF, chunk_size=5000)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "deleted": report.total("deleted"),
                "erased": report.total("subjects_erased"),
                "peak_mb": peak_kb / 1024,
            }
        )
    )


def measure(
    name: str, db: Database, key_store_url: str | None, n: int
) -> list[tuple[str, float, str]]:
    populate(db, n)
    deleted, raw_seconds = raw_delete(db)
    url = db.url.render_as_string(hide_password=False)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from bench.scenario_retention import child_sweep; "
            "child_sweep(sys.argv[1], sys.argv[2] or None)",
            url,
            key_store_url or "",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"},
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["deleted"] != deleted:
        raise SystemExit(f"sweep deleted {result['deleted']}, raw SQL {deleted}")
    sweep_rate = deleted / result["seconds"]
    raw_rate = deleted / raw_seconds
    label = f"{name}, {n:,} records ({deleted:,} expired)"
    return [
        (f"{label}: sweep", sweep_rate, "rows/s"),
        (f"{label}: raw SQL DELETE, same rows", raw_rate, "rows/s"),
        (f"{label}: ratio sweep / raw (floor 0.5)", sweep_rate / raw_rate, "x"),
        (f"{label}: subjects crypto-shredded by the sweep", result["erased"], "subjects"),
        (f"{label}: sweep peak RSS", result["peak_mb"], "MB"),
    ]


def sqlite_db(folder: str) -> Iterator[tuple[Database, str | None]]:
    db = Database(f"sqlite:///{Path(folder) / 'retention.sqlite'}", master_key=MASTER)
    db.upgrade()
    yield db, None
    db.dispose()


def postgres_db() -> Iterator[tuple[Database, str | None]]:
    url = os.environ.get("PRIVACYOPS_BENCH_POSTGRES_URL")
    if not url:
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        scoped = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        db = Database(scoped, master_key=MASTER)
        db.upgrade()
        yield db, None
        db.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run(quick: bool) -> list[tuple[str, float, str]]:
    sizes = (50_000, 250_000) if quick else (1_000_000, 5_000_000)
    results: list[tuple[str, float, str]] = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as folder:
            for db, keys in sqlite_db(folder):
                results += measure("sqlite", db, keys, n)
        for db, keys in postgres_db():
            results += measure("postgresql", db, keys, n)
    return results
