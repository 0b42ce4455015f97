"""``privacyops serve`` on a fresh machine: no configuration, first admin, URLs, health."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from _mailbox import free_port
from privacyops.cli.serve import bootstrap_admin
from privacyops.settings import Settings
from privacyops.store import open_database

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.mark.slow
def test_serve_starts_on_a_fresh_data_dir_and_prints_how_to_log_in(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRIVACYOPS_")},
        "PYTHONPATH": str(SRC),
        "PRIVACYOPS_DATA_DIR": str(tmp_path / "data"),
        "PRIVACYOPS_PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "privacyops", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("serve did not answer /healthz within 60 s")
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 401
        login = httpx.get(f"http://127.0.0.1:{port}/login")
        assert login.status_code == 200
        assert login.headers["x-frame-options"] == "DENY"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/privacy" in out
    assert f"http://127.0.0.1:{port}/login" in out
    assert (
        "mail is not sent: no SMTP server configured; "
        f"read it at http://127.0.0.1:{port}/dashboard/outbox"
    ) in out
    match = re.search(r"first admin\s+admin@localhost / (\S+)", out)
    assert match, out
    assert (tmp_path / "data" / "privacyops.sqlite").is_file()
    assert (tmp_path / "data" / "master.key").is_file()
    assert "Traceback" not in out


def test_first_admin_is_created_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    db = open_database(settings)
    password = bootstrap_admin(db, settings)
    assert password is not None
    assert len(password) >= 20
    assert bootstrap_admin(db, settings) is None
    db.dispose()
