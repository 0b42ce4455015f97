"""The fault suite, imports: ``kill -9`` of ``privacyops intake import`` at two points. Each
batch lands whole or not at all (with its audit events), the lines that landed are exactly
the file's first lines, so importing the rest finishes the job with every row stored once,
and ``privacyops audit verify`` passes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests._faults import audit_verifies, env

from privacyops.settings import Settings
from privacyops.store import open_database
from privacyops.store.registry import Registry

pytestmark = [pytest.mark.fault, pytest.mark.slow]

ROWS = 300
BATCH = 10
IMPORT = [sys.executable, "-m", "privacyops", "intake", "import"]


def _email(line: int) -> str:
    return f"imp{line}@example.com"


def _write(path: Path, lines: range) -> Path:
    path.write_text("".join(json.dumps({"email": _email(n)}) + "\n" for n in lines))
    return path


def _import(path: Path, data_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*IMPORT, str(path), "--channel", "customer", "--batch-size", str(BATCH)],
        env=env(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_kill_9_of_intake_import_lands_whole_batches_and_the_rest_imports_once(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    db = open_database(Settings(data_dir=data_dir))
    registry = Registry(db)
    count = sa.text("SELECT count(*) FROM personal_data_records")
    collected = sa.text("SELECT count(*) FROM audit_events WHERE action = 'record.collect'")

    def stored() -> int:
        with db.engine.connect() as conn:
            return int(conn.execute(count).scalar_one())

    first = 1
    for kill_above in (2 * BATCH, 12 * BATCH):  # early, and further in
        proc = _import(_write(tmp_path / f"from{first}.jsonl", range(first, ROWS + 1)), data_dir)
        try:
            deadline = time.monotonic() + 120
            while stored() < kill_above and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        landed = stored()
        assert landed < ROWS, "the import finished before it was killed"
        assert landed % BATCH == 0 or landed == ROWS, f"a partial batch landed: {landed}"
        # exactly the first lines landed: the last one that did, and not the next
        if landed:
            assert registry.find_subject("email", _email(landed)) is not None
        assert registry.find_subject("email", _email(landed + 1)) is None
        with db.engine.connect() as conn:
            assert conn.execute(collected).scalar_one() == landed  # each with its audit event
        first = landed + 1

    rest_file = _write(tmp_path / "rest.jsonl", range(first, ROWS + 1))
    rest = subprocess.run(
        [*IMPORT, str(rest_file), "--channel", "customer", "--batch-size", str(BATCH), "--json"],
        env=env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert rest.returncode == 0, rest.stderr
    assert stored() == ROWS
    for line in range(1, ROWS + 1):
        subject = registry.find_subject("email", _email(line))
        assert subject is not None, line
        assert len(registry.records_for(subject)) == 1, line
    with db.engine.connect() as conn:
        assert conn.execute(collected).scalar_one() == ROWS
    db.dispose()
    audit_verifies(data_dir)
