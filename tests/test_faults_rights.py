"""The fault suite, rights: ``kill -9`` of ``privacyops serve`` while its background runner
works through a batch of verified requests (access answers with PDFs, erasures), at two
points. After restarts every request completes, each step of each request was done once
(one step record, one audit event), each access answer has one export and one e-mail, and
``privacyops audit verify`` passes."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests._faults import audit_verifies, start_serve
from tests._rights import decide_recipients, submit_and_verify
from tests.conftest import SmtpSink

from _mailbox import free_port
from privacyops.rights.factory import build_service
from privacyops.settings import Settings
from privacyops.store.registry import IdentityIn, RecordIn, Registry, Submission

pytestmark = [pytest.mark.fault, pytest.mark.slow]

PEOPLE = 8  # half access, half erasure


def _steps_done(db_engine: sa.Engine) -> int:
    with db_engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM rights_steps")).scalar_one())


def test_kill_9_of_serve_during_a_rights_batch_does_no_step_twice(
    tmp_path: Path, smtp_server: SmtpSink
) -> None:
    data_dir = tmp_path / "data"
    options = {
        "smtp_port": smtp_server.port,
        "second_factor": "none",
        "export_pdf": True,
        "rights_lease_seconds": 1,
        "runner_enabled": False,
    }
    service = build_service(Settings(data_dir=data_dir, **options))  # type: ignore[arg-type]
    registry = Registry(service.db)
    receipts = {}
    for i in range(PEOPLE):
        email = f"r{i}@example.com"
        registry.ingest(
            Submission(
                [IdentityIn("email", email)],
                RecordIn(
                    channel="web_form",
                    legal_basis="consent",
                    policy_version="v3",
                    payload={"name": f"Person {i}"},
                ),
            )
        )
        kind = "access" if i % 2 == 0 else "erasure"
        receipts[email] = (kind, submit_and_verify(service, smtp_server, kind, email))
    engine = service.db.engine
    extra = {
        "PRIVACYOPS_RUNNER_ENABLED": "true",
        "PRIVACYOPS_SMTP_PORT": str(smtp_server.port),
        "PRIVACYOPS_SECOND_FACTOR": "none",
        "PRIVACYOPS_EXPORT_PDF": "true",
        "PRIVACYOPS_RIGHTS_LEASE_SECONDS": "1",
    }
    killed_at: list[int] = []
    for kill_at in (1, 12):  # at the first steps, and in the middle of the batch
        proc = start_serve(data_dir, free_port(), **extra)
        try:
            deadline = time.monotonic() + 120
            while _steps_done(engine) < kill_at and time.monotonic() < deadline:
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        killed_at.append(_steps_done(engine))
    time.sleep(1.2)  # the dead server's leases run out
    proc = start_serve(data_dir, free_port(), **extra)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            states = {
                r[1].request_id: service.status(r[1].request_id, r[1].token)["state"]
                for r in receipts.values()
            }
            if set(states.values()) <= {"completed"}:
                break
            for request_id, state in states.items():
                if state == "awaiting_review":  # the DPO's Art. 19 decision on recipients
                    decide_recipients(service, request_id)
            time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert set(states.values()) == {"completed"}, states
    total = _steps_done(engine)
    assert killed_at[-1] < total, f"no kill mid-batch: {killed_at}"

    with engine.connect() as conn:
        twice = conn.execute(
            sa.text(
                "SELECT request_id, step, count(*) FROM rights_steps "
                "GROUP BY request_id, step HAVING count(*) > 1"
            )
        ).all()
        exports = Counter(conn.execute(sa.text("SELECT request_id FROM rights_exports")).scalars())
        events = conn.execute(
            sa.text("SELECT action, details FROM audit_events WHERE action LIKE 'rights.%'")
        ).all()
    assert twice == []
    per_request = Counter(
        (json.loads(details)["request"], action)
        for action, details in events
        if action.startswith("rights.step.") or action == "rights.request.completed"
    )
    assert per_request
    assert max(per_request.values()) == 1, per_request.most_common(3)
    completed = [r for (r, a) in per_request if a == "rights.request.completed"]
    assert len(completed) == PEOPLE
    assert len(exports) == PEOPLE // 2
    assert set(exports.values()) == {1}
    for email, (kind, _receipt) in receipts.items():
        if kind == "access":
            ready = [m for m in smtp_server.to(email) if "ready" in m["Subject"]]
            assert len(ready) == 1, email
    service.db.dispose()
    audit_verifies(data_dir)
