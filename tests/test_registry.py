"""The personal-data registry: intake, lookup, records, restrictions, holds, suppression,
erasure by crypto-shredding (including the regulator's backup test)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacyops.errors import InvalidInput, NotFound, ProcessingRestricted
from privacyops.store import (
    Base,
    Database,
    DecryptionError,
    IdentityIn,
    RecordIn,
    Registry,
    Submission,
    normalise_identity,
    open_sealed,
)
from privacyops.store.keys import KeyRing

MASTER = b"M" * 32


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url, master_key=MASTER)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def registry(db: Database) -> Registry:
    return Registry(db)


def web_form(email: str, name: str = "Ada Lovelace", **extra: object) -> Submission:
    return Submission(
        [IdentityIn("email", email)],
        RecordIn(
            channel="web_form",
            legal_basis="consent",
            policy_version="v3",
            data_categories=["name", "email", "request_details"],
            purposes=["answer-request"],
            payload={"name": name, "email": email, "request_details": "Quote please", **extra},
            source_system="website",
        ),
    )


def test_submission_is_stored_encrypted_and_found_by_email(
    db: Database, registry: Registry
) -> None:
    subject, record_id = registry.ingest(web_form("Ada@Example.com"))
    found = registry.find_subject("email", "  ada@example.COM ")
    assert found == subject
    [record] = registry.records_for(subject)
    assert record.id == record_id
    assert record.payload is not None
    assert record.payload["name"] == "Ada Lovelace"
    assert record.channel == "web_form"
    assert record.purposes == ["answer-request"]
    assert record.policy_version == "v3"
    assert record.collected_at.tzinfo is not None
    assert registry.identities_of(subject) == [("email", "ada@example.com")]
    # nothing personal in plaintext anywhere in the tables
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                # bytes columns repr as escapes ("\\xada..."), so look for whole values only
                text = repr(tuple(row)).lower()
                for plaintext in ("ada@example.com", "lovelace", "quote please"):
                    assert plaintext not in text


def test_unknown_identity_finds_nobody(registry: Registry) -> None:
    registry.ingest(web_form("ada@example.com"))
    assert registry.find_subject("email", "grace@example.com") is None
    assert registry.find_subject("phone", "+44 20 7946 0958") is None


def test_second_submission_joins_the_same_subject_and_adds_identities(
    registry: Registry,
) -> None:
    first, _ = registry.ingest(web_form("ada@example.com"))
    second, _ = registry.ingest(
        Submission(
            [IdentityIn("email", "ADA@example.com"), IdentityIn("phone", "+44 20 7946 0958")],
            RecordIn(
                channel="contact",
                legal_basis="legitimate_interest",
                policy_version="v3",
                payload={"call_duration": 93},
                last_contact_at=datetime(2024, 5, 1, tzinfo=UTC),
            ),
        )
    )
    assert second == first
    assert registry.find_subject("phone", "+442079460958") == first
    assert [r.channel for r in registry.records_for(first)] == ["web_form", "contact"]


def test_batch_ingest_merges_subjects_sharing_an_identity(registry: Registry) -> None:
    results = registry.ingest_many(
        [web_form(f"p{i % 50}@example.com", name=f"Person {i}") for i in range(200)]
    )
    assert len({s.public_id for s, _ in results}) == 50
    subject = registry.find_subject("email", "p7@example.com")
    assert subject is not None
    assert len(registry.records_for(subject)) == 4


def test_update_record_rectifies_and_moves_clocks(registry: Registry) -> None:
    _, record_id = registry.ingest(web_form("ada@example.com"))
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    updated = registry.update_record(
        record_id, payload={"name": "Ada King"}, last_contact_at=moment
    )
    assert updated.payload == {"name": "Ada King"}
    assert updated.last_contact_at == moment
    with pytest.raises(InvalidInput, match="subject_id"):
        registry.update_record(record_id, subject_id=99)
    with pytest.raises(NotFound):
        registry.update_record(10_000, payload={})


@pytest.mark.parametrize(
    ("kind", "value", "normal"),
    [
        ("email", " Ada@Example.COM ", "ada@example.com"),
        ("phone", "+44 (20) 7946-0958", "+442079460958"),
        ("phone", "0044 20 7946 0958", "+442079460958"),
        ("linkedin", "https://www.LinkedIn.com/in/ada/", "linkedin.com/in/ada"),
        ("name_company", "Ada  Lovelace,  Analytical Engines", "ada lovelace, analytical engines"),
        ("visitor_id", " v-123 ", "v-123"),
    ],
)
def test_identities_are_normalised(kind: str, value: str, normal: str) -> None:
    assert normalise_identity(kind, value) == normal


@pytest.mark.parametrize(
    ("kind", "value"), [("fax", "1"), ("email", "   "), ("phone", "+1 12"), ("phone", "12")]
)
def test_bad_identities_are_refused(kind: str, value: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_identity(kind, value)


def test_submission_without_identity_is_refused(registry: Registry) -> None:
    with pytest.raises(InvalidInput, match="identity"):
        registry.ingest(Submission([], web_form("a@example.com").record))


def test_restrictions_and_legal_holds(registry: Registry) -> None:
    subject, _ = registry.ingest(web_form("ada@example.com"))
    rid = registry.restrict(subject, "legal_claims", note="claim 2025-17")
    assert [r.ground for r in registry.restrictions(subject)] == ["legal_claims"]
    registry.lift_restriction(rid)
    assert registry.restrictions(subject) == []
    with pytest.raises(NotFound):
        registry.lift_restriction(rid)
    with pytest.raises(InvalidInput):
        registry.restrict(subject, "because")

    past = datetime.now(UTC) - timedelta(days=1)
    registry.add_legal_hold(subject, "expired hold", until=past)
    assert registry.legal_holds(subject) == []
    hold = registry.add_legal_hold(subject, "tax audit 2025", created_by="staff:1")
    assert [h.reason for h in registry.legal_holds(subject)] == ["tax audit 2025"]
    with pytest.raises(ProcessingRestricted):
        registry.shred_subject(subject)
    registry.lift_legal_hold(hold)
    assert registry.shred_subject(subject)


def test_marketing_suppression_is_kept_as_hmac(db: Database, registry: Registry) -> None:
    registry.suppress("Ada@Example.com", reason="objection")
    registry.suppress("ada@example.com")  # idempotent
    assert registry.is_suppressed("ADA@example.com")
    assert not registry.is_suppressed("grace@example.com")
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM marketing_suppressions")).scalar() == 1
    assert registry.unsuppress("ada@example.com")
    assert not registry.is_suppressed("ada@example.com")


def test_shredded_subject_is_gone(db: Database, registry: Registry) -> None:
    subject, _ = registry.ingest(web_form("ada@example.com"))
    other, _ = registry.ingest(web_form("grace@example.com", name="Grace Hopper"))
    assert registry.shred_subject(subject)
    assert not registry.shred_subject(subject)  # already erased
    assert registry.find_subject("email", "ada@example.com") is None
    assert registry.records_for(subject) == []
    assert registry.get_subject(subject.public_id).erased_at is not None
    assert db.key_store.get_many([subject.public_id]) == {}
    with pytest.raises(ProcessingRestricted):
        registry.add_record(subject, web_form("x@example.com").record)
    [kept] = registry.records_for(other)
    assert kept.payload is not None
    assert kept.payload["name"] == "Grace Hopper"
    # the same e-mail arriving later is a new data subject
    again, _ = registry.ingest(web_form("ada@example.com"))
    assert again.public_id != subject.public_id


def _sealed_values_of(conn: sa.Connection, subject_id: int) -> list[bytes]:
    values = [
        bytes(v)
        for (v,) in conn.execute(
            sa.text("SELECT value_sealed FROM identities WHERE subject_id = :s"), {"s": subject_id}
        )
    ]
    values += [
        bytes(v)
        for (v,) in conn.execute(
            sa.text("SELECT payload_sealed FROM personal_data_records WHERE subject_id = :s"),
            {"s": subject_id},
        )
    ]
    return values


def _assert_backup_holds_nothing_readable(
    backup: Database, live: Database, erased_id: int, erased_public: str, kept_public: str
) -> None:
    """Every sealed value of the erased subject in the backup resists every key that still
    exists; the kept subject's values in the same backup still decrypt."""
    ring = KeyRing(MASTER)
    with live.key_store.engine.connect() as conn:
        remaining = {
            p: ring.unwrap(p, bytes(w))
            for p, w in conn.execute(sa.text("SELECT public_id, wrapped_key FROM subject_keys"))
        }
    assert erased_public not in remaining
    with backup.engine.connect() as conn:
        erased_values = _sealed_values_of(conn, erased_id)
        kept_id = conn.execute(
            sa.text("SELECT id FROM data_subjects WHERE public_id = :p"), {"p": kept_public}
        ).scalar_one()
        kept_values = _sealed_values_of(conn, kept_id)
    assert len(erased_values) == 2  # an identity and a record were in the backup
    for sealed in erased_values:
        for public_id, key in remaining.items():
            for aad in (b"identity:", b"record:"):
                with pytest.raises(DecryptionError):
                    open_sealed(key, sealed, aad + erased_public.encode())
                with pytest.raises(DecryptionError):
                    open_sealed(key, sealed, aad + public_id.encode())
    backup_registry = Registry(backup)
    [kept_record] = backup_registry.records_for(backup_registry.get_subject(kept_public))
    assert kept_record.payload is not None
    assert kept_record.payload["name"] == "Grace Hopper"
    [erased_record] = backup_registry.records_for(backup_registry.get_subject(erased_public))
    assert erased_record.payload is None
    assert len(kept_values) == 2


