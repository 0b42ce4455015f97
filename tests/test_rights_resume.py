"""A worker killed (SIGKILL) in the middle of a request: the next worker finishes it, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests._rights import last_code
from tests.conftest import SmtpSink

from privacyops.audit import AuditLog
from privacyops.rights.factory import build_service
from privacyops.rights.models import Export, OutboxMessage, StepRecord
from privacyops.settings import Settings
from privacyops.store.registry import IdentityIn, RecordIn, Registry, Submission

SRC = Path(__file__).resolve().parents[1] / "src"

# The worker: runs the request with a hook that, inside the step's transaction (its work done,
# not yet committed), says where it is and then hangs until it is killed.
WORKER = """
import sys, time
from pathlib import Path
from privacyops.rights.factory import build_service
from privacyops.rights.engine import process
from privacyops.settings import get_settings

marker, stop_at, request_id = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])

def hook(_ref, step):
    if step == stop_at:
        marker.write_text(step)
        time.sleep(600)

process(build_service(get_settings()), request_id, worker="doomed", hook=hook)
"""


@pytest.mark.parametrize("stop_at", ["resolve", "collect", "export", "answer"])
def test_killed_worker_is_resumed_and_nothing_happens_twice(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink, stop_at: str
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "PRIVACYOPS_DATA_DIR": str(tmp_path / "data"),
        "PRIVACYOPS_DATABASE_URL": db_url,
        "PRIVACYOPS_SMTP_PORT": str(smtp_server.port),
        "PRIVACYOPS_SECOND_FACTOR": "none",
        "PRIVACYOPS_RIGHTS_LEASE_SECONDS": "1",
    }
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        smtp_port=smtp_server.port,
        second_factor="none",
        rights_lease_seconds=1,
    )
    service = build_service(settings)
    Registry(service.db).ingest(
        Submission(
            [IdentityIn("email", "ada@example.com")],
            RecordIn(
                channel="web_form",
                legal_basis="consent",
                policy_version="v3",
                payload={"name": "Ada Lovelace"},
            ),
        )
    )
    receipt = service.submit("access", "ada@example.com")
    service.verify(receipt.request_id, receipt.token, last_code(smtp_server, "ada@example.com"))
    with service.db.session() as session:
        request_id = session.scalar(sa.text("SELECT id FROM rights_requests"))

    marker = tmp_path / "marker"
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(marker), stop_at, str(request_id)], env=env
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert worker.poll() is None, "the worker ended before reaching the step"
        assert time.monotonic() < deadline, "the worker never reached the step"
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    assert worker.returncode == -signal.SIGKILL
    assert service.status(receipt.request_id, receipt.token)["state"] == "in_progress"

    time.sleep(1.2)  # the dead worker's lease runs out
    resumed = subprocess.run(
        [sys.executable, "-m", "privacyops", "request", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert service.status(receipt.request_id, receipt.token)["state"] == "completed"

    with service.db.session() as session:
        steps = session.scalars(sa.select(StepRecord.step)).all()
        exports = session.scalars(sa.select(Export.id)).all()
        outbox = session.scalars(sa.select(OutboxMessage.purpose)).all()
    assert sorted(steps) == ["answer", "collect", "export", "resolve"]
    assert len(exports) == 1
    assert sorted(outbox) == ["answer", "code:email:1", "password"]
    actions = [e.action for e in AuditLog(service.db).events()]
    for step in ("resolve", "collect", "export", "answer"):
        assert actions.count(f"rights.step.{step}") == 1
    assert actions.count("rights.request.completed") == 1
    answers = [m for m in smtp_server.to("ada@example.com") if "ready" in m["Subject"]]
    assert len(answers) == 1
    service.db.dispose()
