"""The running service: dashboard list pages on a large database, start-up time, idle memory.

With 100,000 data-subject requests and 1,000,000 consent records (``--quick``: 10,000 and
100,000) in the embedded SQLite database, ``privacyops serve`` runs as a real process; a logged-in
DPO fetches each dashboard list page 60 times over HTTP (first page, and a page deep in the
keyset for the request list). Floors (issue 8): p99 <= 200 ms per page; idle RSS < 250 MB.
Start-up is timed from process start to the first answer of ``/healthz``, on a fresh data
directory and on the large one.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from privacyops.accounts import create_user
from privacyops.consent.models import ConsentRecord
from privacyops.rights.models import RightsRequest
from privacyops.settings import Settings
from privacyops.store import open_database

SRC = Path(__file__).resolve().parents[1] / "src"
PASSWORD = "bench password 123"
SAMPLES = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fill(data_dir: Path, requests: int, consents: int) -> int:
    """Create the database with ``requests`` requests and ``consents`` consent records; returns
    the id of a request deep in the list (for a deep keyset page)."""
    settings = Settings(data_dir=data_dir)
    db = open_database(settings)
    now = datetime.now(UTC)
    states = ["completed"] * 17 + ["refused", "awaiting_identity", "awaiting_review"]
    with db.session() as session:
        create_user(session, "dpo@bench.example", PASSWORD, "dpo")
    batch = 20_000
    with db.engine.begin() as conn:
        for start in range(0, requests, batch):
            rows = [
                {
                    "public_id": "r" + secrets.token_hex(12),
                    "token_hash": secrets.token_bytes(32),
                    "type": ("access", "erasure", "objection", "rectification")[i % 4],
                    "state": states[i % len(states)],
                    "identity_index": secrets.token_bytes(32),
                    "policy_version": "v3",
                    "channel": "web",
                    "received_at": now - timedelta(minutes=(requests - i) * 5),
                    "updated_at": now,
                }
                for i in range(start, min(start + batch, requests))
            ]
            conn.execute(sa.insert(RightsRequest), rows)
        for start in range(0, consents, batch):
            rows = [
                {
                    "record_id": secrets.token_hex(16),
                    "visitor_id": secrets.token_hex(16),
                    "created_at": now - timedelta(seconds=(consents - i) * 7),
                    "action": ("accept", "reject", "custom")[i % 3],
                    "analytics": i % 3 != 1,
                    "advertising": i % 3 == 0,
                    "widgets": i % 2 == 0,
                    "vendors": "{}",
                    "gpc": False,
                    "banner_version": "b1",
                    "text_hash": "0" * 64,
                    "language": "en",
                    "policy_version": "v3",
                    "expires_at": now + timedelta(days=180),
                    "source": "banner",
                }
                for i in range(start, min(start + batch, consents))
            ]
            conn.execute(sa.insert(ConsentRecord), rows)
        deep = conn.execute(
            sa.select(RightsRequest.id)
            .order_by(RightsRequest.id)
            .offset(requests * 9 // 10)
            .limit(1)
        ).scalar_one()
    db.dispose()
    return int(deep)


class Serve:
    """``privacyops serve`` as a child process."""

    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVACYOPS_")}
        env.update(
            PYTHONPATH=str(SRC),
            PRIVACYOPS_DATA_DIR=str(data_dir),
            PRIVACYOPS_PORT=str(self.port),
            PRIVACYOPS_LOG_LEVEL="WARNING",
            PRIVACYOPS_LOGIN_ATTEMPTS_PER_MINUTE="1000",
        )
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "privacyops", "serve"],
            env=env,
            cwd=data_dir.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("privacyops serve did not start")
            time.sleep(0.02)
        self.startup = time.perf_counter() - self.started

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def _login(base: str) -> httpx.Client:
    client = httpx.Client(
        base_url=base, headers={"accept": "text/html"}, timeout=30, follow_redirects=True
    )
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token is None:
        raise RuntimeError("no CSRF token on /login")
    answer = client.post(
        "/login",
        data={"email": "dpo@bench.example", "password": PASSWORD, "csrf_token": token.group(1)},
    )
    if answer.status_code != 200 or "dpo@bench.example" not in answer.text:
        raise RuntimeError(f"login failed: {answer.status_code}")
    return client


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(quick: bool) -> list[tuple[str, float, str]]:
    requests, consents = (10_000, 100_000) if quick else (100_000, 1_000_000)
    out: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="pops-bench-service-") as tmp:
        fresh = Serve(Path(tmp) / "fresh")
        out.append(("start-up of serve, fresh data dir (to first /healthz)", fresh.startup, "s"))
        time.sleep(3)
        out.append(("idle RSS, fresh data dir (floor < 250 MB)", fresh.rss_mb(), "MB"))
        fresh.stop()

        big = Path(tmp) / "big"
        t0 = time.perf_counter()
        deep = _fill(big, requests, consents)
        out.append(
            (
                f"fill {requests:,} requests + {consents:,} consent records",
                time.perf_counter() - t0,
                "s",
            )
        )
        serve = Serve(big)
        out.append(("start-up of serve, filled database", serve.startup, "s"))
        try:
            client = _login(serve.url)
            pages = {
                "/dashboard (home: the to-do list)": "/dashboard",
                "/dashboard/requests?due=overdue (page 1)": "/dashboard/requests?due=overdue",
                "/dashboard/requests (open, page 1)": "/dashboard/requests",
                "/dashboard/requests (all, page 1)": "/dashboard/requests?state=all",
                "/dashboard/requests (all, keyset page at 90%)": (
                    f"/dashboard/requests?state=all&after={deep}"
                ),
                "/dashboard/audit (page 1)": "/dashboard/audit",
                "/dashboard/spam": "/dashboard/spam",
                "/dashboard/consent (90 days, cached 60 s)": "/dashboard/consent",
            }
            first = time.perf_counter()
            client.get("/dashboard/consent?days=90")
            out.append(
                (
                    "/dashboard/consent first (uncached) load",
                    (time.perf_counter() - first) * 1000,
                    "ms",
                )
            )
            for label, path in pages.items():
                client.get(path)  # warm: the first call of a route builds its caches
                timings = []
                for _ in range(SAMPLES):
                    started = time.perf_counter()
                    answer = client.get(path)
                    timings.append((time.perf_counter() - started) * 1000)
                    if answer.status_code != 200:
                        raise RuntimeError(f"{path}: {answer.status_code}")
                out.append((f"{label} p50", statistics.median(timings), "ms"))
                out.append((f"{label} p99 (floor <= 200 ms)", _pct(timings, 0.99), "ms"))
            for label, q in (
                ("search by e-mail", "someone@bench.example"),
                ("search by reference", "r" + "0" * 24),
            ):
                timings = []
                for _ in range(SAMPLES):
                    token = re.search(
                        r'name="csrf_token" value="([^"]+)"', client.get("/dashboard/requests").text
                    )
                    if token is None:
                        raise RuntimeError("no CSRF token on /dashboard/requests")
                    started = time.perf_counter()
                    answer = client.post(
                        "/dashboard/requests/search", data={"csrf_token": token.group(1), "q": q}
                    )
                    timings.append((time.perf_counter() - started) * 1000)
                    if answer.status_code != 200:
                        raise RuntimeError(f"search: {answer.status_code}")
                out.append(
                    (
                        f"POST /dashboard/requests/search ({label}) p50",
                        statistics.median(timings),
                        "ms",
                    )
                )
                out.append(
                    (
                        f"POST /dashboard/requests/search ({label}) p99 (floor <= 200 ms)",
                        _pct(timings, 0.99),
                        "ms",
                    )
                )
            client.close()
            time.sleep(3)
            out.append(("idle RSS after serving the pages (floor < 250 MB)", serve.rss_mb(), "MB"))
        finally:
            serve.stop()
    return out
