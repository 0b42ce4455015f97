"""The audit log: append, verify, and detection of each kind of tampering."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from privacyops.audit import AuditLog, NewEvent
from privacyops.errors import InvalidInput
from privacyops.store import Database


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url, master_key=b"k" * 32)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def log(db: Database) -> AuditLog:
    audit = AuditLog(db)
    audit.append_many(
        [
            NewEvent(f"test.act{i}", actor="system", subject_ref=f"s{i % 3}", details={"i": i})
            for i in range(1, 11)
        ]
    )
    return audit


def test_appended_events_verify(log: AuditLog) -> None:
    seq = log.append(
        "record.read", actor="staff:1", subject_ref="abc", reason="access request — Zoë, Łódź 🔒"
    )
    assert seq == 11
    result = log.verify()
    assert result.ok
    assert result.events_checked == 11
    assert result.head_seq == 11
    assert [e.action for e in log.tail(2)] == ["test.act10", "record.read"]


def test_intact_log_verifies_in_one_pass(log: AuditLog, monkeypatch: pytest.MonkeyPatch) -> None:
    # non-ASCII text, quotes and backslashes reach the hash as the same UTF-8 bytes on every
    # database: the fast pass alone accepts the log, without the event-by-event pass
    log.append("record.read", actor="staff:1", reason="Zoë, Łódź 🔒", details={"k": 'a\\b"c'})

    def detailed_pass(*args: object) -> None:
        raise AssertionError("the fast pass rejected an intact log")

    monkeypatch.setattr(AuditLog, "_locate_break", detailed_pass)
    result = log.verify()
    assert result.ok
    assert result.events_checked == 11


def test_empty_log_verifies(db: Database) -> None:
    result = AuditLog(db).verify()
    assert result.ok
    assert result.events_checked == 0


def test_event_joins_the_callers_transaction(db: Database) -> None:
    audit = AuditLog(db)

    def act_that_fails() -> None:
        with db.session() as session:
            audit.append("record.collect", subject_ref="x", session=session)
            raise RuntimeError("the act failed")

    with pytest.raises(RuntimeError):
        act_that_fails()
    assert audit.head()[0] == 0
    assert audit.verify().ok


def _execute(db: Database, sql: str, **params: object) -> None:
    with db.engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def test_changed_event_is_named(db: Database, log: AuditLog) -> None:
    _execute(db, "UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 4")
    result = log.verify()
    assert not result.ok
    assert result.first_broken_seq == 4
    assert "changed" in (result.problem or "")


def test_changed_details_are_detected(db: Database, log: AuditLog) -> None:
    _execute(db, "UPDATE audit_events SET details = :d WHERE seq = 7", d=json.dumps({"i": 70}))
    assert log.verify().first_broken_seq == 7


def test_deleted_event_is_named(db: Database, log: AuditLog) -> None:
    _execute(db, "DELETE FROM audit_events WHERE seq = 5")
    result = log.verify()
    assert result.first_broken_seq == 5
    assert "deleted" in (result.problem or "")


def test_deleted_tail_is_detected(db: Database, log: AuditLog) -> None:
    _execute(db, "DELETE FROM audit_events WHERE seq >= 9")
    result = log.verify()
    assert result.first_broken_seq == 9
    assert "missing" in (result.problem or "")


def test_inserted_event_is_named(db: Database, log: AuditLog) -> None:
    # make room after event 3 and slip a forged event in
    _execute(db, "UPDATE audit_events SET seq = seq + 100 WHERE seq > 3")
    _execute(db, "UPDATE audit_events SET seq = seq - 99 WHERE seq > 100")
    row = {
        "seq": 4,
        "ts": "2020-01-01T00:00:00.000000Z",
        "actor": "system",
        "action": "test.forged",
        "details": "{}",
        "prev": "f" * 64,
        "hash": "e" * 64,
    }
    _execute(
        db,
        "INSERT INTO audit_events (seq, ts, actor, action, details, prev_hash, hash) "
        "VALUES (:seq, :ts, :actor, :action, :details, :prev, :hash)",
        **row,
    )
    result = log.verify()
    assert result.first_broken_seq == 4
    assert "inserted" in (result.problem or "")


def test_appended_event_past_the_head_is_detected(db: Database, log: AuditLog) -> None:
    last = log.tail(1)[0]
    _execute(
        db,
        "INSERT INTO audit_events (seq, ts, actor, action, details, prev_hash, hash) "
        "VALUES (11, :ts, 'system', 'test.forged', '{}', :prev, :hash)",
        ts=last.ts,
        prev=last.hash,
        hash="0" * 64,
    )
    assert log.verify().first_broken_seq == 11


def test_reordered_events_are_named(db: Database, log: AuditLog) -> None:
    # swap events 6 and 7 (numbers kept in place, contents exchanged)
    _execute(db, "UPDATE audit_events SET seq = 1000 WHERE seq = 6")
    _execute(db, "UPDATE audit_events SET seq = 6 WHERE seq = 7")
    _execute(db, "UPDATE audit_events SET seq = 7 WHERE seq = 1000")
    result = log.verify()
    assert result.first_broken_seq == 6
    assert "reordered" in (result.problem or "")


def test_hashes_shifted_between_events_are_detected(db: Database, log: AuditLog) -> None:
    # one character moved from event 4's stored hash to event 5's: the hashes joined end to end
    # read the same, so only a per-event check sees it (PostgreSQL's VARCHAR(64) refuses a
    # 65-character hash outright)
    if db.dialect != "sqlite":
        pytest.skip("the column type already refuses a 65-character hash")
    with db.engine.begin() as conn:
        four, five = conn.execute(
            sa.text("SELECT hash FROM audit_events WHERE seq IN (4, 5) ORDER BY seq")
        ).scalars()
    _execute(db, "UPDATE audit_events SET hash = :h WHERE seq = 4", h=four[:-1])
    _execute(db, "UPDATE audit_events SET hash = :h WHERE seq = 5", h=four[-1] + five)
    result = log.verify()
    assert not result.ok
    assert result.first_broken_seq == 4


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"action": ""}, "action"),
        ({"action": "x", "actor": "a\x1fb"}, "actor"),
        ({"action": "x", "subject_ref": "s" * 65}, "subject_ref"),
        ({"action": "x", "details": {"bad": object()}}, "details"),
    ],
)
def test_bad_events_are_refused(log: AuditLog, kwargs: dict[str, object], where: str) -> None:
    kwargs = dict(kwargs)
    details = kwargs.pop("details", None)
    with pytest.raises(InvalidInput) as info:
        log.append(details=details, **kwargs)  # type: ignore[arg-type]
    assert info.value.details[0]["loc"] == [where]
    assert log.verify().ok
