"""Helpers of the fault suites: ``privacyops`` commands as real processes on a data folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

SRC = Path(__file__).resolve().parents[1] / "src"


def env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a command on ``data_dir``; ``extra`` are PRIVACYOPS_* settings."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRIVACYOPS_")},
        "PYTHONPATH": os.environ.get("PYTHONPATH", str(SRC)),
        "PRIVACYOPS_DATA_DIR": str(data_dir),
        "PRIVACYOPS_INTAKE_RATE_LIMIT_PER_MINUTE": "1000000",
        "PRIVACYOPS_RUNNER_ENABLED": "false",
        **extra,
    }


def start_serve(data_dir: Path, port: int, **extra: str) -> subprocess.Popen[bytes]:
    """``privacyops serve`` on ``port``, once ``/healthz`` answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "privacyops", "serve"],
        env=env(data_dir, PRIVACYOPS_PORT=str(port), **extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, "serve ended at start"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("serve did not start")


def audit_verifies(data_dir: Path, **extra: str) -> None:
    """``privacyops audit verify`` passes, without a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "privacyops", "audit", "verify"],
        env=env(data_dir, **extra),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
