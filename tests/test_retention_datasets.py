"""Retention in connected SQL databases: expired rows deleted or masked by the dataset's
strategies, nulls and non-dates reported, datasets without a channel left alone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from privacyops.connectors import SQLConnector, load_dataset, make_engine
from privacyops.policy import default_policy_book
from privacyops.retention.datasets import sweep_datasets

BOOK = default_policy_book()
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)

DATASET = """\
dataset:
  name: crm
  system: {system}
  collections:
    - name: contact
      timestamp: last_delivery
      fields:
        - {{name: id, primary_key: true}}
        - {{name: email, identity: email, categories: [user.contact.email], masking: nullify}}
        - name: name
          categories: [user.name]
          masking: {{strategy: fixed_string, value: ERASED}}
        - {{name: last_delivery, categories: [system.operations]}}
    - name: visit
      timestamp: at
      fields:
        - {{name: id, primary_key: true}}
        - {{name: contact_id, references: contact.id}}
        - {{name: ip, categories: [user.device.ip_address], masking: delete_row}}
        - {{name: at, categories: [system.operations]}}
"""


def connector(tmp_path: Path, url: str, system: str = "Customer") -> SQLConnector:
    path = tmp_path / "crm.yml"
    path.write_text(DATASET.format(system=system))
    return SQLConnector(load_dataset(path).dataset, make_engine(url))


@pytest.fixture
def crm(db_url: str) -> str:
    engine = make_engine(db_url)
    stamp = "TIMESTAMP" if engine.dialect.name == "sqlite" else "TIMESTAMP WITH TIME ZONE"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE contact (id INTEGER PRIMARY KEY, email VARCHAR(100), "
                f"name VARCHAR(100), last_delivery {stamp})"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TABLE visit (id INTEGER PRIMARY KEY, contact_id INTEGER, "
                f"ip VARCHAR(40), at {stamp})"
            )
        )
        rows = [
            (1, "old@example.com", "Old", datetime(2019, 1, 1, tzinfo=UTC)),
            (2, "new@example.com", "New", datetime(2024, 1, 1, tzinfo=UTC)),
            (3, "null@example.com", "Null", None),
        ]
        for row in rows:
            conn.execute(
                sa.text("INSERT INTO contact VALUES (:i, :e, :n, :d)"),
                {"i": row[0], "e": row[1], "n": row[2], "d": row[3]},
            )
        if engine.dialect.name == "sqlite":  # SQLite lets text into a TIMESTAMP column
            conn.execute(sa.text("INSERT INTO contact VALUES (4, 'x@example.com', 'X', 'soon')"))
        for i, year in ((1, 2018), (2, 2025)):
            conn.execute(
                sa.text("INSERT INTO visit (id, ip, at) VALUES (:i, '10.0.0.1', :d)"),
                {"i": i, "d": datetime(year, 1, 1, tzinfo=UTC)},
            )
    engine.dispose()
    return db_url


def test_expired_rows_are_masked_or_deleted_once(tmp_path: Path, crm: str) -> None:
    shop = connector(tmp_path, crm)
    dry = sweep_datasets([shop], BOOK, as_of=AS_OF, dry_run=True)
    assert [(r.collection, r.expired, r.erased) for r in dry] == [
        ("contact", 1, 0),
        ("visit", 1, 0),
    ]
    reports = {r.collection: r for r in sweep_datasets([shop], BOOK, as_of=AS_OF)}
    assert "6 years from last service delivery" in (reports["contact"].rule or "")
    assert (reports["contact"].action, reports["contact"].erased) == ("mask", 1)
    assert (reports["visit"].action, reports["visit"].erased) == ("delete_row", 1)
    unknown = 2 if shop.engine.dialect.name == "sqlite" else 1
    assert reports["contact"].undetermined == unknown
    with shop.engine.connect() as conn:
        contacts = conn.execute(sa.text("SELECT id, email, name FROM contact ORDER BY id")).all()
        visits = conn.execute(sa.text("SELECT id FROM visit")).scalars().all()
    assert tuple(contacts[0]) == (1, None, "ERASED")
    assert contacts[1][1] == "new@example.com"
    assert contacts[2][1] == "null@example.com"  # age unknown: kept, reported
    assert visits == [2]
    again = {r.collection: r for r in sweep_datasets([shop], BOOK, as_of=AS_OF)}
    assert again["contact"].erased == 0
    assert again["visit"].erased == 0
    shop.engine.dispose()


def test_a_dataset_without_a_channel_is_reported_not_swept(tmp_path: Path, crm: str) -> None:
    shop = connector(tmp_path, crm, system="Shop database")
    reports = sweep_datasets([shop], BOOK, as_of=AS_OF)
    assert all(r.rule is None and "not a channel" in (r.problem or "") for r in reports)
    with shop.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM visit")).scalar_one() == 2
    shop.engine.dispose()


def test_a_text_timestamp_column_is_refused_on_postgresql(tmp_path: Path, db_url: str) -> None:
    engine = make_engine(db_url)
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores any text in any column; the per-row check covers it")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE contact (id INTEGER PRIMARY KEY, email TEXT, name TEXT, "
                "last_delivery TEXT)"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TABLE visit (id INTEGER PRIMARY KEY, contact_id INTEGER, ip TEXT, at TEXT)"
            )
        )
        conn.execute(sa.text("INSERT INTO visit (id, ip, at) VALUES (1, 'x', 'last year')"))
    reports = sweep_datasets([connector(tmp_path, db_url)], BOOK, as_of=AS_OF)
    visit = next(r for r in reports if r.collection == "visit")
    assert "not a date/time column" in (visit.problem or "")
    assert visit.undetermined == 1
    engine.dispose()


def test_clock_moved_forward_expires_registry_and_connected_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's "done when": the shipped default's records expire by their own rules in the
    registry and in a connected database, except those held; report and audit log say so."""
    import json
    import os
    import subprocess
    import sys

    from privacyops.audit import AuditLog
    from privacyops.settings import Settings
    from privacyops.store import IdentityIn, RecordIn, Registry, Submission, open_database

    crm_url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    engine = make_engine(crm_url)
    with engine.begin() as conn:
        for sql in (
            "CREATE TABLE contact (id INTEGER PRIMARY KEY, email TEXT, name TEXT, "
            "last_delivery TIMESTAMP)",
            "CREATE TABLE visit (id INTEGER PRIMARY KEY, contact_id INTEGER, ip TEXT, "
            "at TIMESTAMP)",
            "INSERT INTO contact VALUES (1, 'a@example.com', 'A', '2024-05-01 00:00:00')",
            "INSERT INTO visit VALUES (1, 1, '10.0.0.1', '2026-01-01 00:00:00')",
        ):
            conn.execute(sa.text(sql))
    engine.dispose()
    folder = tmp_path / "connectors"
    folder.mkdir()
    text = DATASET.format(system="customer").replace(
        "  system: customer\n", f"  system: customer\n  connection: {{url: '{crm_url}'}}\n"
    )
    (folder / "crm.yml").write_text(text)
    monkeypatch.setenv("PRIVACYOPS_CONNECTORS_DIR", str(folder))

    settings = Settings(data_dir=Path(os.environ["PRIVACYOPS_DATA_DIR"]))
    db = open_database(settings)
    registry = Registry(db)
    now = datetime.now(UTC)
    form, _ = registry.ingest(
        Submission(
            [IdentityIn("email", "form@example.com")],
            RecordIn(
                channel="web_form",
                legal_basis="consent",
                policy_version="v3",
                payload={"name": "F"},
                collected_at=now,
            ),
        )
    )
    held, _ = registry.ingest(Submission(
        [IdentityIn("email", "held@example.com")],
        RecordIn(channel="web_form", legal_basis="consent", policy_version="v3",
                 payload={"name": "H"}, collected_at=now),
    ))  # fmt: skip
    registry.add_legal_hold(held, "pending litigation")
    db.dispose()

    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-m", "privacyops", "retention", "run", "--as-of", "2033-01-01",
         "--json"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": str(repo / "src")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["totals"]["deleted"] == 1
    assert report["totals"]["kept_legal_hold"] == 1
    erased = {d["collection"]: d["erased"] for d in report["datasets"]}
    assert erased == {"contact": 1, "visit": 1}

    db = open_database(settings)
    assert Registry(db).find_subject("email", "form@example.com") is None
    assert Registry(db).records_for(held)[0].payload == {"name": "H"}
    log = AuditLog(db)
    assert log.verify().ok
    batches = [json.loads(e.details) for e in log.events(actions=["retention.batch"])]
    assert {b.get("collection") for b in batches} >= {"contact", "visit"}
    assert any(form.public_id in b.get("subjects_erased", []) for b in batches)
    db.dispose()
