"""Scaled out: a real Celery worker (a separate process, Redis as broker) runs the same jobs as
``privacyops serve``'s scheduler — every job of the registry, one request's steps — on the same
database, and a request verified over HTTP is handed to it at once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from celery import Celery
from fastapi.testclient import TestClient
from tests._rights import decide_recipients, last_code, submit_and_verify
from tests._web import database, make_app, wait_for
from tests.conftest import SmtpSink
from tests.test_rights_workflow import ingest

from privacyops.jobs import JOBS, dispatch
from privacyops.retention.models import RetentionRun
from privacyops.rights.factory import build_service
from privacyops.rights.models import RightsRequest
from privacyops.rights.service import RightsService
from privacyops.settings import Settings
from privacyops.store import open_database
from privacyops.store.registry import IdentityIn, RecordIn, Registry, Submission

REDIS = os.environ.get("PRIVACYOPS_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(
    REDIS is None, reason="PRIVACYOPS_TEST_REDIS_URL not set (make test starts Redis and sets it)"
)
SRC = Path(__file__).resolve().parents[1] / "src"


class Worker:
    """``celery -A privacyops.jobs.celery_app worker`` on a queue of its own."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.queue = f"privacyops-test-{uuid.uuid4().hex[:10]}"
        self.log = log
        self.client = Celery(broker=REDIS)
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "privacyops.jobs.celery_app",
                    "worker",
                    "--pool=solo",
                    "--queues",
                    self.queue,
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel=INFO",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def succeeded(self, task: str) -> bool:
        """True once the worker's log shows ``task`` succeeded (Celery's INFO line)."""
        return re.search(rf"Task {re.escape(task)}\[[^\]]+\] succeeded", self.output()) is not None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def send(self, task: str, *args: object) -> None:
        self.client.send_task(task, args=list(args), queue=self.queue)

    def stop(self) -> str:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.client.close()
        return self.log.read_text(errors="replace")


def worker_env(data: Path, db_url: str, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "PRIVACYOPS_DATA_DIR": str(data),
        "PRIVACYOPS_DATABASE_URL": db_url,
        "PRIVACYOPS_SMTP_PORT": str(smtp_port),
        "PRIVACYOPS_SECOND_FACTOR": "none",
        "PRIVACYOPS_CELERY_BROKER_URL": str(REDIS),
    }


@pytest.fixture
def setup(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink
) -> Iterator[tuple[RightsService, Worker]]:
    data = tmp_path / "data"
    settings = Settings(
        data_dir=data,
        database_url=db_url,
        smtp_port=smtp_server.port,
        second_factor="none",
        runner_enabled=False,
    )
    service = build_service(settings, db=open_database(settings))  # writes the master key
    worker = Worker(worker_env(data, db_url, smtp_server.port), tmp_path / "worker.log")
    try:
        yield service, worker
    finally:
        output = worker.stop()
        service.db.dispose()
        assert "Traceback" not in output, output


def state(service: RightsService, public_id: str) -> str | None:
    with service.db.session() as s:
        return s.scalar(sa.select(RightsRequest.state).where(RightsRequest.public_id == public_id))


