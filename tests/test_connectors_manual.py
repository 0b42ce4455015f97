"""Manual and e-mail connectors: staff tasks and processor e-mails tracked to an answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from _mailbox import Mailbox, free_port, smtp_server
from privacyops.audit import AuditLog
from privacyops.connectors import (
    ManualConnector,
    TaskSystem,
    cancel_tasks,
    complete_task,
    list_tasks,
    load_connectors,
    remind_tasks,
)
from privacyops.errors import InvalidTransition
from privacyops.settings import Settings
from privacyops.store import Database, utcnow

TRELLO = """\
connector:
  name: trello
  type: manual
  system: Trello
  processor: trello
  checklist:
    erasure: ["Search boards for the person's e-mail", "Delete the cards", "Empty the archive"]
"""
GMAIL = """\
connector:
  name: gmail
  type: email
  system: Gmail
  processor: gmail
  to: privacy@processor.example
"""


@pytest.fixture
def db(db_url: str) -> Database:
    database = Database(db_url, master_key=b"k" * 32)
    database.upgrade()
    return database


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[tuple[Mailbox, Settings]]:
    with smtp_server() as (box, port):
        folder = tmp_path / "connectors"
        folder.mkdir()
        (folder / "trello.yml").write_text(TRELLO)
        (folder / "gmail.yml").write_text(GMAIL)
        yield box, Settings(data_dir=tmp_path / "d", smtp_port=port, connectors_dir=folder)


def test_manual_task_is_pending_until_staff_record_the_answer(
    db: Database, mail: tuple[Mailbox, Settings]
) -> None:
    box, settings = mail
    _, trello = load_connectors(settings, db)
    assert isinstance(trello, ManualConnector)
    assert isinstance(trello, TaskSystem)
    result = trello.erase({"email": "ada@example.com"}, request_ref="REQ-1", subject_ref="s-1")
    assert result.status == "pending"
    assert result.connector == "Trello"
    (task,) = list_tasks(db, request_ref="REQ-1")
    assert [c["step"] for c in task.checklist][1] == "Delete the cards"
    assert task.status == "open"
    assert box.messages == []  # manual: no e-mail
    # asking again does not open a second task
    trello.erase({"email": "ada@example.com"}, request_ref="REQ-1", subject_ref="s-1")
    assert len(list_tasks(db)) == 1
    told: list[tuple[bool, str]] = []  # the caller learns of it in the same transaction
    complete_task(
        db,
        task.id,
        outcome="3 cards deleted",
        actor="staff:dpo",
        on_done=lambda session, ref: told.append((session.in_transaction(), ref)),
    )
    assert told == [(True, "REQ-1")]
    done = trello.erase({"email": "ada@example.com"}, request_ref="REQ-1")
    assert done.status == "done"
    assert "3 cards deleted" in done.note
    with pytest.raises(InvalidTransition):
        complete_task(db, task.id, outcome="again", actor="staff:dpo")
    actions = [e.action for e in AuditLog(db).tail(10)]
    assert "connector.task_opened" in actions
    assert "connector.task_done" in actions


def test_email_connector_writes_to_the_processor_and_reminds(
    db: Database, mail: tuple[Mailbox, Settings]
) -> None:
    box, settings = mail
    gmail, _ = load_connectors(settings, db)
    result = gmail.access({"email": "ada@example.com"}, request_ref="REQ-2", subject_ref="s-2")
    assert result.status == "pending"
    assert len(box.messages) == 1
    msg = box.messages[0]
    assert msg["To"] == "privacy@processor.example"
    assert "[REQ-2]" in msg["Subject"]
    assert "email: ada@example.com" in box.bodies()[0]
    (task,) = list_tasks(db)
    assert task.status == "sent"
    # not yet due
    assert remind_tasks(db, settings, [gmail.spec], now=utcnow()) == 0
    later = utcnow() + timedelta(days=settings.notice_reminder_days, minutes=1)
    assert remind_tasks(db, settings, [gmail.spec], now=later) == 1
    assert box.messages[-1]["Subject"].startswith("Reminder:")
    assert "ada@example.com" not in box.bodies()[-1]  # reminders quote only the reference
    complete_task(db, task.id, outcome="processor confirmed: no data held", actor="staff:dpo")
    assert gmail.access({"email": "x"}, request_ref="REQ-2").status == "done"


def test_smtp_down_keeps_the_task_open_and_retries(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "gmail.yml").write_text(GMAIL)
    down = Settings(data_dir=tmp_path / "d", smtp_port=free_port(), connectors_dir=folder)
    (gmail,) = load_connectors(down, db)
    assert gmail.erase({"email": "ada@example.com"}, request_ref="R3").status == "pending"
    (task,) = list_tasks(db)
    assert task.status == "open"  # nothing pretends the e-mail went
    with smtp_server() as (box, port):
        up = Settings(data_dir=tmp_path / "d", smtp_port=port, connectors_dir=folder)
        assert isinstance(gmail, ManualConnector)
        assert remind_tasks(db, up, [gmail.spec]) == 1
        assert len(box.messages) == 1
        # the first message, sent late, still says whom it is about
        assert "email: ada@example.com" in box.bodies()[0]
    assert list_tasks(db)[0].status == "sent"


def test_withdrawn_request_cancels_its_tasks(db: Database, mail: tuple[Mailbox, Settings]) -> None:
    _, settings = mail
    _, trello = load_connectors(settings, db)
    trello.access({"email": "a@b.c"}, request_ref="R4")
    assert cancel_tasks(db, "R4", actor="opendsr") == 1
    assert list_tasks(db, request_ref="R4")[0].status == "cancelled"


def test_cli_lists_tasks_and_records_an_answer(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    from privacyops.store import open_database

    folder = tmp_path / "connectors"
    folder.mkdir()
    (folder / "trello.yml").write_text(TRELLO)
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
        "PRIVACYOPS_DATA_DIR": str(tmp_path / "data"),
        "PRIVACYOPS_CONNECTORS_DIR": str(folder),
    }
    settings = Settings(data_dir=tmp_path / "data", connectors_dir=folder)
    db = open_database(settings)
    (trello,) = load_connectors(settings, db)
    trello.erase({"email": "ada@example.com"}, request_ref="REQ-CLI")
    db.dispose()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "privacyops", "connectors", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    listed = cli("list")
    assert listed.returncode == 0, listed.stderr
    assert "Trello" in listed.stdout
    shown = cli("tasks", "--json")
    (task,) = json.loads(shown.stdout)
    assert task["request"] == "REQ-CLI"
    assert task["checklist"][1]["step"] == "Delete the cards"
    answered = cli("done", str(task["id"]), "--outcome", "2 cards deleted")
    assert answered.returncode == 0, answered.stderr
    assert json.loads(cli("tasks", "--json").stdout) == []
    again = cli("done", str(task["id"]), "--outcome", "again")
    assert again.returncode == 4  # InvalidTransition → Conflict's exit code
    assert "Traceback" not in again.stderr
