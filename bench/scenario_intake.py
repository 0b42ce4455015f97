"""Intake through the Python API, batched, on SQLite and PostgreSQL: submissions per second.

Each submission is a web-form lead (name, e-mail, phone, company, request text; one in three
with marketing consent) checked against the seed policy, its subject created with a fresh data
key, its identities blind-indexed, its record sealed, and its audit events chained: the whole
path of ``IntakeService.submit_many``, one transaction per batch. The baseline, measured in the
same run, is ``IntakeService.submit`` one transaction per submission.

Floor (issue 3): 2,000 submissions/s on SQLite, batched. PostgreSQL runs when
``PRIVACYOPS_BENCH_POSTGRES_URL`` is set (``make bench`` sets it), in a schema of its own.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from privacyops.audit import AuditLog
from privacyops.intake.service import IntakeService
from privacyops.policy import default_policy_book
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.store.registry import Registry

BATCH = 500


def _payloads(start: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "name": f"Person {i}",
            "email": f"person{i}@example{i % 97}.com",
            "phone": f"+4721{i % 1_000_000:06d}",
            "company": f"Company {i % 1000}",
            "request_details": "We would like a quote for a cloud migration project.",
            "marketing_consent": i % 3 == 0,
        }
        for i in range(start, start + count)
    ]


def _measure(db: Database, batched: int, single: int, data_dir: Path) -> list[tuple[str, float]]:
    service = IntakeService(
        db,
        Registry(db),
        AuditLog(db),
        default_policy_book(),
        settings=Settings(data_dir=data_dir),
    )
    # Warm up (imports, first connections, statement caches) outside the timings.
    service.submit_many("web_form", _payloads(10_000_000, 50))

    payloads = _payloads(0, batched)
    started, cpu_started = time.perf_counter(), time.process_time()
    for start in range(0, batched, BATCH):
        results = service.submit_many("web_form", payloads[start : start + BATCH])
        if any(isinstance(r, Exception) for r in results):
            raise SystemExit("a benchmark submission was refused")
    batched_rate = batched / (time.perf_counter() - started)
    cpu_rate = batched / (time.process_time() - cpu_started)

    singles = _payloads(5_000_000, single)
    started = time.perf_counter()
    for payload in singles:
        service.submit("web_form", payload)
    single_rate = single / (time.perf_counter() - started)

    if not service.audit.verify().ok:
        raise SystemExit("the audit chain does not verify after the benchmark")
    return [("batched", batched_rate), ("cpu", cpu_rate), ("one transaction each", single_rate)]


def run(quick: bool) -> list[tuple[str, float, str]]:
    batched = 2_000 if quick else 20_000
    single = 200 if quick else 1_000
    # The machine may be shared: the load average says how much of a core the wall-clock
    # figures had; the CPU-time figure (this process only) does not depend on it.
    out: list[tuple[str, float, str]] = [("load average (1 min) at start", os.getloadavg()[0], "")]
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.sqlite", master_key=os.urandom(32))
        db.upgrade()
        try:
            rates = dict(_measure(db, batched, single, Path(tmp)))
        finally:
            db.dispose()
        out.append(
            (f"SQLite, batches of {BATCH} ({batched:,} submissions)", rates["batched"], "subm/s")
        )
        out.append(
            (
                "SQLite, baseline: one transaction per submission",
                rates["one transaction each"],
                "subm/s",
            )
        )
        out.append(
            ("SQLite, batched / baseline", rates["batched"] / rates["one transaction each"], "x")
        )
        out.append(("SQLite, batched, per CPU second of this process", rates["cpu"], "subm/s"))
        out.append(
            (
                "SQLite, floor 2,000/s met by wall clock (1 = yes)",
                float(rates["batched"] >= 2_000),
                "",
            )
        )

        base = os.environ.get("PRIVACYOPS_BENCH_POSTGRES_URL")
        if base:
            schema = f"bench_intake_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(base)
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in base else "?"
            db = Database(f"{base}{sep}options=-csearch_path%3D{schema}", master_key=os.urandom(32))
            try:
                db.upgrade()
                rates = dict(_measure(db, batched, single, Path(tmp)))
            finally:
                db.dispose()
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
            out.append((f"PostgreSQL, batches of {BATCH}", rates["batched"], "subm/s"))
            out.append(
                (
                    "PostgreSQL, baseline: one transaction per submission",
                    rates["one transaction each"],
                    "subm/s",
                )
            )
            out.append(
                (
                    "PostgreSQL, batched / baseline",
                    rates["batched"] / rates["one transaction each"],
                    "x",
                )
            )
            out.append(
                (
                    "PostgreSQL, batched, per CPU second of this process (server excluded)",
                    rates["cpu"],
                    "subm/s",
                )
            )
    return out
