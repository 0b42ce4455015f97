"""Bulk import (CSV, JSON Lines) and the ``privacyops intake`` / ``privacyops spam`` commands, on
SQLite and PostgreSQL: original timestamps kept, refused rows named by line, a failing batch
reported with exactly the lines that landed."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from privacyops.audit import AuditLog
from privacyops.cli.app import app
from privacyops.intake.importer import read_rows
from privacyops.intake.service import IntakeService
from privacyops.policy import default_policy_book
from privacyops.settings import Settings, reset_settings
from privacyops.store import Database
from privacyops.store.registry import Registry

runner = CliRunner()


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI's settings point at the test database."""
    monkeypatch.setenv("PRIVACYOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("PRIVACYOPS_DATA_DIR", str(tmp_path / "data"))
    reset_settings()
    yield db_url
    reset_settings()


def open_db(tmp_path: Path) -> Database:
    from privacyops.store import open_database

    return open_database(Settings())


def record_count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM personal_data_records")).scalar_one())


CSV = (
    "name,email,phone,company,collected_at,last_contact_at,source_system,marketing_consent,age\n"
    "Ann One,ann@example.com,+47 21 92 93 00,Acme,2020-01-02T03:04:05Z,2021-02-03,crm,yes,40\n"
    "Bad Mail,not-an-email,,Acme,2020-01-02,,,,\n"
    "\n"
    "Kid,kid@example.com,,,2020-01-02,,,,12\n"
    "Extra,extra@example.com,,,2020-01-02,,,,,surplus\n"
    '"Multi\nLine",multi@example.com,,,2019-05-05,,,,\n'
    "Robert'); DROP TABLE personal_data_records;--,bobby@example.com,,,,,,,\n"
)


def test_csv_import_keeps_timestamps_and_names_refused_lines(env: str, tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(CSV)
    out = runner.invoke(app, ["intake", "import", str(path), "--channel", "contact", "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert summary["rows"] == 6
    assert summary["stored"] == 2
    refused = {r["line"]: r["code"] for r in summary["refused"]}
    # line 7 is a quoted name over two lines: a name may not hold a line break
    assert refused == {
        3: "invalid_input",
        5: "age_gate_refused",
        6: "malformed_row",
        7: "invalid_input",
    }
    assert summary["landed_lines"] == "2, 9"
    assert "not-an-email" not in out.output  # reasons never repeat the values

    db = open_db(tmp_path)
    try:
        registry = Registry(db)
        subject = registry.find_subject("email", "ann@example.com")
        assert subject is not None
        [record] = registry.records_for(subject)
        assert record.collected_at.isoformat() == "2020-01-02T03:04:05+00:00"
        assert record.last_contact_at is not None
        assert record.last_contact_at.isoformat() == "2021-02-03T00:00:00+00:00"
        assert record.source_system == "crm"
        assert "age" not in (record.payload or {})
        bobby = registry.find_subject("email", "bobby@example.com")
        assert bobby is not None
        [bobby_record] = registry.records_for(bobby)
        assert bobby_record.payload is not None
        assert bobby_record.payload["name"] == "Robert'); DROP TABLE personal_data_records;--"
        assert bobby_record.source_system == "import:crm.csv"
        assert registry.find_subject("email", "kid@example.com") is None
        assert AuditLog(db).verify().ok
    finally:
        db.dispose()


def test_csv_with_an_undeclared_column_imports_nothing(env: str, tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("email,shoe_size\na@example.com,44\n")
    out = runner.invoke(app, ["intake", "import", str(path), "--channel", "web_form"])
    assert out.exit_code != 0
    db = open_db(tmp_path)
    try:
        assert record_count(db) == 0
    finally:
        db.dispose()


def test_jsonl_import_refuses_malformed_lines(env: str, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [
        json.dumps({"email": "a@example.com", "last_event_registration_at": "2022-09-01"}),
        '{"email": "broken@example.com",',
        "[1, 2, 3]",
        json.dumps({"email": "b@example.com", "linkedin_profile": "linkedin.com/in/b"}),
        json.dumps({"email": "c@example.com", "call_duration": 5}),
        json.dumps({"email": "d@example.com", "name": 12}),
    ]
    path.write_text("\n".join(lines) + "\n")
    out = runner.invoke(app, ["intake", "import", str(path), "--channel", "event", "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert summary["stored"] == 2
    refused = {r["line"]: r for r in summary["refused"]}
    assert set(refused) == {2, 3, 5, 6}
    assert refused[2]["code"] == "malformed_row"
    assert "JSON" in refused[2]["message"]
    assert refused[5]["code"] == "undeclared_data"
    assert "'call_duration'" in refused[5]["message"]
    assert refused[6]["code"] == "invalid_input"


def test_human_summary_and_progress(env: str, tmp_path: Path) -> None:
    path = tmp_path / "forms.csv"
    path.write_text("email,name\nok@example.com,Ok\nbad,Bad\n")
    out = runner.invoke(app, ["intake", "import", str(path), "--channel", "web_form"])
    assert out.exit_code == 0, out.output
    assert "1 stored" in out.output
    assert "1 refused" in out.output
    assert "Lines landed: 2" in out.output


def _make_failing_trigger(db: Database) -> None:
    """A real database failure for one row (no mock): records from source 'boom' abort."""
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            conn.execute(
                sa.text(
                    "CREATE TRIGGER boom BEFORE INSERT ON personal_data_records "
                    "WHEN NEW.source_system = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END"
                )
            )
        else:
            conn.execute(
                sa.text(
                    "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.source_system = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                sa.text(
                    "CREATE TRIGGER boom BEFORE INSERT ON personal_data_records "
                    "FOR EACH ROW EXECUTE FUNCTION boom()"
                )
            )


def test_an_import_failing_midway_says_exactly_which_lines_landed(
    db_url: str, tmp_path: Path
) -> None:
    db = Database(db_url, master_key=os.urandom(32))
    db.upgrade()
    try:
        _make_failing_trigger(db)
        service = IntakeService(
            db, Registry(db), AuditLog(db), default_policy_book(), settings=Settings()
        )
        path = tmp_path / "c.jsonl"
        rows = [{"email": f"p{i}@example.com"} for i in range(1, 8)]
        rows[1] = {"email": "bad"}
        rows[4]["source_system"] = "boom"
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
        summary = service.import_rows("customer", read_rows(path, "jsonl"), batch_size=2)
        assert not summary.ok
        # batches: lines (1, 3), (4, 5) -> line 5 aborts the second batch as a whole
        assert summary.landed_text() == "1, 3"
        assert summary.failed_at == 4
        assert summary.error is not None
        assert [r.line for r in summary.refused] == [2]
        assert record_count(db) == 2
        assert AuditLog(db).verify().events_checked == 2
    finally:
        db.dispose()


def test_submit_command_and_spam_review(env: str, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"email": "cli@example.com", "call_duration": "03:00"}))
    out = runner.invoke(app, ["intake", "submit", "contact", "--json", str(good)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["status"] == "stored"

    out = runner.invoke(app, ["spam", "rule", "keyword", "casino"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["spam", "block", "domain", "Spam.Example"])
    assert out.exit_code == 0, out.output
    spammy = tmp_path / "spam.json"
    spammy.write_text(json.dumps({"email": "x@example.com", "request_details": "Online CASINO"}))
    out = runner.invoke(app, ["intake", "submit", "web_form", "--json", str(spammy)])
    assert json.loads(out.output)["status"] == "quarantined"
    qid = json.loads(out.output)["quarantine_id"]

    out = runner.invoke(app, ["spam", "list", "--json"])
    assert [i["id"] for i in json.loads(out.output)] == [qid]
    out = runner.invoke(app, ["spam", "show", qid])
    assert json.loads(out.output)["payload"]["request_details"] == "Online CASINO"
    out = runner.invoke(app, ["spam", "reject", qid, "--block"])
    assert out.exit_code == 0, out.output
    assert "blocklist entries added" in out.output
    out = runner.invoke(app, ["spam", "blocklist", "--json"])
    values = {b["value"] for b in json.loads(out.output)}
    assert values == {"spam.example", "x***@example.com"}
    out = runner.invoke(app, ["spam", "list", "--status", "rejected", "--json"])
    assert json.loads(out.output)[0]["status"] == "rejected"
    out = runner.invoke(app, ["spam", "rules", "--json"])
    assert json.loads(out.output)[0]["pattern"] == "casino"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"email": ', "not valid JSON"),
        ('["a"]', "JSON object"),
        ('{"email": "a@example.com", "nickname": "x"}', "'nickname'"),
    ],
)
def test_submit_command_errors(env: str, tmp_path: Path, content: str, message: str) -> None:
    from privacyops.cli.app import main

    path = tmp_path / "p.json"
    path.write_text(content)
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "privacyops", "intake", "submit", "web_form", "--json", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent / "src")},
        check=False,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert main is not None


def test_unknown_channel_and_format(env: str, tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("email\na@example.com\n")
    out = runner.invoke(app, ["intake", "import", str(path), "--channel", "web_form"])
    assert out.exit_code != 0
    path2 = tmp_path / "x.csv"
    path2.write_text("email\na@example.com\n")
    out = runner.invoke(app, ["intake", "import", str(path2), "--channel", "pigeon"])
    assert out.exit_code != 0
