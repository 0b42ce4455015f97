"""The fault suite: ``kill -9`` of ``privacyops serve`` while public intake submissions pour
in, and of ``retention run`` mid-way, each at more than one point. After a restart every
acknowledged submission is stored exactly once, nothing is deleted twice, the rerun finishes
the sweep, and ``privacyops audit verify`` passes."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from tests._faults import audit_verifies, env, start_serve

from _mailbox import free_port
from privacyops.settings import Settings
from privacyops.store import open_database
from privacyops.store.registry import IdentityIn, RecordIn, Registry, Submission

pytestmark = [pytest.mark.fault, pytest.mark.slow]


async def _pour(port: int, start: int, kill_after: int, proc: subprocess.Popen[bytes]) -> list[str]:
    """Submit from 8 clients until ``kill_after`` are acknowledged, then kill -9 the server
    while the others are in flight; returns the acknowledged e-mail addresses."""
    acknowledged: list[str] = []
    counter = iter(range(start, start + 100_000))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:

        async def client() -> None:
            while proc.poll() is None:
                email = f"k{next(counter)}@example.com"
                try:
                    response = await http.post("/api/v1/intake/web_form", json={"email": email})
                except httpx.HTTPError:
                    return  # the server died under this call: not acknowledged
                assert response.status_code < 500, response.text
                if response.status_code == 202:
                    acknowledged.append(email)
                if len(acknowledged) >= kill_after and proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)

        await asyncio.gather(*(client() for _ in range(8)))
    return acknowledged


def test_kill_9_of_serve_during_intake_loses_no_acknowledged_submission(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    acknowledged: list[str] = []
    for round_, kill_after in enumerate((5, 25)):  # early, and once the WAL has grown
        port = free_port()
        proc = start_serve(data_dir, port)
        try:
            acknowledged += asyncio.run(_pour(port, round_ * 100_000, kill_after, proc))
        finally:
            proc.kill()
            proc.wait(timeout=30)
        assert len(acknowledged) >= kill_after
    port = free_port()
    proc = start_serve(data_dir, port)  # restarts cleanly on what the kills left
    proc.terminate()
    proc.wait(timeout=60)
    db = open_database(Settings(data_dir=data_dir))
    registry = Registry(db)
    for email in acknowledged:
        subject = registry.find_subject("email", email)
        assert subject is not None, email
        assert len(registry.records_for(subject)) == 1, email
    with db.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM personal_data_records")).scalar_one()
    # at most the calls in flight at each kill were stored without an answer
    assert len(acknowledged) <= stored <= len(acknowledged) + 2 * 8
    db.dispose()
    audit_verifies(data_dir)


def _old(email: str) -> Submission:
    return Submission(
        [IdentityIn("email", email)],
        RecordIn(
            channel="web_form",
            legal_basis="legitimate_interest",
            policy_version="v3",
            payload={"name": "Old"},
            collected_at=datetime(2018, 1, 1, tzinfo=UTC),
        ),
    )


def test_kill_9_of_retention_run_at_several_points_then_the_rerun_finishes(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    db = open_database(Settings(data_dir=data_dir))
    Registry(db).ingest_many([_old(f"p{i}@example.com") for i in range(600)])
    count = sa.text("SELECT count(*) FROM personal_data_records")
    command = [sys.executable, "-m", "privacyops", "retention", "run", "--as-of", "2026-06-01"]
    seen: list[int] = []
    for stop_below in (570, 300):  # early, then mid-way through what is left
        proc = subprocess.Popen(
            [*command, "--chunk-size", "10"],
            env=env(data_dir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                with db.engine.connect() as conn:
                    left = conn.execute(count).scalar_one()
                if left < stop_below:
                    break
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        with db.engine.connect() as conn:
            seen.append(conn.execute(count).scalar_one())
    assert 0 < seen[-1] < 600, f"no run was killed mid-way: {seen}"
    done = subprocess.run(
        [*command, "--json"],
        env=env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["resumed"] is True
    assert report["totals"]["deleted"] == 600  # over the three runs: each record once
    with db.engine.connect() as conn:
        assert conn.execute(count).scalar_one() == 0
        batches = conn.execute(
            sa.text("SELECT details FROM audit_events WHERE action = 'retention.batch'")
        ).scalars()
        ids = [(json.loads(d) if isinstance(d, str) else d)["first_record_id"] for d in batches]
    assert len(ids) == len(set(ids)), "a chunk was deleted twice"
    db.dispose()
    audit_verifies(data_dir)
