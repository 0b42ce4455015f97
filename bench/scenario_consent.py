"""Consent: durable writes over HTTP on SQLite and PostgreSQL, the banner's size, and the time
from a click on "Accept all" to the first unblocked tag running.

Writes: the service (``privacyops.web.app.create_app``, uvicorn with one worker) runs in a
process pinned to ONE core; a raw asyncio HTTP/1.1 client on keep-alive connections (64 in
flight) posts valid banner choices, each from a new visitor, and times every answer. A 201
arrives only after the record (and its audit event) is committed: on SQLite with
``synchronous=FULL`` (the WAL is flushed at each commit), on PostgreSQL with its default
``synchronous_commit=on``. The service groups the waiting records into one transaction per
flush (group commit, see ``privacyops.consent.writer``).

Baselines, in the same run, on the same kind of database, the same rows inserted raw through
the DB-API driver at the same durability (SQLite ``synchronous=FULL``): (1) one transaction
(one flush) per row: what each acknowledged write costs without the service and without
grouping; (2) as many rows per transaction as the service grouped on average in the measured
run (read back from the audit events, which one commit stamps with one time): the honest
"same durability and batching" ratio; (3) 256 rows per transaction, the ceiling of the disk
and driver alone. The ratio is HTTP / raw for each. The server's CPU-seconds per write (all
its threads, from /proc) is the figure that does not depend on the machine's other load.

Floors (issue 6): on SQLite >= 2,000 writes/s on one core, p99 < 20 ms, ratio >= 0.5.
PostgreSQL runs when ``PRIVACYOPS_BENCH_POSTGRES_URL`` is set (``make bench`` sets it; the
test cluster of ``scripts/services.sh`` runs with ``fsync=off``, so its figures are not those of
a durable production server).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from privacyops.consent.banner import asset, available_languages
from privacyops.consent.records import ChoiceIn, RequestContext, prepare_record
from privacyops.consent.service import ConsentService
from privacyops.settings import Settings
from privacyops.store import Database

SITE = "http://127.0.0.1"
CONCURRENCY = 64
#: A second, latency run: as many choices in flight as a busy site's visitors click at once.
LATENCY_CONCURRENCY = 16
RAW_BATCH = 256
_SERVER = """
import os, sys, uvicorn
os.sched_setaffinity(0, {int(os.environ["BENCH_CPU"])})
from privacyops.settings import Settings
from privacyops.web.app import create_app
settings = Settings()
app = create_app(settings)
uvicorn.run(app, host="127.0.0.1", port=settings.port, log_level="error", access_log=False,
            loop="uvloop", http="httptools")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _body(config: dict[str, Any], visitor: str, action: str, origin: str) -> bytes:
    grant = action == "accept"
    categories = {c["id"]: c["id"] == "necessary" or grant for c in config["categories"]}
    return json.dumps(
        {
            "visitor_id": visitor,
            "action": action,
            "categories": categories,
            "vendors": {},
            "banner_version": config["banner_version"],
            "policy_version": config["policy_version"],
            "language": config["language"],
            "text_hash": config["text_hash"],
            "page_url": f"{origin}/",
            "gpc": False,
        }
    ).encode()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _post_all(
    port: int, origin: str, bodies: list[bytes], concurrency: int = CONCURRENCY
) -> tuple[list[float], float, int]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    latencies: list[float] = []
    failures = 0

    async def worker() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                request = (
                    b"POST /api/v1/consent HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Origin: " + origin.encode() + b"\r\n"
                    b"Content-Type: application/json\r\nUser-Agent: bench/1.0\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                started = time.perf_counter()
                writer.write(request)
                status, answer = await _read_response(reader)
                latencies.append(time.perf_counter() - started)
                if status != 201:
                    if not failures:
                        print(f"  first refusal: {status} {answer[:300]!r}", file=sys.stderr)
                    failures += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started, failures


def _get_json(port: int, path: str) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-c", _SERVER], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the benchmark server did not start")


