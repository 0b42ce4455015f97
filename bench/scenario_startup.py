"""Start-up of the command line and of the service (issue 14, item 5).

Each command runs as a new process, several times; the figures are medians of wall time, with
the CPU time the process used beside them (on a busy machine wall time waits for a core, CPU
time much less so). Baseline in the same run: ``python -c pass``, the cost of starting Python
itself; the ratios divide by it.

- ``privacyops --help``: target <= 0.3 s on a quiet machine.
- ``privacyops policy lint`` on the embedded seed policy: target <= 1 s.
- ``privacyops serve`` to its first ``/healthz`` answer on the embedded default: target <= 2 s;
  measured on a fresh data dir (creates the database, keys and first admin) and on a restart.

Every process gets its own working directory and no ``PRIVACYOPS_*`` variable from outside.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
TARGETS = {"--help": 0.3, "policy lint": 1.0, "serve": 2.0}


def _env(data_dir: Path, port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVACYOPS_")}
    env["PYTHONPATH"] = str(SRC)
    env["PRIVACYOPS_DATA_DIR"] = str(data_dir)
    env["PRIVACYOPS_LOG_LEVEL"] = "WARNING"
    if port is not None:
        env["PRIVACYOPS_PORT"] = str(port)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _command(argv: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``argv`` to its exit."""
    before = os.times()
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=_env(cwd / "data"), capture_output=True, check=False)
    wall = time.perf_counter() - started
    after = os.times()
    if done.returncode not in ok:
        raise RuntimeError(f"{argv[3:]} exited {done.returncode}: {done.stderr[-500:]!r}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu


def _serve(cwd: Path) -> tuple[float, float]:
    """Wall seconds from start to the first ``/healthz`` answer, and CPU used until then."""
    port = _free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "privacyops", "serve"],
        cwd=cwd,
        env=_env(cwd / "data", port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("privacyops serve did not answer /healthz")
            time.sleep(0.01)
        wall = time.perf_counter() - started
        return wall, _cpu_of(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)


def _medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in samples), statistics.median(c for _, c in samples)


def run(quick: bool) -> list[tuple[str, float, str]]:
    runs = 3 if quick else 7
    python = [sys.executable]
    module = [sys.executable, "-m", "privacyops"]
    out: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="pops-bench-startup-") as tmp:
        root = Path(tmp)
        # Warm-up: bytecode caches written, the page cache holds the files.
        _command([*module, "--help"], root)
        _command([*module, "policy", "lint"], root, ok=(0, 1))

        base_wall, base_cpu = _medians(
            [_command([*python, "-c", "pass"], root) for _ in range(runs)]
        )
        out.append(("baseline: python -c pass, wall", base_wall, "s"))
        out.append(("baseline: python -c pass, CPU", base_cpu, "s"))

        measured = {
            "--help": _medians([_command([*module, "--help"], root) for _ in range(runs)]),
            "policy lint": _medians(
                # The seed policy has findings on purpose: exit 1 is its normal answer.
                [_command([*module, "policy", "lint"], root, ok=(0, 1)) for _ in range(runs)]
            ),
        }
        fresh = []
        for i in range(runs):
            folder = root / f"fresh-{i}"
            folder.mkdir()
            fresh.append(_serve(folder))
        measured["serve"] = _medians(fresh)
        restart = root / "fresh-0"
        measured["serve (restart)"] = _medians([_serve(restart) for _ in range(runs)])

        for name, (wall, cpu) in measured.items():
            target = TARGETS.get(name.split(" (")[0])
            label = f"privacyops {name}" + (" to first /healthz" if "serve" in name else "")
            goal = f" (target <= {target:g} s)" if target is not None else ""
            out.append((f"{label}, wall{goal}", wall, "s"))
            out.append((f"{label}, CPU", cpu, "s"))
            out.append((f"{label}, wall / baseline", wall / base_wall, "x"))
    return out
