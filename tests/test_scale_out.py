"""Scaled out for real: 2 web processes (``privacyops serve``) + 2 Celery workers
(``privacyops worker``) + ``privacyops beat`` on PostgreSQL and Redis. Requests of several
types are made over HTTP (codes read from a local SMTP server) while intake and consent writes
go on in parallel; one worker is killed with SIGKILL mid-run. Every request completes, each
step once; every acknowledged write is stored; ``privacyops audit verify`` passes.

Marked slow (about two minutes on a busy 2-core machine)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from tests._rights import decide_recipients, last_code
from tests._web import wait_for
from tests.conftest import SmtpSink
from tests.test_rights_workflow import ingest

from privacyops.rights.factory import build_service
from privacyops.settings import Settings
from privacyops.store import open_database

REDIS = os.environ.get("PRIVACYOPS_TEST_REDIS_URL")
PG = os.environ.get("PRIVACYOPS_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        REDIS is None or PG is None, reason="needs PostgreSQL and Redis (make test starts them)"
    ),
]
SRC = Path(__file__).resolve().parents[1] / "src"
SITE = "https://www.example.com"
PEOPLE = 60  # requests: erasure, access (with its PDF) and portability, a third each
INTAKE = 40
CONSENT = 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """The processes of the deployment, each logging to a file of its own."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp, self.env = tmp, env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: list[int] = []

    def start(self, name: str, *args: str) -> None:
        with (self.tmp / f"{name}.log").open("wb") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "privacyops", *args],
                env=self.env,
                cwd=self.tmp,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # SIGKILL to the group kills a worker's children too
            )

    def web(self, name: str) -> None:
        port = free_port()
        self.ports.append(port)
        self.start(name, "serve", "--port", str(port))

    def kill(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait(30)

    def stop(self) -> str:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()  # the main process: a worker stops its pool itself
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        return "\n".join(
            f"--- {name}\n{(self.tmp / f'{name}.log').read_text(errors='replace')[-3000:]}"
            for name in self.procs
        )


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_web_processes_two_workers_and_a_beat_survive_a_killed_worker(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink
) -> None:
    pg_url = db_url
    data = tmp_path / "data"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRIVACYOPS_")},
        "PYTHONPATH": str(SRC),
        "PRIVACYOPS_DATA_DIR": str(data),
        "PRIVACYOPS_DATABASE_URL": pg_url,
        "PRIVACYOPS_SMTP_PORT": str(smtp_server.port),
        "PRIVACYOPS_SECOND_FACTOR": "none",
        "PRIVACYOPS_CELERY_BROKER_URL": str(REDIS),
        "PRIVACYOPS_CELERY_QUEUE": f"privacyops-test-{uuid.uuid4().hex[:10]}",
        "PRIVACYOPS_RUNNER_ENABLED": "false",
        "PRIVACYOPS_RIGHTS_LEASE_SECONDS": "5",  # a dead worker's request is resumed soon
        "PRIVACYOPS_RIGHTS_SUBMIT_PER_HOUR": "100000",
        "PRIVACYOPS_RIGHTS_FAILURES_PER_HOUR": "100000",
        "PRIVACYOPS_PUBLIC_FORM_POSTS_PER_MINUTE": "100000",
        "PRIVACYOPS_INTAKE_RATE_LIMIT_PER_MINUTE": "100000",
        "PRIVACYOPS_CONSENT_RATE_LIMIT": "100000",
        "PRIVACYOPS_SITE_ORIGINS": f'["{SITE}"]',
        "PRIVACYOPS_LOG_LEVEL": "WARNING",
    }
    settings = Settings(
        data_dir=data, database_url=pg_url, smtp_port=smtp_server.port, second_factor="none"
    )
    db = open_database(settings)  # migrates and writes the master key every process shares
    service = build_service(settings, db=db)
    emails = [f"person{i}@example.com" for i in range(PEOPLE)]
    for email in emails:
        ingest(service, email, phone=None)
    kinds = ["erasure", "access", "portability"]
    cluster = Cluster(tmp_path, env)
    try:
        cluster.web("web1")
        cluster.web("web2")
        cluster.start("worker1", "worker", "--concurrency", "1")
        cluster.start("worker2", "worker", "--concurrency", "1")
        cluster.start("beat", "beat")
        bases = [f"http://127.0.0.1:{port}" for port in cluster.ports]
        http = httpx.Client(timeout=60)

        def up() -> bool:
            try:
                return all(http.get(f"{b}/healthz").status_code == 200 for b in bases)
            except httpx.TransportError:
                return False

        assert wait_for(up, 90), cluster.stop()
        consent_config = http.get(f"{bases[0]}/api/v1/consent/config?lang=en").json()
        acknowledged_consent: list[str] = []
        acknowledged_intake: list[str] = []
        lock = threading.Lock()

        def consent(i: int) -> None:
            config = consent_config
            categories = {c["id"]: c["id"] == "necessary" for c in config["categories"]}
            body = {
                "visitor_id": f"{i:032x}",
                "action": "reject",
                "categories": categories,
                "vendors": {
                    v["id"]: categories[c["id"]] for c in config["categories"] for v in c["vendors"]
                },
                "banner_version": config["banner_version"],
                "policy_version": config["policy_version"],
                "language": config["language"],
                "text_hash": config["text_hash"],
                "page_url": f"{SITE}/",
                "gpc": False,
            }
            answer = http.post(
                f"{bases[i % 2]}/api/v1/consent", json=body, headers={"Origin": SITE}
            )
            if answer.status_code == 201:
                with lock:
                    acknowledged_consent.append(str(answer.json()["record_id"]))

        def intake(i: int) -> None:
            email = f"lead{i}@example.com"
            answer = http.post(
                f"{bases[i % 2]}/api/v1/intake/web_form",
                json={"name": f"Lead {i}", "email": email, "request_details": "A quote"},
            )
            if answer.status_code in (201, 202):
                with lock:
                    acknowledged_intake.append(email)

        def request(i: int) -> tuple[str, str]:
            base, email = bases[i % 2], emails[i]
            body: dict[str, Any] = {"type": kinds[i % 3], "email": email}
            receipt = http.post(f"{base}/api/v1/rights/requests", json=body)
            assert receipt.status_code in (200, 201, 202), receipt.text
            ref, token = receipt.json()["request_id"], receipt.json()["token"]
            assert wait_for(lambda: bool(smtp_server.to(email)), 60)
            verified = http.post(
                f"{bases[(i + 1) % 2]}/api/v1/rights/requests/{ref}/verify",
                json={"code": last_code(smtp_server, email)},
                headers={"X-Request-Token": token},
            )
            assert verified.status_code == 200, verified.text
            return ref, kinds[i % 3]

        with ThreadPoolExecutor(max_workers=6) as pool:
            writes = [pool.submit(consent, i) for i in range(CONSENT)]
            writes += [pool.submit(intake, i) for i in range(INTAKE)]
            made = [pool.submit(request, i) for i in range(PEOPLE // 3)]
            refs = [f.result() for f in made]
            cluster.kill("worker1")  # mid-run: requests queued and running on it
            made = [pool.submit(request, i) for i in range(PEOPLE // 3, PEOPLE)]
            refs += [f.result() for f in made]
            for f in writes:
                f.result()

        def states() -> dict[str, str]:
            with db.session() as session:
                return dict(
                    session.execute(sa.text("SELECT public_id, state FROM rights_requests")).all()
                )

        def all_completed() -> bool:
            now = states()
            for ref, state in now.items():
                if state == "awaiting_review":  # the DPO's Art. 19 decision on recipients
                    decide_recipients(service, ref)
            return set(now.values()) == {"completed"}

        assert wait_for(all_completed, 150), (
            states(),
            cluster.stop(),
        )
        by_ref = states()
        assert {ref for ref, _ in refs} == set(by_ref)
        assert len(by_ref) == PEOPLE
        with db.session() as session:
            twice = session.execute(
                sa.text(
                    "SELECT request_id, step, count(*) FROM rights_steps "
                    "GROUP BY request_id, step HAVING count(*) > 1"
                )
            ).all()
            completed_events = session.execute(
                sa.text(
                    "SELECT count(*) FROM audit_events WHERE action = 'rights.request.completed'"
                )
            ).scalar_one()
            stored_consent = set(
                session.scalars(sa.text("SELECT record_id FROM consent_records")).all()
            )
        assert twice == []  # each step ran once
        assert completed_events == sum(s == "completed" for s in by_ref.values())
        assert len(acknowledged_consent) == CONSENT
        assert set(acknowledged_consent) <= stored_consent
        assert len(acknowledged_intake) == INTAKE
        from privacyops.store.registry import Registry

        registry = Registry(db)
        assert wait_for(
            lambda: all(registry.find_subject("email", e) for e in acknowledged_intake), 60
        )
    finally:
        output = cluster.stop()
    verify = subprocess.run(
        [sys.executable, "-m", "privacyops", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    db.dispose()
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "Traceback" not in output.replace("--- worker1", ""), output