def _http_writes(db_url: str, data_dir: Path, count: int) -> _HttpFigures:
    """Throughput, latency, CPU and group-commit size of ``count`` posted choices
    (``CONCURRENCY`` in flight), then latency of ``count // 2`` more at
    ``LATENCY_CONCURRENCY``."""
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
        "PRIVACYOPS_DATA_DIR": str(data_dir),
        "PRIVACYOPS_DATABASE_URL": db_url,
        "PRIVACYOPS_PORT": str(port),
        "PRIVACYOPS_BASE_URL": origin,
        "PRIVACYOPS_SITE_ORIGINS": json.dumps([origin]),
        "PRIVACYOPS_CONSENT_RATE_LIMIT": str(10 * count + 10_000),
        "PRIVACYOPS_LOG_LEVEL": "ERROR",
        "BENCH_CPU": str(min(os.sched_getaffinity(0))),
    }
    server = _start_server(env, port)
    try:
        config = _get_json(port, "/api/v1/consent/config?lang=en")
        warm = [_body(config, uuid.uuid4().hex, "reject", origin) for _ in range(300)]
        asyncio.run(_post_all(port, origin, warm))
        bodies = [
            _body(config, uuid.uuid4().hex, "accept" if i % 2 else "reject", origin)
            for i in range(count)
        ]
        cpu_before = _cpu_seconds(server.pid)
        latencies, elapsed, failures = asyncio.run(_post_all(port, origin, bodies))
        cpu_used = _cpu_seconds(server.pid) - cpu_before
        calm = [_body(config, uuid.uuid4().hex, "accept", origin) for _ in range(count // 2)]
        calm_latencies, calm_elapsed, calm_failures = asyncio.run(
            _post_all(port, origin, calm, LATENCY_CONCURRENCY)
        )
        failures += calm_failures
    finally:
        server.terminate()
        server.wait(30)
    if failures:
        raise RuntimeError(f"{failures} consent writes were refused")
    db = Database(db_url)
    try:
        with db.engine.connect() as conn:
            stored = int(conn.execute(sa.text("SELECT count(*) FROM consent_records")).scalar_one())
            stored -= len(calm)
            # The writer stamps every audit event of one commit with the same time: the
            # measured run's events per distinct stamp is its mean group-commit size.
            stamps = conn.execute(
                sa.text(
                    "SELECT ts FROM audit_events WHERE action = 'consent.record' "
                    "ORDER BY seq DESC LIMIT :n OFFSET :calm"
                ),
                {"n": count, "calm": len(calm)},
            ).scalars()
            per_commit = count / max(len(set(stamps)), 1)
    finally:
        db.dispose()
    return _HttpFigures(
        rate=count / elapsed,
        p50=_percentile(latencies, 0.5),
        p99=_percentile(latencies, 0.99),
        stored=stored - len(warm),
        per_cpu=count / max(cpu_used, 1e-9),
        per_commit=per_commit,
        calm_rate=len(calm) / calm_elapsed,
        calm_p50=_percentile(calm_latencies, 0.5),
        calm_p99=_percentile(calm_latencies, 0.99),
    )


def _percentile(latencies: list[float], q: float) -> float:
    """The ``q`` quantile of latencies in seconds, in ms."""
    ordered = sorted(latencies)
    return ordered[max(0, math.ceil(len(ordered) * q) - 1)] * 1000


@dataclass
class _HttpFigures:
    rate: float
    p50: float
    p99: float
    stored: int
    per_cpu: float
    per_commit: float
    calm_rate: float
    calm_p50: float
    calm_p99: float


def _rows(settings: Settings, count: int) -> list[dict[str, Any]]:
    service = ConsentService(settings)
    banner = service.banner
    context = RequestContext(
        ip="203.0.113.9", user_agent="bench/1.0", allowed_origins=frozenset({SITE})
    )
    rows = []
    for i in range(count):
        choice = ChoiceIn(
            visitor_id=uuid.uuid4().hex,
            action="accept" if i % 2 else "reject",
            categories={
                "necessary": True,
                "analytics": bool(i % 2),
                "advertising": bool(i % 2),
                "widgets": bool(i % 2),
            },
            banner_version=banner.banner_version,
            policy_version=banner.policy_version,
            language="en",
            text_hash=banner.text_hashes["en"],
            page_url=f"{SITE}/",
        )
        rows.append(prepare_record(choice, banner, context))
    return rows


def _raw_inserts(db_url: str, rows: list[dict[str, Any]], batch: int) -> float:
    """Rows/s inserted through the bare DB-API driver, ``batch`` rows per durable commit."""
    db = Database(db_url)
    db.upgrade()
    table = sa.Table("consent_records", sa.MetaData(), autoload_with=db.engine)
    columns = [c.name for c in table.columns if c.name != "id"]
    sqlite = db.dialect == "sqlite"
    mark = "?" if sqlite else "%s"
    sql = (
        f"INSERT INTO consent_records ({', '.join(columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )

    def value(row: dict[str, Any], name: str) -> Any:
        v = row.get(name)
        if sqlite and hasattr(v, "tzinfo"):
            return v.replace(tzinfo=None).isoformat(sep=" ")
        return v

    params = [tuple(value(r, c) for c in columns) for r in rows]
    raw = db.engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        assert dbapi is not None
        if sqlite:
            dbapi.isolation_level = None
            dbapi.execute("PRAGMA journal_mode = WAL")
            dbapi.execute("PRAGMA synchronous = FULL")
        cursor = dbapi.cursor()
        started = time.perf_counter()
        for start in range(0, len(params), batch):
            if sqlite:
                cursor.execute("BEGIN")
            cursor.executemany(sql, params[start : start + batch])
            if sqlite:
                cursor.execute("COMMIT")
            else:
                dbapi.commit()
        elapsed = time.perf_counter() - started
    finally:
        raw.close()
        db.dispose()
    return len(params) / elapsed


def _fresh_pg(url: str) -> tuple[str, sa.Engine, str]:
    schema = f"bench_consent_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", admin, schema


def _backend(
    name: str, db_url: str, data_dir: Path, count: int, raw_count: int
) -> list[tuple[str, float, str]]:
    figures = _http_writes(db_url, data_dir, count)
    rate, per_cpu, per_commit = figures.rate, figures.per_cpu, figures.per_commit
    settings = Settings(data_dir=data_dir, database_url=db_url, site_origins=[SITE])
    raw_single = _raw_inserts(db_url, _rows(settings, raw_count), 1)
    same_batch = max(1, round(per_commit))
    raw_same = _raw_inserts(db_url, _rows(settings, raw_count * 2), same_batch)
    raw_batched = _raw_inserts(db_url, _rows(settings, raw_count * 4), RAW_BATCH)
    return [
        (f"{name}: consent writes over HTTP (durable, 1 core)", rate, "writes/s"),
        (f"{name}: writes per CPU-second of the server process", per_cpu, "writes/s"),
        (f"{name}: server CPU per write", 1000 / per_cpu, "ms"),
        (f"{name}: HTTP write latency p50 ({CONCURRENCY} in flight)", figures.p50, "ms"),
        (f"{name}: HTTP write latency p99 ({CONCURRENCY} in flight)", figures.p99, "ms"),
        (f"{name}: records stored / posted", figures.stored / count, "ratio"),
        (
            f"{name}: consent writes over HTTP ({LATENCY_CONCURRENCY} in flight)",
            figures.calm_rate,
            "writes/s",
        ),
        (
            f"{name}: HTTP write latency p50 ({LATENCY_CONCURRENCY} in flight)",
            figures.calm_p50,
            "ms",
        ),
        (
            f"{name}: HTTP write latency p99 ({LATENCY_CONCURRENCY} in flight)",
            figures.calm_p99,
            "ms",
        ),
        (f"{name}: service's records per durable commit (mean)", per_commit, "rows"),
        (f"{name}: baseline raw inserts, 1 row per durable commit", raw_single, "rows/s"),
        (f"{name}: ratio HTTP / raw (same durability per write)", rate / raw_single, "x"),
        (
            f"{name}: baseline raw inserts, {same_batch} rows per durable commit (as service)",
            raw_same,
            "rows/s",
        ),
        (f"{name}: ratio HTTP / raw (same durability and batching)", rate / raw_same, "x"),
        (f"{name}: raw inserts, {RAW_BATCH} rows per commit (disk ceiling)", raw_batched, "rows/s"),
        (f"{name}: ratio HTTP / raw batched", rate / raw_batched, "x"),
    ]


def _banner_size() -> int:
    settings = Settings(data_dir=Path(tempfile.mkdtemp()))
    service = ConsentService(settings)
    largest = max(
        (
            json.dumps(service.banner.config(lang, gpc=False, endpoint="https://x/api/v1/consent"))
            for lang in service.banner.languages
        ),
        key=len,
    ).encode()
    _ = available_languages
    return len(gzip.compress(asset("banner.js") + asset("banner.css") + largest, 9))


def _click_to_tag(runs: int) -> float | None:
    """Median ms from the "Accept all" click to the first unblocked tag running (Playwright)."""
    chromium = os.environ.get("PRIVACYOPS_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        return None
    from playwright.sync_api import sync_playwright

    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    data_dir = Path(tempfile.mkdtemp())
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
        "PRIVACYOPS_DATA_DIR": str(data_dir),
        "PRIVACYOPS_PORT": str(port),
        "PRIVACYOPS_BASE_URL": origin,
        "PRIVACYOPS_SITE_ORIGINS": json.dumps([origin]),
        "BENCH_CPU": str(min(os.sched_getaffinity(0))),
    }
    server = _start_server(env, port)
    times: list[float] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium,
                headless=True,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            for _ in range(runs):
                context = browser.new_context()
                page = context.new_page()
                page.goto(f"{origin}/consent/demo")
                button = page.get_by_role("button", name="Accept all")
                button.wait_for(state="visible")
                page.evaluate(
                    "() => document.addEventListener('click', () => "
                    "{ window.__clickAt = performance.now(); }, true)"
                )
                button.click()
                page.wait_for_function("() => window.__analyticsRan === true")
                times.append(page.evaluate("() => window.__analyticsRanAt - window.__clickAt"))
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(30)
    return statistics.median(times)


def run(quick: bool) -> list[tuple[str, float, str]]:
    count = 2_000 if quick else 20_000
    raw_count = 500 if quick else 3_000
    results: list[tuple[str, float, str]] = [
        ("banner.js + banner.css + config, gzipped", float(_banner_size()), "bytes"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        results += _backend(
            "sqlite", f"sqlite:///{base / 'http.sqlite'}", base / "d1", count, raw_count
        )
        pg_url = os.environ.get("PRIVACYOPS_BENCH_POSTGRES_URL")
        if pg_url:
            url, admin, schema = _fresh_pg(pg_url)
            try:
                results += _backend("postgresql", url, base / "d2", count, raw_count)
            finally:
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    click = _click_to_tag(3 if quick else 7)
    if click is not None:
        results.append(('"Accept all" click to first unblocked tag running (median)', click, "ms"))
    return results