def test_get_subjects_finds_many_in_order_and_refuses_unknown(registry: Registry) -> None:
    people = [registry.ingest(web_form(f"p{i}@example.com"))[0] for i in range(3)]
    refs = [people[2].public_id, people[0].public_id, people[2].public_id]
    assert registry.get_subjects(refs) == [people[2], people[0]]
    assert registry.get_subjects([]) == []
    with pytest.raises(NotFound):
        registry.get_subjects([people[1].public_id, "0" * 32])


def test_find_subjects_finds_many_by_identity_as_typed(registry: Registry) -> None:
    ada, _ = registry.ingest(web_form("ada@example.com"))
    grace, _ = registry.ingest(web_form("grace@example.com"))
    found = registry.find_subjects(
        "email", ["ADA@example.com ", "grace@example.com", "nobody@example.com", "ada@example.com"]
    )
    # keyed by each value as given (two spellings of one address both find her)
    assert found == {"ADA@example.com ": ada, "ada@example.com": ada, "grace@example.com": grace}
    assert registry.find_subjects("email", []) == {}
    with pytest.raises(InvalidInput):
        registry.find_subjects("email", ["ada@example.com", ""])


def test_crypto_shredding_makes_a_copied_sqlite_file_unreadable(tmp_path: Path) -> None:
    live = Database(f"sqlite:///{tmp_path / 'live.sqlite'}", master_key=MASTER)
    live.upgrade()
    registry = Registry(live)
    ada, _ = registry.ingest(web_form("ada@example.com"))
    grace, _ = registry.ingest(web_form("grace@example.com", name="Grace Hopper"))
    live.engine.dispose()  # a consistent file to copy (WAL checkpointed on close)
    shutil.copy(tmp_path / "live.sqlite", tmp_path / "backup.sqlite")
    assert b"ada@example.com" not in (tmp_path / "backup.sqlite").read_bytes()

    registry.shred_subject(ada)

    # the backup opens with the live key store: the only place keys exist
    backup = Database(
        f"sqlite:///{tmp_path / 'backup.sqlite'}",
        master_key=MASTER,
        key_store_url=f"sqlite:///{tmp_path / 'live.keys.sqlite'}",
    )
    _assert_backup_holds_nothing_readable(backup, live, ada.id, ada.public_id, grace.public_id)
    assert b"ada" not in (tmp_path / "live.keys.sqlite").read_bytes()
    backup.dispose()
    live.dispose()


