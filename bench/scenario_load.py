"""Load: intake, consent and rights submissions mixed over real HTTP.

``privacyops serve`` runs as a real process, on the embedded default (SQLite) and, when
``PRIVACYOPS_TEST_POSTGRES_URL`` is set, on PostgreSQL (a schema of its own). At 1, 10, 50 and
100 concurrent keep-alive clients (httpx, asyncio) each level runs for a fixed time and reports
throughput, p50/p99 latency and errors (any answer but the endpoint's 201/202, or a transport
error). The mix: 60 % public intake (``web_form``), 25 % consent choices, 15 % rights requests
(which mail a one-time code to a local SMTP sink). Then public intake alone, for the floor of
issue 22: >= 1,000 submissions/s at p99 <= 50 ms on SQLite, 0 errors at every level. Per-address
rate limits are raised for the run (they would answer 429 to a single load generator).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

SRC = Path(__file__).resolve().parents[1] / "src"
SITE = "https://www.example.com"
LEVELS = (1, 10, 50, 100)
LIMIT = "1000000"
NO_GROUP = {"PRIVACYOPS_INTAKE_GROUP_COMMIT": "false"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _smtp_sink() -> Iterator[int]:
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            return "250 OK"

    port = _free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextmanager
def _serve(
    data_dir: Path, smtp_port: int, database_url: str | None, extra: dict[str, str] | None = None
) -> Iterator[str]:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRIVACYOPS_")},
        "PYTHONPATH": os.environ.get("PYTHONPATH", str(SRC)),
        "PRIVACYOPS_DATA_DIR": str(data_dir),
        "PRIVACYOPS_PORT": str(port),
        "PRIVACYOPS_SMTP_PORT": str(smtp_port),
        "PRIVACYOPS_SITE_ORIGINS": json.dumps([SITE]),
        "PRIVACYOPS_RUNNER_ENABLED": "false",
        "PRIVACYOPS_SECOND_FACTOR": "none",
        "PRIVACYOPS_INTAKE_RATE_LIMIT_PER_MINUTE": LIMIT,
        "PRIVACYOPS_CONSENT_RATE_LIMIT": LIMIT,
        "PRIVACYOPS_RIGHTS_SUBMIT_PER_HOUR": LIMIT,
        "PRIVACYOPS_PUBLIC_FORM_POSTS_PER_MINUTE": LIMIT,
    }
    if database_url:
        env["PRIVACYOPS_DATABASE_URL"] = database_url
    env.update(extra or {})
    log = (data_dir.parent / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "privacyops", "serve"], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"serve did not start (see {log.name})")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


class _Mix:
    """The requests of the mix, each with a unique person or visitor."""

    def __init__(self, config: dict[str, Any], intake_only: bool) -> None:
        self.config = config
        self.intake_only = intake_only
        self.n = 0

    def next(self) -> tuple[str, str, dict[str, Any], dict[str, str], int]:
        self.n += 1
        n, tag = self.n, uuid.uuid4().hex[:12]
        pick = 0 if self.intake_only else n % 20
        if pick < 12:
            body = {"email": f"l{tag}@example.com", "name": f"Load {n}"}
            return "intake", "/api/v1/intake/web_form", body, {}, 202
        if pick < 17:
            cats = self.config["categories"]
            consent = {
                "visitor_id": uuid.uuid4().hex,
                "action": "accept" if n % 2 else "reject",
                "categories": {c["id"]: bool(n % 2) or c["id"] == "necessary" for c in cats},
                "vendors": {v["id"]: bool(n % 2) for c in cats for v in c["vendors"]},
                "banner_version": self.config["banner_version"],
                "policy_version": self.config["policy_version"],
                "language": self.config["language"],
                "text_hash": self.config["text_hash"],
                "page_url": f"{SITE}/",
                "gpc": False,
            }
            return "consent", "/api/v1/consent", consent, {"Origin": SITE}, 201
        body = {"type": "access", "email": f"r{tag}@example.com"}
        return "rights", "/api/v1/rights/requests", body, {}, 202


async def _level(base: str, clients: int, seconds: float, intake_only: bool) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        config = (await http.get("/api/v1/consent/config?lang=en")).json()
        mix = _Mix(config, intake_only)
        stop = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < stop:
                kind, path, body, headers, ok = mix.next()
                started = time.perf_counter()
                try:
                    response = await http.post(path, json=body, headers=headers)
                    status = str(response.status_code)
                except httpx.HTTPError as exc:
                    status, ok = type(exc).__name__, -1
                latencies.append(time.perf_counter() - started)
                if status != str(ok):
                    errors[f"{kind}:{status}"] = errors.get(f"{kind}:{status}", 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "rate": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "errors": sum(errors.values()),
        "by_error": errors,
    }


@contextmanager
def _postgres_schema(url: str) -> Iterator[str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _backend(
    name: str,
    url: str | None,
    seconds: float,
    extra: dict[str, str] | None = None,
    mixes: tuple[bool, ...] = (False, True),
) -> list[tuple[str, float, str]]:
    out: list[tuple[str, float, str]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        _smtp_sink() as smtp_port,
        _serve(Path(tmp) / "data", smtp_port, url, extra) as base,
    ):
        for intake_only in mixes:
            what = "intake only" if intake_only else "mixed"
            for clients in LEVELS:
                got = asyncio.run(_level(base, clients, seconds, intake_only))
                label = f"{name} {what} {clients:>3} clients"
                out.append((f"{label}: throughput", got["rate"], "req/s"))
                out.append((f"{label}: p50", got["p50"], "ms"))
                out.append((f"{label}: p99", got["p99"], "ms"))
                out.append((f"{label}: errors", got["errors"], "count"))
                if got["errors"]:
                    print(f"  {label} errors: {got['by_error']}", flush=True)
    return out


def run(quick: bool) -> list[tuple[str, float, str]]:
    seconds = 2.0 if quick else 8.0
    # the same intake without group commit, for comparison in the same run
    out = _backend("sqlite, no group commit,", None, seconds, NO_GROUP, (True,))
    out += _backend("sqlite", None, seconds)
    pg = os.environ.get("PRIVACYOPS_TEST_POSTGRES_URL")
    if pg:
        with _postgres_schema(pg) as url:
            out += _backend("postgresql", url, seconds)
    else:
        print("  (PostgreSQL skipped: PRIVACYOPS_TEST_POSTGRES_URL not set)", flush=True)
    return out
