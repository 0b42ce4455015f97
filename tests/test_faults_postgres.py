"""The fault suite, PostgreSQL: the database stopped while ``privacyops serve`` takes public
intake, then started again. Meanwhile every call answers 503 ``dependency_unavailable`` in the
one error shape (no 500, no traceback); once PostgreSQL is back the same server takes
submissions again without a restart, and nothing acknowledged is lost.

The shared test PostgreSQL is not touched: the test starts a private cluster of its own (same
binaries as ``scripts/services.sh``) on another port, and skips when they are missing."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from tests._faults import audit_verifies, start_serve

from _mailbox import free_port

pytestmark = [pytest.mark.fault, pytest.mark.slow]


def _pg_bin() -> str | None:
    found = [
        d
        for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if os.access(f"{d}/pg_ctl", os.X_OK)
    ]
    return found[-1] if found else None


class Cluster:
    """A private PostgreSQL cluster run as the ``postgres`` user."""

    def __init__(self, pg_bin: str, data: Path, port: int) -> None:
        self.pg_bin, self.data, self.port = pg_bin, data, port
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def _as_postgres(self, command: str) -> None:
        done = subprocess.run(
            ["su", "postgres", "-s", "/bin/sh", "-c", command],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def init(self) -> None:
        self._as_postgres(
            f"{self.pg_bin}/initdb -D '{self.data}' -U postgres --auth=trust -E UTF8 >/dev/null"
        )

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k '{self.data}' -c fsync=off -c max_connections=50"
        self._as_postgres(
            f"{self.pg_bin}/pg_ctl -D '{self.data}' -l '{self.data}/log' -w -o \"{options}\" start"
            " >/dev/null"
        )

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(f"{self.pg_bin}/pg_ctl -D '{self.data}' -m {mode} -w stop >/dev/null")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    pg_bin = _pg_bin()
    if pg_bin is None:
        pytest.skip("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are not installed")
    try:
        postgres = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no 'postgres' user to run a private PostgreSQL cluster as")
    if os.geteuid() != 0:
        pytest.skip("starting a private PostgreSQL cluster needs root (su postgres)")
    home = Path(tempfile.mkdtemp(prefix="privacyops-pg-"))
    os.chown(home, postgres.pw_uid, postgres.pw_gid)
    running = Cluster(pg_bin, home / "data", free_port())
    running.init()
    running.start()
    try:
        yield running
    finally:
        subprocess.run(
            [
                "su",
                "postgres",
                "-s",
                "/bin/sh",
                "-c",
                f"{pg_bin}/pg_ctl -D '{running.data}' -m immediate -w stop",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(home, ignore_errors=True)


def _submit(http: httpx.Client, n: int) -> httpx.Response:
    return http.post("/api/v1/intake/web_form", json={"email": f"pg{n}@example.com"})


def test_postgresql_stopped_mid_run_answers_503_then_work_resumes(
    tmp_path: Path, cluster: Cluster
) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    proc = start_serve(data_dir, port, PRIVACYOPS_DATABASE_URL=cluster.url)
    acknowledged: list[int] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for n in range(10):
                assert _submit(http, n).status_code == 202
                acknowledged.append(n)

            cluster.stop()
            down = [_submit(http, n) for n in range(100, 106)]
            down.append(
                http.get("/api/v1/rights/requests/r123", headers={"X-Request-Token": "t" * 20})
            )
            down.append(
                http.get(
                    "/api/v1/rights/staff/requests",
                    headers={"Authorization": "Bearer pops_" + "x" * 40},
                )
            )
            for answer in down:
                assert answer.status_code == 503, answer.text
                assert answer.headers["content-type"].startswith("application/json")
                assert answer.json() == {
                    "error": {
                        "code": "dependency_unavailable",
                        "message": answer.json()["error"]["message"],
                    }
                }
                assert "Traceback" not in answer.text
                assert "database" in answer.json()["error"]["message"]
            assert proc.poll() is None, "serve died with its database"

            cluster.start()
            deadline = time.monotonic() + 30
            n = 200
            while time.monotonic() < deadline:
                answer = _submit(http, n)
                if answer.status_code == 202:
                    acknowledged.append(n)
                    break
                assert answer.status_code == 503, answer.text
                n += 1
                time.sleep(0.2)
            else:
                raise AssertionError("intake did not resume after PostgreSQL came back")
            for n in range(300, 310):
                assert _submit(http, n).status_code == 202
                acknowledged.append(n)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    engine = sa.create_engine(cluster.url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM personal_data_records")).scalar_one()
    engine.dispose()
    assert stored == len(acknowledged)  # nothing of the refused calls, all of the acknowledged
    audit_verifies(data_dir, PRIVACYOPS_DATABASE_URL=cluster.url)