def test_crypto_shredding_makes_a_postgresql_backup_schema_unreadable(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("the SQLite file copy is tested above")
    registry = Registry(db)
    ada, _ = registry.ingest(web_form("ada@example.com"))
    grace, _ = registry.ingest(web_form("grace@example.com", name="Grace Hopper"))
    backup_schema = f"backup_{uuid.uuid4().hex[:10]}"
    with db.engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{backup_schema}"'))
        for table in Base.metadata.sorted_tables:
            conn.execute(
                sa.text(
                    f'CREATE TABLE "{backup_schema}"."{table.name}" AS SELECT * FROM "{table.name}"'
                )
            )
    try:
        registry.shred_subject(ada)
        backup_url = db.url.update_query_dict({"options": f"-csearch_path={backup_schema}"})
        # the backup's registry tables, the live key store
        backup = Database(backup_url, master_key=MASTER, key_store_url=db.url)
        _assert_backup_holds_nothing_readable(backup, db, ada.id, ada.public_id, grace.public_id)
        backup.dispose()
    finally:
        with db.engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{backup_schema}" CASCADE'))


emails = st.from_regex(r"[a-z][a-z0-9]{0,10}@[a-z]{1,8}\.(com|org|de)", fullmatch=True)
payload_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(email=emails, payload=st.dictionaries(st.text(max_size=12), payload_values, max_size=5))
def test_registry_round_trips_any_payload(
    registry: Registry, email: str, payload: dict[str, object]
) -> None:
    submission = Submission(
        [IdentityIn("email", email)],
        RecordIn(channel="chatbot", legal_basis="consent", policy_version="v3", payload=payload),
    )
    subject, record_id = registry.ingest(submission)
    assert registry.find_subject("email", email.upper()) == subject
    record = registry.get_record(record_id)
    assert record.payload == payload
