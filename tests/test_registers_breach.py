"""The breach register (GDPR Art. 33, 34): the 72-hour clock, who is affected, the risk
decision, the authority's notification and the letters to the people affected."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import holidays
import pytest
import sqlalchemy as sa

from privacyops.audit import AuditLog
from privacyops.errors import InvalidInput
from privacyops.mail import Message, send_mail
from privacyops.policy import default_policy_book
from privacyops.registers import notification_deadline
from privacyops.registers.affected import affected_identities, affected_people
from privacyops.registers.breaches import BreachIn, BreachRegister
from privacyops.registers.clock import is_late
from privacyops.registers.letters import send_letters
from privacyops.registers.notification import authority_notification
from privacyops.registers.pdf import notification_pdf
from privacyops.rights.authorities import authority_for
from privacyops.settings import Settings
from privacyops.store import Database, IdentityIn, RecordIn, Registry, Submission

OSLO = ZoneInfo("Europe/Oslo")
MASTER = b"M" * 32
#: Good Friday 2027, 16:00 in Oslo: Easter Monday (29 March) is a holiday and the clocks go
#: forward on Sunday 28 March (02:00 CET -> 03:00 CEST).
AWARE = datetime(2027, 3, 26, 16, 0, tzinfo=OSLO)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url, master_key=MASTER)
    database.upgrade()
    yield database
    database.dispose()


def _submission(email: str, channel: str, categories: list[str], at: datetime) -> Submission:
    return Submission(
        [IdentityIn("email", email)],
        RecordIn(
            channel=channel,
            legal_basis="consent",
            policy_version="v3",
            data_categories=categories,
            purposes=["answer-request"],
            payload={"email": email},
            collected_at=at,
        ),
    )


def test_the_chosen_days_are_a_holiday_weekend_across_a_dst_change() -> None:
    no = holidays.Norway(years=2027)
    assert AWARE.weekday() == 4
    assert AWARE.date() in no
    assert datetime(2027, 3, 29).date() in no  # Easter Monday
    assert AWARE.utcoffset() == timedelta(hours=1)
    assert (AWARE + timedelta(days=3)).utcoffset() == timedelta(hours=2)


def test_deadline_is_72_elapsed_hours_across_holidays_and_dst() -> None:
    deadline = notification_deadline(AWARE)
    assert deadline.astimezone(UTC) - AWARE.astimezone(UTC) == timedelta(hours=72)
    # Monday 29 March (Easter Monday): the wall clock reads 17:00 CEST, not 16:00.
    assert deadline.tzinfo is OSLO
    assert (deadline.date().isoformat(), deadline.hour, deadline.utcoffset()) == (
        "2027-03-29",
        17,
        timedelta(hours=2),
    )
    # Back across the autumn change: Friday 29 October 2027 16:00 CEST -> Monday 15:00 CET.
    autumn = notification_deadline(datetime(2027, 10, 29, 16, 0, tzinfo=OSLO))
    assert (autumn.day, autumn.hour) == (1, 15)
    assert notification_deadline(AWARE.astimezone(UTC)) == deadline
    assert not is_late(AWARE, AWARE + timedelta(hours=73))  # wall clock: 72 elapsed hours
    assert is_late(AWARE, AWARE.astimezone(UTC) + timedelta(hours=72, seconds=1))


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        notification_deadline(datetime(2027, 3, 26, 16, 0))


def test_breach_from_record_to_letters(db: Database, smtp_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    manifest = default_policy_book().current
    registry = Registry(db)
    before = AWARE - timedelta(days=10)
    for n in range(3):  # in the breach: web form, holding e-mail addresses
        registry.ingest(
            _submission(f"person{n}@example.org", "web_form", ["email", "name"], before)
        )
    # the same person twice: one person, two records
    registry.ingest(_submission("person0@example.org", "web_form", ["email"], before))
    registry.ingest(_submission("chat@example.org", "chatbot", ["email"], before))  # other channel
    registry.ingest(_submission("late@example.org", "web_form", ["email"], AWARE + timedelta(1)))
    registry.ingest(_submission("noemail@example.org", "web_form", ["phone"], before))

    register = BreachRegister(db, manifest)
    breach = register.record(
        BreachIn(
            title="Form export left public",
            description="A file with the contact form's messages was reachable without a login.",
            occurred_at=AWARE - timedelta(days=2),
            aware_at=AWARE,
            timezone="Europe/Oslo",
            window_start=AWARE - timedelta(days=30),
            systems=["website"],
            channels=["web_form"],
            data_categories=["email"],
        ),
        actor="staff:1",
    )
    assert breach.deadline == notification_deadline(AWARE)
    assert breach.as_dict()["deadline"] == "2027-03-29T17:00:00+02:00"

    affected = affected_people(db, breach)
    assert (affected.people, affected.records) == (3, 4)
    assert affected.by_channel == {"web_form": 4}
    assert "person0@example.org" not in json.dumps(affected.as_dict())

    people = affected_identities(db, breach, actor="staff:dpo")
    assert sorted(i[0][1] for i in (p["identities"] for p in people)) == [
        f"person{n}@example.org" for n in range(3)
    ]
    assert AuditLog(db).tail(1)[0].action == "record.read"

    with pytest.raises(InvalidInput, match="high risk"):
        send_letters(db, breach, manifest, lambda m: "x", actor="staff:1")
    breach = register.assess(
        breach.ref, "high", "high", reasons="E-mail addresses open to phishing.", actor="staff:1"
    )
    assert breach.risk is not None
    assert breach.risk["decision"] == "people"
    breach = register.update(
        breach.ref,
        {"consequences": "You may receive phishing e-mails.", "measures": "The file is gone."},
        actor="staff:1",
    )

    # Notified 73 elapsed hours after awareness (UTC arithmetic: wall-clock arithmetic on
    # Europe/Oslo would add only 72 across the DST change): late, refused without reasons.
    late = AWARE.astimezone(UTC) + timedelta(hours=73)
    assert register.get(breach.ref).late is False  # not notified yet, the deadline ahead
    with pytest.raises(InvalidInput, match="reasons for the delay"):
        register.notify_authority(breach.ref, at=late, note="initial", actor="staff:1")
    breach = register.notify_authority(
        breach.ref, at=late, note="initial", late_reasons="Easter closure.", actor="staff:1"
    )
    breach = register.notify_authority(
        breach.ref, at=late + timedelta(days=2), note="forensic report", actor="staff:1"
    )
    assert breach.late
    assert [p["phase"] for p in breach.phases] == [1, 2]

    authority = authority_for(manifest.contact_point.country).as_dict()
    draft = authority_notification(breach, affected, manifest, authority)
    assert draft["authority"]["country"] == manifest.contact_point.country
    assert draft["nature"]["approximate_people"] == 3
    assert draft["nature"]["approximate_records"] == 4
    assert draft["contact"]["email"] == manifest.dpo.email  # type: ignore[union-attr]
    assert draft["likely_consequences"]
    assert draft["measures"]
    assert draft["timing"]["late_reasons"] == "Easter closure."
    assert draft["to_follow"] == []
    json.dumps(draft)
    pdf = notification_pdf(draft)
    assert pdf.startswith(b"%PDF")
    (tmp_path / "n.pdf").write_bytes(pdf)

    settings = Settings(
        data_dir=tmp_path / "data", smtp_host="127.0.0.1", smtp_port=smtp_server.port
    )
    send = partial(_send, settings)
    report = send_letters(db, breach, manifest, send, actor="staff:1", authority=authority)
    assert (report.sent_now, report.no_address_now) == (3, 0)
    letter = smtp_server.to("person1@example.org")
    assert len(letter) == 1
    body = smtp_server.body(letter[0])
    assert "You may receive phishing e-mails." in body
    assert breach.ref in body
    assert manifest.dpo.email in body  # type: ignore[union-attr]
    assert "{" not in body
    assert "None" not in body
    assert smtp_server.to("chat@example.org") == []
    assert smtp_server.to("late@example.org") == []
    # A second sending reaches nobody twice.
    again = send_letters(db, breach, manifest, send, actor="staff:1")
    assert again.sent_now == 0
    assert again.totals == {"sent": 3}
    assert len(smtp_server.messages) == 3


def _send(settings: Settings, message: Message) -> str:
    return send_mail(settings, message.to, message.subject, message.body)


def test_record_refuses_bad_input(db: Database) -> None:
    register = BreachRegister(db, default_policy_book().current)
    base = {"title": "t", "description": "d", "aware_at": AWARE, "channels": ["web_form"]}
    with pytest.raises(InvalidInput, match="time zone"):
        register.record(BreachIn(**{**base, "aware_at": datetime(2027, 3, 26)}), actor="x")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="not declared"):
        register.record(BreachIn(**{**base, "channels": ["fax"]}), actor="x")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="channels or data categories"):
        register.record(BreachIn(**{**base, "channels": []}), actor="x")  # type: ignore[arg-type]
    with db.session() as s:
        assert s.execute(sa.text("select count(*) from breaches")).scalar() == 0


def test_low_risk_is_documented_without_notification(db: Database) -> None:
    register = BreachRegister(db, default_policy_book().current)
    breach = register.record(
        BreachIn(title="t", description="d", aware_at=AWARE, data_categories=["email"]), actor="x"
    )
    breach = register.assess(breach.ref, "low", "medium", reasons="Encrypted laptop.", actor="x")
    assert breach.risk is not None
    assert breach.risk["decision"] == "none"
    assert not breach.late  # no notification due (Art. 33(5))
    assert [e.action for e in AuditLog(db).tail(2)] == ["breach.record", "breach.update"]
