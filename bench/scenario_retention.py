"""Retention sweep against raw SQL, on SQLite and PostgreSQL, with peak memory.

A registry of N records (``web_form``, policy v3, 6 years from collection) belonging to N/5
subjects, one e-mail identity and one data key each; N/5 records (all records of N/25
subjects) collected in 2015, expired as of 2026-06-01; the rest collected in 2024. Sizes:
1,000,000 and 5,000,000 records (``--quick``: 50,000 and 250,000). The data is written with raw
bulk inserts (not measured).

For each size, two raw SQL baselines of the same rows, in the same run: A, the bare ``DELETE
FROM personal_data_records WHERE channel = ? AND policy_version = ? AND collected_at <= ?``; B,
the same logical work as the sweep in hand-written SQL, one transaction: that DELETE returning
the subjects, then those of them left without records marked erased (``UPDATE ...
RETURNING``), their identities deleted and their keys deleted in the key store. Then
``privacyops.retention.sweep`` over the same rows, in a child process, which also filters legal
holds and restrictions, works in chunks and writes an audit event and its cursor per chunk.
rows/s for all three. The floor (issue 7: 0.5 against "a raw SQL DELETE/UPDATE of the same
rows") is read against B: B deletes and updates the same rows the sweep does (records, identities,
subjects, keys), A only the records. Sweep / A is printed for reference, with B / A: hand-written
SQL doing the whole job against the bare DELETE, the ceiling of what any sweep that
crypto-shreds can reach against A (0.22-0.25 on PostgreSQL, 0.52-0.59 on SQLite: below 0.5 on
PostgreSQL, so the floor cannot mean A there). Peak memory is the child's own VmHWM.

On SQLite each of the three runs on a fresh copy of the populated files and the baselines
commit, as the sweep does: a rolled-back DELETE never writes its pages to the WAL nor
checkpoints them into the database, which is a third of a real one's time. On PostgreSQL the
baselines roll back (the populated schema serves all three); there a commit adds one WAL
record to work already WAL-logged. PostgreSQL runs when PRIVACYOPS_BENCH_POSTGRES_URL is set.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bench.bulk import (
    IDENTITY_COLUMNS,
    KEY_COLUMNS,
    RECORD_COLUMNS,
    SUBJECT_COLUMNS,
    analyze,
    bulk,
    postgres_database,
)
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
    now = datetime.now(UTC)
    step = 50_000
    with bulk(db.engine) as out:
        stamp = out.ts(now)
        for low in range(0, subjects, step):
            ids = range(low + 1, min(low + step, subjects) + 1)
            out.insert("data_subjects", SUBJECT_COLUMNS, [(i, f"{i:032x}", stamp) for i in ids])
            out.insert(
                "identities",
                IDENTITY_COLUMNS,
                [
                    (i, i, "email", secrets.token_bytes(32), secrets.token_bytes(60), True, stamp)
                    for i in ids
                ],
            )
        payload = secrets.token_bytes(180)
        old, new = out.ts(OLD), out.ts(NEW)
        # channel, categories, purposes, legal basis, policy version; then the unset clocks
        facts = ("web_form", '["name", "email"]', '["answer-request"]', "consent", "v3")
        unset = (None, None, None, None)  # last contact, event, service; source system
        for low in range(0, n, step):
            out.insert(
                "personal_data_records",
                RECORD_COLUMNS,
                [
                    (
                        r + 1,
                        r // 5 + 1,
                        *facts,
                        old if r // 5 < expired_subjects else new,
                        *unset,
                        payload,
                        stamp,
                    )
                    for r in range(low, min(low + step, n))
                ],
            )
        out.sync_ids("data_subjects", "identities", "personal_data_records")
    with bulk(db.key_store.engine) as out:
        for low in range(0, subjects, step):
            ids = range(low + 1, min(low + step, subjects) + 1)
            out.insert(
                "subject_keys",
                KEY_COLUMNS,
                [(f"{i:032x}", secrets.token_bytes(61), out.ts(now)) for i in ids],
            )
    analyze(db)


def _cutoff(db: Database) -> object:
    cutoff = datetime(2020, 6, 1, tzinfo=UTC)
    if db.dialect == "sqlite":
        return cutoff.replace(tzinfo=None).isoformat(" ", "microseconds")
    return cutoff


_RAW_DELETE = (
    "DELETE FROM personal_data_records WHERE channel = 'web_form' "
    "AND policy_version = 'v3' AND collected_at <= :cutoff"
)


def _finish(tx: sa.Transaction, commit: bool) -> None:
    if commit:
        tx.commit()
    else:
        tx.rollback()


def raw_delete(db: Database, *, commit: bool) -> tuple[int, float]:
    """Baseline A: the bare record DELETE of the same rows, one statement, timed with its
    commit (SQLite, on a copy of its own) or rolled back (PostgreSQL, see the module doc)."""
    with db.engine.connect() as conn:
        tx = conn.begin()
        started = time.perf_counter()
        deleted = conn.execute(sa.text(_RAW_DELETE), {"cutoff": _cutoff(db)}).rowcount
        _finish(tx, commit)
        seconds = time.perf_counter() - started
    return deleted, seconds


_ORPHAN = (
    "erased_at IS NULL AND NOT EXISTS (SELECT 1 FROM personal_data_records r "
    "WHERE r.subject_id = data_subjects.id)"
)


def raw_full(db: Database, *, commit: bool) -> tuple[int, int, float]:
    """Baseline B: the same logical work as the sweep in hand-written SQL, in one transaction,
    timed with its commit (SQLite) or rolled back (PostgreSQL), as baseline A.

    The DELETE of the expired records returns their subjects; of those, the subjects left
    without records are marked erased (``UPDATE ... RETURNING``), their identities deleted and
    their keys deleted in the key store (SQLite: its own database, committed first;
    PostgreSQL: the same database, in the same statement as the subjects). No legal-hold filter,
    no audit, no cursor, no chunks: those are the sweep's overhead being measured.
    """
    now = datetime.now(UTC)
    keys = db.key_store.engine
    with db.engine.connect() as conn:
        tx = conn.begin()
        started = time.perf_counter()
        if db.dialect == "sqlite":
            rows = conn.execute(
                sa.text(f"{_RAW_DELETE} RETURNING subject_id"), {"cutoff": _cutoff(db)}
            ).all()
            deleted = len(rows)
            erased = conn.execute(
                sa.text(
                    "UPDATE data_subjects SET erased_at = :now WHERE id IN "
                    f"(SELECT value FROM json_each(:ids)) AND {_ORPHAN} RETURNING id, public_id"
                ),
                {
                    "now": now.replace(tzinfo=None).isoformat(" "),
                    "ids": json.dumps(sorted({r[0] for r in rows})),
                },
            ).all()
            conn.execute(
                sa.text(
                    "DELETE FROM identities WHERE subject_id IN (SELECT value FROM json_each(:ids))"
                ),
                {"ids": json.dumps([e[0] for e in erased])},
            )
            public_ids = [str(e[1]) for e in erased]
            with keys.connect() as kconn:
                ktx = kconn.begin()
                kconn.execute(
                    sa.text(
                        "DELETE FROM subject_keys WHERE public_id IN "
                        "(SELECT value FROM json_each(:ids))"
                    ),
                    {"ids": json.dumps(public_ids)},
                )
                _finish(ktx, commit)
        else:
            count, subjects = conn.execute(
                sa.text(
                    f"WITH gone AS ({_RAW_DELETE} RETURNING subject_id) "
                    "SELECT count(*), array_agg(DISTINCT subject_id) FROM gone"
                ),
                {"cutoff": _cutoff(db)},
            ).one()
            deleted = int(count)
            public_ids = list(
                conn.execute(
                    sa.text(
                        "WITH erased AS (UPDATE data_subjects SET erased_at = :now "
                        f"WHERE id = ANY(:ids) AND {_ORPHAN} RETURNING id, public_id), "
                        "identities_gone AS (DELETE FROM identities "
                        "WHERE subject_id IN (SELECT id FROM erased)), "
                        "keys_gone AS (DELETE FROM subject_keys "
                        "WHERE public_id IN (SELECT public_id FROM erased)) "
                        "SELECT public_id FROM erased"
                    ),
                    {"now": now, "ids": list(subjects or [])},
                ).scalars()
            )
        _finish(tx, commit)
        seconds = time.perf_counter() - started
    return deleted, len(public_ids), seconds


def child_sweep(url: str, key_store_url: str | None) -> None:
    """Run in a child process: one sweep, then print seconds, rows and peak RSS as JSON."""
    from privacyops.policy import default_policy_book
    from privacyops.retention import sweep

    db = Database(url, master_key=MASTER, key_store_url=key_store_url)
    book = default_policy_book()
    started = time.perf_counter()
    report = sweep(db, book, as_of=AS_OF)
    seconds = time.perf_counter() - started
    # VmHWM is this process's own peak. (getrusage's ru_maxrss is not: Linux carries the
    # parent's peak across fork+exec, so it reported the populating parent's memory.)
    status = Path("/proc/self/status").read_text().splitlines()
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
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


def measure(name: str, target: Target, n: int) -> list[tuple[str, float, str]]:
    with target.fresh() as db:
        deleted, raw_seconds = raw_delete(db, commit=target.commits)
    with target.fresh() as db:
        full_deleted, full_erased, full_seconds = raw_full(db, commit=target.commits)
    with target.fresh() as db:
        url = db.url.render_as_string(hide_password=False)
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from bench.scenario_retention import child_sweep; "
                "child_sweep(sys.argv[1], sys.argv[2] or None)",
                url,
                "",
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
    if (full_deleted, full_erased) != (deleted, result["erased"]):
        raise SystemExit(f"raw full baseline did {full_deleted}/{full_erased}, sweep differs")
    sweep_rate = deleted / result["seconds"]
    raw_rate = deleted / raw_seconds
    full_rate = deleted / full_seconds
    label = f"{name}, {n:,} records ({deleted:,} expired)"
    return [
        (f"{label}: sweep", sweep_rate, "rows/s"),
        (f"{label}: raw A, bare record DELETE", raw_rate, "rows/s"),
        (f"{label}: raw B, DELETE + identities + subjects + keys", full_rate, "rows/s"),
        (
            f"{label}: ratio sweep / raw B, the same rows changed (floor 0.5)",
            sweep_rate / full_rate,
            "x",
        ),
        (f"{label}: ratio sweep / raw A, records only (reference)", sweep_rate / raw_rate, "x"),
        # what hand-written SQL doing the sweep's whole job reaches against the bare DELETE: no
        # sweep that also crypto-shreds can do better than this against A
        (f"{label}: ratio raw B / raw A (ceiling of sweep / A)", full_rate / raw_rate, "x"),
        (f"{label}: subjects crypto-shredded by the sweep", result["erased"], "subjects"),
        (f"{label}: sweep peak RSS (child VmHWM)", result["peak_mb"], "MB"),
    ]


class Target:
    """A populated database, and the database each measurement runs on.

    SQLite: a fresh copy of the populated files per measurement, so that each baseline commits
    (``commits``) as the sweep does. PostgreSQL: the populated database itself, after a
    ``CHECKPOINT``; the baselines roll back.
    """

    def __init__(self, db: Database, folder: Path | None) -> None:
        self.db = db
        self.folder = folder
        self.commits = folder is not None

    @contextmanager
    def fresh(self) -> Iterator[Database]:
        if self.folder is None:
            # each measurement starts from a checkpoint: none pays for the writes of what ran
            # before it (the fill's, or a rolled-back baseline's dirty pages), and each pays the
            # full-page images of its own first writes
            with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("CHECKPOINT")
            yield self.db
            return
        copy = self.folder / "run"
        shutil.rmtree(copy, ignore_errors=True)
        copy.mkdir()
        for name in SQLITE_FILES:
            shutil.copyfile(self.folder / name, copy / name)
        db = Database(f"sqlite:///{copy / SQLITE_FILES[0]}", master_key=MASTER)
        try:
            yield db
        finally:
            db.dispose()
            shutil.rmtree(copy)


SQLITE_FILES = ("retention.sqlite", "retention.keys.sqlite")


def sqlite_target(folder: str, n: int) -> Iterator[Target]:
    path = Path(folder)
    db = Database(f"sqlite:///{path / SQLITE_FILES[0]}", master_key=MASTER)
    db.upgrade()
    populate(db, n)
    for engine in (db.engine, db.key_store.engine):  # everything in the files, for the copies
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    yield Target(db, path)


def postgres_target(n: int) -> Iterator[Target]:
    for db in postgres_database(MASTER):
        populate(db, n)
        yield Target(db, None)


def run(quick: bool) -> list[tuple[str, float, str]]:
    sizes = (50_000, 250_000) if quick else (1_000_000, 5_000_000)
    results: list[tuple[str, float, str]] = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as folder:
            for target in sqlite_target(folder, n):
                results += measure("sqlite", target, n)
        for target in postgres_target(n):
            results += measure("postgresql", target, n)
    return results
