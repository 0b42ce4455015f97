"""Data-subject requests on a large registry: SQLite (the embedded default), then PostgreSQL
when ``PRIVACYOPS_BENCH_POSTGRES_URL`` is set (a fresh schema, dropped after).

On a registry of 1,000,000 subjects (``--quick``: 20,000), each with an e-mail and a phone
identity and one web-form record:

1. one access request from *verified* to *export ready* (the runner's ``process``: resolve the
   person, collect and describe every record, render, store, queue the link and password, send
   them), with the AES-256 PDF and without it (ZIP of JSON + CSV): p50 and p99;
2. 1,000 erasure requests (``--quick``: 200), verified, then run by the runner in batches
   (crypto-shred, delete, answer): requests per second;
3. 50 requests submitted and verified concurrently (threads), then run: how many completed and
   how many failed.

Floors (issue 4): access without PDF p99 <= 100 ms; >= 200 erasures/s. Measured on 1,000,000
subjects on the quiet 2-core machine: SQLite p99 18 ms and 783 erasures/s; PostgreSQL p99 33 ms
and 612 erasures/s (the runner's look-ups are one query per batch of requests,
``privacyops.rights.lookahead``; no query of an erasure grows with the registry's size).

The registry is written with raw bulk inserts (:func:`bench.bulk.fill_registry`: the rows
``Registry.ingest_many`` would write, keys wrapped in batches; about 8,000 subjects/s, so two
minutes for 1,000,000 on the 2-core reference machine, against 8 minutes through the API), then
200 random subjects are read back through the Registry API (found by e-mail and phone,
decrypted, compared) before anything is timed. Set ``PRIVACYOPS_BENCH_RIGHTS_SUBJECTS`` to
choose another size. The e-mail sender here keeps messages in memory (the SMTP path is what the
tests exercise with a real server).
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.bulk import check_registry, fill_registry, postgres_database
from bench.scenario_registry import submission
from privacyops.rights.engine import process, tick
from privacyops.rights.factory import build_service
from privacyops.rights.identity import Message
from privacyops.rights.models import RightsRequest
from privacyops.rights.service import RightsService
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.store.registry import IdentityIn, Submission

CODE = re.compile(r"\b(\d{6})\b")
MASTER = b"b" * 32


class Outbox:
    """An e-mail and phone sender that keeps the last message to each address."""

    def __init__(self) -> None:
        self.last: dict[str, str] = {}
        self.count = 0
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        with self._lock:
            self.last[message.to] = message.body
            self.count += 1


def _email(i: int) -> str:
    return f"person{i}@example{i % 97}.com"


def _submission(i: int) -> Submission:
    """The registry scenario's web-form submission, with a phone identity and field added."""
    web_form = submission(i)
    phone = f"+474{i:07d}"
    return Submission(
        [*web_form.identities, IdentityIn("phone", phone)],
        replace(
            web_form.record,
            data_categories=[*web_form.record.data_categories, "phone"],
            payload={**web_form.record.payload, "phone": phone},
        ),
    )


def _verified(service: RightsService, outbox: Outbox, kind: str, email: str) -> int:
    receipt = service.submit(kind, email, client="bench")
    code = CODE.search(outbox.last[email])
    if code is None:
        raise SystemExit("no code was sent")
    service.verify(receipt.request_id, receipt.token, code.group(1), client="bench")
    with service.db.session() as session:
        rid = session.scalar(
            sa.select(RightsRequest.id).where(RightsRequest.public_id == receipt.request_id)
        )
    if rid is None:
        raise SystemExit("request not stored")
    return rid


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(
    name: str, db: Database, data: Path, subjects: int, quick: bool
) -> list[tuple[str, float, str]]:
    """The three figures on ``db`` (migrated, empty), exports written under ``data``."""
    access_n = 30 if quick else 200
    erasures = 200 if quick else 1_000
    url = db.url.render_as_string(hide_password=False)
    out: list[tuple[str, float, str]] = []
    started = time.perf_counter()
    fill_registry(db, subjects, _submission)
    out.append(("registry subjects", float(subjects), "subjects"))
    out.append(
        ("registry fill (raw bulk)", subjects / (time.perf_counter() - started), "subjects/s")
    )
    checked = check_registry(db, subjects, _submission)
    out.append(("filled subjects read back through the Registry API", float(checked), "subjects"))
    outbox = Outbox()
    common: dict[str, Any] = {
        "data_dir": data,
        "database_url": url,
        "second_factor": "none",
        "rights_submit_per_hour": 1_000_000,
        "rights_failures_per_hour": 1_000_000,
    }
    for pdf in (False, True):
        service = build_service(
            Settings(export_pdf=pdf, **common), db=db, email=outbox, phone=outbox
        )
        offset = subjects // 5 if pdf else 0
        ids = [_verified(service, outbox, "access", _email(offset + i)) for i in range(access_n)]
        timings = []
        for rid in ids:
            t0 = time.perf_counter()
            state = process(service, rid)
            timings.append((time.perf_counter() - t0) * 1000)
            if state != "completed":
                raise SystemExit(f"access request ended {state}")
        label = "with PDF" if pdf else "without PDF"
        out.append((f"access verified->export ready {label} p50", statistics.median(timings), "ms"))
        out.append((f"access verified->export ready {label} p99", _percentile(timings, 0.99), "ms"))

    service = build_service(Settings(**common), db=db, email=outbox, phone=outbox)
    base = 2 * subjects // 5
    ids = [_verified(service, outbox, "erasure", _email(base + i)) for i in range(erasures)]
    t0 = time.perf_counter()
    while tick(service, limit=1_000):
        pass
    elapsed = time.perf_counter() - t0
    with db.session() as session:
        completed = session.scalar(
            sa.select(sa.func.count(RightsRequest.id)).where(
                RightsRequest.id.in_(ids), RightsRequest.state == "completed"
            )
        )
    if completed != erasures:
        raise SystemExit(f"only {completed} of {erasures} erasures completed")
    out.append((f"{erasures} erasures (crypto-shred + delete)", erasures / elapsed, "requests/s"))

    errors: list[str] = []
    done: list[int] = []

    def one(i: int) -> None:
        try:
            done.append(_verified(service, outbox, "access", _email(3 * subjects // 5 + i)))
        except Exception as exc:  # counted and reported, not raised
            errors.append(type(exc).__name__)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while tick(service, limit=100):
        pass
    with db.session() as session:
        finished = session.scalar(
            sa.select(sa.func.count(RightsRequest.id)).where(
                RightsRequest.id.in_(done), RightsRequest.state == "completed"
            )
        )
    out.append(("50 concurrent requests: completed", float(finished or 0), "requests"))
    out.append(("50 concurrent requests: in error", float(len(errors)), "requests"))
    out.append(("50 concurrent requests: submit to all answered", time.perf_counter() - t0, "s"))
    return [(f"{name}: {label}", value, unit) for label, value, unit in out]


def run(quick: bool) -> list[tuple[str, float, str]]:
    subjects = int(os.environ.get("PRIVACYOPS_BENCH_RIGHTS_SUBJECTS", 0)) or (
        20_000 if quick else 1_000_000
    )
    out: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        db = Database(f"sqlite:///{data / 'bench.sqlite'}", master_key=MASTER)
        db.upgrade()
        out += measure("sqlite", db, data, subjects, quick)
        db.dispose()
    for db in postgres_database(MASTER):
        with tempfile.TemporaryDirectory() as tmp:
            out += measure("postgresql", db, Path(tmp), subjects, quick)
    return out