def test_a_worker_runs_requests_and_the_retention_sweep(
    setup: tuple[RightsService, Worker], smtp_server: SmtpSink
) -> None:
    service, worker = setup
    registry = Registry(service.db)
    ingest(service, "ada@example.com", phone=None)
    ingest(service, "grace@example.com", phone=None)
    erasure = submit_and_verify(service, smtp_server, "erasure", "ada@example.com", phone=None)
    access = submit_and_verify(service, smtp_server, "access", "grace@example.com", phone=None)
    with service.db.session() as s:
        erasure_id = s.scalar(
            sa.select(RightsRequest.id).where(RightsRequest.public_id == erasure.request_id)
        )

    # one request's steps, as the web tier would hand it to a worker
    worker.send("privacyops.rights.process", erasure_id)
    # erased; the answer waits for the DPO's Art. 19 decisions on recipients with no address
    assert wait_for(lambda: state(service, erasure.request_id) == "awaiting_review"), worker.stop()
    decide_recipients(service, erasure.request_id)
    worker.send("privacyops.rights.process", erasure_id)
    assert wait_for(lambda: state(service, erasure.request_id) == "completed"), worker.stop()
    assert registry.find_subject("email", "ada@example.com") is None
    assert wait_for(
        lambda: any("answered" in m["Subject"] for m in smtp_server.to("ada@example.com"))
    )

    # the beat's tick: whatever is runnable (the access request), and the queued messages
    worker.send("privacyops.rights.tick")
    assert wait_for(lambda: state(service, access.request_id) == "completed"), worker.stop()
    ready = "your data is ready"
    assert wait_for(lambda: any(ready in m["Subject"] for m in smtp_server.to("grace@example.com")))

    # the daily sweep: a web-form record of 2015 is past the policy's six years
    old, _ = registry.ingest(
        Submission(
            [IdentityIn("email", "old@example.com")],
            RecordIn(
                channel="web_form",
                legal_basis="consent",
                policy_version="v3",
                data_categories=["name", "email"],
                purposes=["answer-request"],
                payload={"name": "Old Contact"},
                collected_at=datetime(2015, 3, 1, tzinfo=UTC),
            ),
        )
    )
    worker.send("privacyops.retention.sweep")

    def swept() -> bool:
        with service.db.session() as s:
            return (
                s.scalar(
                    sa.select(sa.func.count(RetentionRun.id)).where(
                        RetentionRun.state == "finished", RetentionRun.actor == "job:retention"
                    )
                )
                or 0
            ) > 0

    assert wait_for(swept), worker.stop()
    assert registry.find_subject("email", "old@example.com") is None
    assert registry.find_subject("email", "grace@example.com") is not None
    assert registry.get_subject(old.public_id).erased_at is not None


def test_every_job_of_the_registry_runs_on_a_worker(setup: tuple[RightsService, Worker]) -> None:
    _, worker = setup
    for spec in JOBS:
        worker.send(spec.task)
    for spec in JOBS:
        assert wait_for(lambda task=spec.task: worker.succeeded(task)), worker.output()


def test_a_request_verified_over_http_is_handed_to_a_worker_at_once(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(
        tmp_path,
        db_url,
        smtp_port=smtp_server.port,
        second_factor="none",
        runner_enabled=False,  # scaled out: no scheduler in the web process
        celery_broker_url=REDIS,
    )
    ingest(build_service(app.state.settings, db=database(app)), "ada@example.com", phone=None)
    worker = Worker(worker_env(tmp_path / "data", db_url, smtp_server.port), tmp_path / "w.log")
    monkeypatch.setattr(dispatch, "QUEUE", worker.queue)  # this test's worker only
    try:
        client = TestClient(app)
        receipt = client.post(
            "/api/v1/rights/requests", json={"type": "erasure", "email": "ada@example.com"}
        ).json()
        headers = {"X-Request-Token": receipt["token"]}
        url = f"/api/v1/rights/requests/{receipt['request_id']}"
        verified = client.post(
            f"{url}/verify",
            json={"code": last_code(smtp_server, "ada@example.com")},
            headers=headers,
        )
        assert verified.json()["state"] == "verified"
        # no beat and no tick sent: only the dispatch can have started it (it erased, and
        # now waits for the DPO's Art. 19 decisions on recipients with no address)
        assert wait_for(
            lambda: client.get(url, headers=headers).json()["state"] == "awaiting_review"
        ), worker.output()
        assert wait_for(lambda: worker.succeeded("privacyops.rights.process"))
        assert not worker.succeeded("privacyops.rights.tick")
        assert Registry(database(app)).find_subject("email", "ada@example.com") is None
    finally:
        output = worker.stop()
        database(app).dispose()
    assert "Traceback" not in output, output
