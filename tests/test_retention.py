"""Retention: rules from the manifest, the sweep (holds, restrictions, undetermined ages,
anonymisation, idempotence, resuming after a kill), forecast, replay after a restore, CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from privacyops.audit import AuditLog
from privacyops.cli.app import app
from privacyops.errors import InvalidInput
from privacyops.policy import default_policy_book
from privacyops.policy.schema import PolicyBook
from privacyops.retention import forecast, replay, resolve_rule, subtract_period, sweep
from privacyops.settings import Settings
from privacyops.store import (
    Database,
    IdentityIn,
    RecordIn,
    Registry,
    Subject,
    Submission,
    open_database,
)

BOOK = default_policy_book()
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[1]


def at(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def submission(
    email: str, channel: str = "web_form", version: str = "v3", **clocks: object
) -> Submission:
    return Submission(
        [IdentityIn("email", email)],
        RecordIn(
            channel=channel,
            legal_basis="legitimate_interest",
            policy_version=version,
            data_categories=["name", "email"],
            purposes=["answer-request"],
            payload={"name": email.split("@")[0], "email": email},
            **clocks,  # type: ignore[arg-type]
        ),
    )


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url, master_key=b"R" * 32)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def people(db: Database) -> dict[str, Subject]:
    registry = Registry(db)
    made = {}
    cases = {
        "old_form": submission("a@example.com", collected_at=at(2020)),
        "new_form": submission("b@example.com", collected_at=at(2024)),
        "customer_v1": submission(
            "c@example.com", "customer", "v1", collected_at=at(2015),
            last_event_registration_at=at(2017),
        ),
        "customer_v3": submission(
            "d@example.com", "customer", "v3", collected_at=at(2015),
            last_service_delivery_at=at(2019, 6),
        ),
        "customer_no_delivery": submission(
            "e@example.com", "customer", "v3", collected_at=at(2010)
        ),
        "held": submission("f@example.com", collected_at=at(2019)),
        "restricted": submission("g@example.com", collected_at=at(2019)),
        "unknown_version": submission("i@example.com", version="v0", collected_at=at(2001)),
    }  # fmt: skip
    for name, sub in cases.items():
        made[name], _ = registry.ingest(sub)
    # a subject with an expired record and a fresh one keeps the fresh one and its identity
    made["mixed"], _ = registry.ingest(submission("h@example.com", collected_at=at(2019)))
    registry.ingest(submission("h@example.com", "contact", collected_at=at(2025)))
    registry.add_legal_hold(made["held"], "tax audit 2026")
    registry.restrict(made["restricted"], "legal_claims")
    return made


def test_calendar_periods() -> None:
    assert subtract_period(at(2026, 2, 28), 6, 0, 0) == at(2020, 2, 28)
    assert subtract_period(at(2025, 3, 31), 0, 1, 0) == at(2025, 2, 28)
    assert subtract_period(at(2026, 6, 1), 0, 0, 1) == at(2026, 5, 31)


def test_each_record_follows_the_rule_of_its_version() -> None:
    v1 = resolve_rule(BOOK, "customer", "v1").rule
    v3 = resolve_rule(BOOK, "customer", "v3").rule
    assert v1 is not None
    assert v3 is not None
    assert v1.rule.years == 10
    assert v1.clock_column == "last_event_registration_at"
    assert v3.clock_column == "last_service_delivery_at"
    assert "not in the manifest" in (resolve_rule(BOOK, "customer", "v0").problem or "")
    assert "not in policy version" in (resolve_rule(BOOK, "fax", "v3").problem or "")


def test_migrate_existing_moves_old_records_to_the_new_rule() -> None:
    versions = list(BOOK.versions)
    v3 = versions[-1]
    new_rule = {"years": 2, "migrate_existing": True}
    channels = [
        c.model_copy(update={"retention": c.retention.model_copy(update=new_rule)})
        if c.id == "customer" and c.retention is not None
        else c
        for c in v3.channels
    ]
    book = PolicyBook(versions=[*versions[:-1], v3.model_copy(update={"channels": channels})])
    rule = resolve_rule(book, "customer", "v1").rule
    assert rule is not None
    assert (rule.rule_version, rule.rule.years) == ("v3", 2)
    assert "migrated" in rule.describe()


def test_dry_run_changes_nothing(db: Database, people: dict[str, Subject]) -> None:
    before = Registry(db).records_for(people["old_form"])
    report = sweep(db, BOOK, as_of=AS_OF, dry_run=True)
    assert report.total("deleted") == 0
    web = next(g for g in report.groups if g.channel == "web_form" and g.policy_version == "v3")
    assert web.expired == 4  # old_form, held, restricted, mixed (not new_form)
    assert web.kept_legal_hold == 1
    assert web.kept_restriction == 1
    assert Registry(db).records_for(people["old_form"]) == before
    assert AuditLog(db).head()[0] == 0


def test_sweep_expires_by_rule_and_keeps_what_it_must(
    db: Database, people: dict[str, Subject]
) -> None:
    registry = Registry(db)
    report = sweep(db, BOOK, as_of=AS_OF, chunk_size=2)
    assert report.state == "finished"
    gone = ("old_form", "customer_v3")
    kept = ("new_form", "customer_v1", "customer_no_delivery", "held", "restricted",
            "unknown_version")  # fmt: skip
    for name in gone:
        assert registry.records_for(people[name]) == [], name
        assert registry.get_subject(people[name].public_id).erased_at is not None
        assert db.key_store.get_many([people[name].public_id]) == {}
    for name in kept:
        [record] = registry.records_for(people[name])
        assert record.payload is not None, name
    assert registry.find_subject("email", "a@example.com") is None
    mixed = registry.records_for(people["mixed"])
    assert [r.channel for r in mixed] == ["contact"]
    assert registry.find_subject("email", "h@example.com") == people["mixed"]

    totals = report.to_dict()["totals"]
    assert totals["deleted"] == 3
    assert totals["subjects_erased"] == 2
    assert totals["kept_legal_hold"] == 1
    assert totals["kept_restriction"] == 1
    assert totals["undetermined"] == 2  # customer without delivery date, unknown version
    unknown = next(g for g in report.groups if g.policy_version == "v0")
    assert "not in the manifest" in (unknown.problem or "")

    log = AuditLog(db)
    assert log.verify().ok
    batches = list(log.events(actions=["retention.batch"]))
    assert sum(json.loads(e.details)["records"] for e in batches) == 3
    erased = {p for e in batches for p in json.loads(e.details)["subjects_erased"]}
    assert erased == {people["old_form"].public_id, people["customer_v3"].public_id}
    assert all("@" not in e.details for e in batches)

    again = sweep(db, BOOK, as_of=AS_OF)
    assert again.total("deleted") == 0  # idempotent


def test_anonymise_keeps_statistics_without_the_person(db: Database) -> None:
    versions = list(BOOK.versions)
    v3 = versions[-1]
    channels = [
        c.model_copy(update={"retention": c.retention.model_copy(update={"action": "anonymise"})})
        if c.id == "web_form" and c.retention is not None
        else c
        for c in v3.channels
    ]  # fmt: skip
    book = PolicyBook(versions=[*versions[:-1], v3.model_copy(update={"channels": channels})])
    registry = Registry(db)
    subject, record_id = registry.ingest(submission("a@example.com", collected_at=at(2019)))
    report = sweep(db, book, as_of=AS_OF)
    assert report.total("anonymised") == 1
    record = registry.get_record(record_id)
    assert record.payload is None
    assert record.channel == "web_form"
    assert registry.get_subject(subject.public_id).erased_at is not None
    assert sweep(db, book, as_of=AS_OF).total("anonymised") == 0


@pytest.mark.parametrize("moment", [at(1900), at(2300)])
def test_absurd_as_of_is_refused(db: Database, moment: datetime) -> None:
    with pytest.raises(InvalidInput, match="as-of"):
        sweep(db, BOOK, as_of=moment)


def test_forecast_counts_what_expires_soon(db: Database) -> None:
    registry = Registry(db)
    registry.ingest(submission("soon@example.com", collected_at=at(2020, 6, 10)))
    registry.ingest(submission("later@example.com", collected_at=at(2021, 6, 10)))
    registry.ingest(submission("past@example.com", collected_at=at(2019)))
    result = forecast(db, BOOK, days=30, as_of=AS_OF)
    assert result.by_channel == {"web_form": 1}
    assert result.by_category["web_form"] == {"name": 1, "email": 1}
    names = {p["name"] for p in result.processors_own_retention}
    assert "Google Analytics" in names
    with pytest.raises(InvalidInput):
        forecast(db, BOOK, days=0)


def test_replay_erases_again_after_a_restore(tmp_path: Path) -> None:
    live = Database(f"sqlite:///{tmp_path / 'live.sqlite'}", master_key=b"R" * 32)
    live.upgrade()
    registry = Registry(live)
    old, _ = registry.ingest(submission("a@example.com", collected_at=at(2019)))
    new, _ = registry.ingest(submission("b@example.com", collected_at=at(2025)))
    live.dispose()
    backup = tmp_path / "backup"
    backup.mkdir()
    for name in ("live.sqlite", "live.keys.sqlite"):  # a full backup, key store included
        shutil.copy(tmp_path / name, backup / name)
    live = Database(f"sqlite:///{tmp_path / 'live.sqlite'}", master_key=b"R" * 32)
    sweep(live, BOOK, as_of=AS_OF)
    events = list(AuditLog(live).events())
    live.dispose()
    # restore: the data and keys come back, the audit log is the live one
    restored = Database(f"sqlite:///{backup / 'live.sqlite'}", master_key=b"R" * 32)
    restored.upgrade()
    assert Registry(restored).records_for(old)[0].payload is not None
    AuditLog(restored).append_many([])
    with restored.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events"))
        conn.execute(
            sa.text(
                "INSERT INTO audit_events (seq, ts, actor, action, subject_ref, reason, details, "
                "prev_hash, hash) VALUES (:seq, :ts, :actor, :action, :subject_ref, :reason, "
                ":details, :prev_hash, :hash)"
            ),
            [
                {k: getattr(e, k) for k in ("seq", "ts", "actor", "action", "subject_ref",
                                            "reason", "details", "prev_hash", "hash")}
                for e in events
            ],
        )  # fmt: skip
        conn.execute(
            sa.text("UPDATE audit_head SET seq = :s, hash = :h"),
            {"s": events[-1].seq, "h": events[-1].hash},
        )
    result = replay(restored, BOOK, since=at(2000))
    assert result.erasures_in_log == 1
    assert result.subjects_erased_again == 1
    registry = Registry(restored)
    assert registry.records_for(old) == []
    assert restored.key_store.get_many([old.public_id]) == {}
    assert registry.records_for(new)[0].payload is not None
    assert AuditLog(restored).verify().ok
    restored.dispose()


def test_cli_run_prints_a_report_and_refuses_bad_dates(settings: Settings) -> None:
    db = open_database(settings)
    Registry(db).ingest(submission("a@example.com", collected_at=at(2019)))
    db.dispose()
    runner = CliRunner()
    done = runner.invoke(app, ["retention", "run", "--as-of", "2026-06-01", "--dry-run"])
    assert done.exit_code == 0, done.output
    assert "web_form" in done.output
    assert "6 years from collection" in done.output
    done = runner.invoke(app, ["retention", "run", "--as-of", "2026-06-01", "--json"])
    assert json.loads(done.output)["totals"]["deleted"] == 1
    done = runner.invoke(app, ["retention", "forecast", "--days", "30", "--json"])
    assert json.loads(done.output)["total"] == 0
    for bad in ("1900-01-01", "next tuesday"):
        proc = subprocess.run(
            [sys.executable, "-m", "privacyops", "retention", "run", "--as-of", bad],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO / "src")},
            timeout=120,
            check=False,
        )
        assert proc.returncode == 2, proc.stderr
        assert "--as-of" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_killed_run_resumes_where_it_stopped(settings: Settings) -> None:
    db = open_database(settings)
    registry = Registry(db)
    registry.ingest_many(
        [submission(f"p{i}@example.com", collected_at=at(2018)) for i in range(1500)]
    )
    registry.ingest_many(
        [submission(f"q{i}@example.com", collected_at=at(2025)) for i in range(50)]
    )
    count = sa.text("SELECT count(*) FROM personal_data_records")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    command = [sys.executable, "-m", "privacyops", "retention", "run", "--as-of", "2026-06-01"]
    proc = subprocess.Popen(
        [*command, "--chunk-size", "5"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with db.engine.connect() as conn:
                left = conn.execute(count).scalar_one()
            if left < 1500:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    with db.engine.connect() as conn:
        left = conn.execute(count).scalar_one()
        state = conn.execute(sa.text("SELECT state FROM retention_runs")).scalar_one()
    assert 50 < left < 1550, "the run was not killed midway"
    assert state == "running"
    done = subprocess.run(
        [*command, "--json"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["resumed"] is True
    assert report["totals"]["deleted"] == 1500
    with db.engine.connect() as conn:
        assert conn.execute(count).scalar_one() == 50
        assert conn.execute(sa.text("SELECT count(*) FROM retention_runs")).scalar_one() == 1
    assert AuditLog(db).verify().ok
    assert Registry(db).find_subject("email", "p7@example.com") is None
    assert Registry(db).find_subject("email", "q7@example.com") is not None
    db.dispose()


def test_the_service_runs_the_sweep_daily(settings: Settings) -> None:
    from privacyops.jobs import JobContext, default_jobs

    db = open_database(settings)
    Registry(db).ingest(submission("a@example.com", collected_at=at(2001)))
    jobs = {j.name: j for j in default_jobs(JobContext(settings, db, BOOK))}
    job = jobs["retention-sweep"]
    assert job.daily_at_hour == settings.retention_sweep_hour
    assert job.run() == 1
    assert job.run() == 0
    db.dispose()
