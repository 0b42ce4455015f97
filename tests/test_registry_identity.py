"""Identity resolution: two people are never merged (GDPR Art. 5(1)(d), 5(1)(f), 15(4)).

A submission joins a known data subject only through an identifying identity (an e-mail
address, a customer id), never through a corroborating one alone (a phone line, a name, a
company); identifying identities that point at two people go to a staff review instead of being
merged. On SQLite and PostgreSQL, through the registry, intake and the rights runner.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests._rights import phone_texts
from tests._rights import submit_and_verify as confirm
from tests._web import database, make_app
from tests.conftest import SmtpSink
from tests.test_rights_workflow import LINK, make_service

from _connectors_shop import dataset_yaml, fill
from privacyops.accounts.service import create_api_token
from privacyops.audit import AuditLog
from privacyops.connectors import load_connectors
from privacyops.errors import Conflict, InvalidInput
from privacyops.identities import identifies
from privacyops.intake.reviews import decide_identity_review, pending_identity_reviews
from privacyops.intake.service import IntakeService
from privacyops.policy import default_policy_book
from privacyops.rights.downloads import open_export
from privacyops.rights.engine import tick
from privacyops.rights.factory import build_service
from privacyops.rights.service import RightsService
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.store.registry import IdentityIn, RecordIn, Registry, Submission

SHARED_PHONE = "+4722000000"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url, master_key=os.urandom(32))
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def intake(db: Database, tmp_path: Path) -> IntakeService:
    return IntakeService(
        db,
        Registry(db),
        AuditLog(db),
        default_policy_book(),
        settings=Settings(data_dir=tmp_path / "data"),
    )


def form(identities: list[IdentityIn], **payload: Any) -> Submission:
    return Submission(
        identities,
        RecordIn(
            channel="web_form",
            legal_basis="consent",
            policy_version="v3",
            data_categories=sorted(payload),
            purposes=["answer-request"],
            payload=payload,
        ),
    )


def person(email: str, phone: str = SHARED_PHONE, **payload: Any) -> Submission:
    return form([IdentityIn("email", email), IdentityIn("phone", phone)], email=email, **payload)


def test_kinds_that_identify_and_kinds_that_corroborate() -> None:
    for kind in ("email", "customer_id", "account_id"):
        assert identifies(kind)
    for kind in ("phone", "name", "name_company", "visitor_id"):
        assert not identifies(kind)
    assert identifies("phone", True)  # the manifest may say otherwise
    assert not identifies("email", False)


def test_a_shared_phone_never_merges_two_people(db: Database) -> None:
    registry = Registry(db)
    ann, _ = registry.ingest(person("ann@acme.example", name="Ann"))
    bob, _ = registry.ingest(person("bob@acme.example", name="Bob"))
    assert ann != bob
    assert registry.find_subject("email", "ann@acme.example") == ann
    assert registry.find_subject("email", "bob@acme.example") == bob
    # the line both use finds neither of them, but each holds it
    assert registry.find_subject("phone", SHARED_PHONE) is None
    assert registry.find_subjects("phone", [SHARED_PHONE]) == {}
    assert registry.holds_identity(ann, "phone", SHARED_PHONE)
    assert registry.holds_identity(bob, "phone", "0047 22 00 00 00")
    assert [r.payload["name"] for r in registry.records_for(ann)] == ["Ann"]  # type: ignore[index]
    assert [r.payload["name"] for r in registry.records_for(bob)] == ["Bob"]  # type: ignore[index]
    # a phone only one person has still finds that person
    carl, _ = registry.ingest(person("carl@acme.example", phone="+4721929300"))
    assert registry.find_subject("phone", "+47 21 92 93 00") == carl


def test_an_identifying_match_joins_the_known_person(db: Database) -> None:
    registry = Registry(db)
    first, _ = registry.ingest(person("ann@acme.example", name="Ann"))
    again, _ = registry.ingest(person("ANN@acme.example", phone="+4721929300", name="Ann"))
    assert again == first
    assert len(registry.records_for(first)) == 2
    assert registry.holds_identity(first, "phone", "+4721929300")
    # the same phone only, no e-mail: a new person, not Ann
    phone_only, _ = registry.ingest(form([IdentityIn("phone", "+4721929300")], note="call"))
    assert phone_only != first
    assert len(registry.records_for(first)) == 2


def test_conflicting_identities_go_to_a_review_not_a_merge(db: Database) -> None:
    registry = Registry(db)
    ann, _ = registry.ingest(
        form([IdentityIn("email", "ann@acme.example")], name="Ann", email="ann@acme.example")
    )
    bob, _ = registry.ingest(form([IdentityIn("customer_id", "C-42")], name="Bob"))
    held, record_id = registry.ingest(
        form(
            [IdentityIn("email", "ann@acme.example"), IdentityIn("customer_id", "C-42")],
            note="which one?",
        )
    )
    assert held not in (ann, bob)
    assert held.review_id is not None
    assert len(registry.records_for(ann)) == 1
    assert len(registry.records_for(bob)) == 1
    assert registry.find_subject("email", "ann@acme.example") == ann
    assert registry.find_subject("customer_id", "C-42") == bob
    [review] = registry.identity_reviews()
    assert review.id == held.review_id
    assert review.subject_public_id == held.public_id
    assert sorted((m["subject"], tuple(m["kinds"])) for m in review.matches) == sorted(
        [(ann.public_id, ("email",)), (bob.public_id, ("customer_id",))]
    )

    with pytest.raises(InvalidInput):
        decide_identity_review(db, review.id, merge_into=held.public_id, actor="staff:1")
    decided = decide_identity_review(db, review.id, merge_into=ann.public_id, actor="staff:1")
    assert (decided.outcome, decided.merged_into) == ("merged", ann.public_id)
    notes = [r.payload for r in registry.records_for(ann) if r.id == record_id]
    assert notes == [{"note": "which one?"}]
    assert len(registry.records_for(bob)) == 1
    assert registry.get_subject(held.public_id).erased_at is not None
    assert pending_identity_reviews(db) == []
    with pytest.raises(Conflict):
        decide_identity_review(db, review.id, merge_into=None, actor="staff:1")
    assert AuditLog(db).verify().ok
    assert "identity.decide" in [e.action for e in AuditLog(db).events()]


def test_a_conflict_within_one_batch_is_held_too(db: Database) -> None:
    registry = Registry(db)
    results = registry.ingest_many(
        [
            form([IdentityIn("email", "ann@acme.example")], n=1),
            form([IdentityIn("customer_id", "C-7")], n=2),
            form([IdentityIn("email", "ann@acme.example"), IdentityIn("customer_id", "C-7")], n=3),
        ]
    )
    (ann, _), (bob, _), (held, _) = results
    assert len({ann, bob, held}) == 3
    assert held.review_id is not None
    decide_identity_review(db, held.review_id, merge_into=None, actor="staff:1")
    assert registry.get_subject(held.public_id).erased_at is None
    assert [r.payload for r in registry.records_for(held)] == [{"n": 3}]


def test_web_form_submissions_sharing_a_phone_stay_two_people(
    intake: IntakeService, db: Database
) -> None:
    for name in ("ann", "bob"):
        result = intake.submit(
            "web_form",
            {
                "name": name.title(),
                "email": f"{name}@acme.example",
                "phone": SHARED_PHONE,
                "company": "Acme",
                "request_details": f"{name}'s message",
            },
            actor="test",
        )
        assert result.status == "stored"
    registry = intake.registry
    ann = registry.find_subject("email", "ann@acme.example")
    bob = registry.find_subject("email", "bob@acme.example")
    assert ann is not None
    assert bob is not None
    assert ann != bob
    [ann_record] = registry.records_for(ann)
    assert ann_record.payload is not None
    assert ann_record.payload["request_details"] == "ann's message"
    with db.engine.connect() as conn:
        roles = conn.execute(sa.text("SELECT kind, identifies FROM identities ORDER BY id")).all()
    assert {(kind, bool(flag)) for kind, flag in roles} == {
        ("phone", False),
        ("email", True),
        ("name_company", False),
    }


# --- rights: the access export and the erasure act on one person only ----------------------


@pytest.fixture
def rights(tmp_path: Path, db_url: str, smtp_server: SmtpSink) -> Iterator[RightsService]:
    svc = make_service(tmp_path, db_url, smtp_server, second_factor="phone_code")
    yield svc
    svc.db.dispose()


def test_access_and_erasure_never_reach_the_person_sharing_a_phone(
    rights: RightsService, smtp_server: SmtpSink
) -> None:
    registry = Registry(rights.db)
    registry.ingest(person("ann@acme.example", name="Ann Able", note_text="Ann's question"))
    registry.ingest(person("bob@acme.example", name="Bob Baker", note_text="Bob's question"))

    confirm(rights, smtp_server, "access", "ann@acme.example", phone=SHARED_PHONE)
    assert tick(rights) == 1
    token = LINK.search(smtp_server.body(smtp_server.to("ann@acme.example")[-1]))
    assert token
    _name, _media, content = open_export(rights, token.group(1))
    texts = phone_texts(rights)
    if content.startswith(b"%PDF"):
        password = texts[-1]["text"].rsplit(": ", 1)[1] if texts else ""
        with pikepdf.open(io.BytesIO(content), password=password) as pdf:
            content = pdf.attachments["data.json"].get_file().read_bytes()
    exported = json.dumps(json.loads(content))
    assert "Ann's question" in exported
    for bob in ("Bob", "bob@acme.example", "Bob's question"):
        assert bob not in exported

    confirm(rights, smtp_server, "erasure", "bob@acme.example", phone=SHARED_PHONE)
    tick(rights)
    assert registry.find_subject("email", "bob@acme.example") is None
    ann = registry.find_subject("email", "ann@acme.example")
    assert ann is not None
    [record] = registry.records_for(ann)
    assert record.payload is not None
    assert record.payload["note_text"] == "Ann's question"
    assert registry.holds_identity(ann, "phone", SHARED_PHONE)


def test_connected_systems_are_not_searched_by_a_shared_phone(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink
) -> None:
    shop_url = db_url if db_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'shop.db'}"
    shop = fill(shop_url)
    with shop.begin() as conn:  # Ada and Bob, customers of the shop, on one office line
        conn.execute(
            sa.text("UPDATE customer SET phone = :p WHERE id IN (1, 2)"), {"p": SHARED_PHONE}
        )
    folder = tmp_path / "connectors"
    folder.mkdir()
    (folder / "shop.yml").write_text(dataset_yaml(shop_url))
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        smtp_port=smtp_server.port,
        second_factor="phone_code",
        connectors_dir=folder,
        connector_hash_salt="pepper",
    )
    db = Database(db_url, master_key=b"k" * 32)
    db.upgrade()
    service = build_service(settings, db=db, connectors=load_connectors(settings, db))
    try:
        Registry(db).ingest(person("ada@example.com", name="Ada"))
        confirm(service, smtp_server, "access", "ada@example.com", phone=SHARED_PHONE)
        tick(service)
        token = LINK.search(smtp_server.body(smtp_server.to("ada@example.com")[-1]))
        assert token
        password = phone_texts(service)[-1]["text"].rsplit(": ", 1)[1]
        _, _, content = open_export(service, token.group(1))
        with pikepdf.open(io.BytesIO(content), password=password) as pdf:
            data = json.loads(pdf.attachments["data.json"].get_file().read_bytes())
    finally:
        db.dispose()
    [shop_answer] = [s for s in data["other_systems"] if s["connector"] == "Shop database"]
    assert [c["name"] for c in shop_answer["records"]["customer"]] == ["Ada"]
    assert "bob@example.com" not in json.dumps(data)


# --- property: any interleaving of people sharing phones, names and companies ----------------

PEOPLE = 6
_people = st.integers(min_value=0, max_value=PEOPLE - 1)


@st.composite
def _submission(draw: st.DrawFn) -> tuple[int, list[tuple[str, str]]]:
    """One submission by person ``p``: sometimes their e-mail or customer id, with phones,
    names and companies drawn from small pools that people share."""
    p = draw(_people)
    identities: list[tuple[str, str]] = []
    if draw(st.booleans()):
        identities.append(("email", f"p{p}@acme.example"))
    if draw(st.booleans()):
        identities.append(("customer_id", f"C-{p}"))
    for kind, pool in (
        ("phone", ["+4722000000", "+4721929300"]),
        ("name", ["Ann Able", "Sam Smith"]),
        ("name_company", ["sam smith | acme", "ann able | acme"]),
        ("visitor_id", ["v-1", "v-2"]),
    ):
        if draw(st.booleans()):
            identities.append((kind, draw(st.sampled_from(pool))))
    if not identities:
        identities.append(("phone", "+4722000000"))
    return p, identities


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    submissions=st.lists(_submission(), min_size=1, max_size=12),
    cuts=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=6),
)
def test_no_interleaving_gives_one_persons_record_to_another(
    db: Database,
    submissions: list[tuple[int, list[tuple[str, str]]]],
    cuts: list[int],
) -> None:
    registry = Registry(db)
    run = os.urandom(4).hex()  # one database for every example: keep each example's own

    def tag(kind: str, value: str) -> str:
        return f"{run}{value}" if kind in ("email", "customer_id") else value

    stored: list[tuple[int, str]] = []  # (person, subject public id)
    position, step = 0, 0
    while position < len(submissions):
        size = cuts[step % len(cuts)]
        step += 1
        chunk = submissions[position : position + size]
        position += size
        batch = [
            form([IdentityIn(k, tag(k, v)) for k, v in ids], person=p, run=run) for p, ids in chunk
        ]
        for (p, _), (subject, _) in zip(chunk, registry.ingest_many(batch), strict=True):
            stored.append((p, subject.public_id))
    owners: dict[str, set[int]] = {}
    for p, public_id in stored:
        owners.setdefault(public_id, set()).add(p)
    # every subject holds one person's records only
    for public_id in owners:
        subject = registry.get_subject(public_id)
        people = {r.payload["person"] for r in registry.records_for(subject) if r.payload}
        assert len(people) <= 1, people
    # and finding a person by e-mail or customer id never gives someone else
    for p in range(PEOPLE):
        for kind, value in (("email", f"{run}p{p}@acme.example"), ("customer_id", f"{run}C-{p}")):
            found = registry.find_subject(kind, value)
            if found is not None:
                people = {r.payload["person"] for r in registry.records_for(found) if r.payload}
                assert people == {p}


# --- the review queue over HTTP ------------------------------------------------------------


def test_staff_list_and_decide_reviews_over_http(tmp_path: Path, db_url: str) -> None:
    client = TestClient(make_app(tmp_path, db_url))
    db = database(client.app)  # type: ignore[arg-type]
    registry = Registry(db)
    ann, _ = registry.ingest(form([IdentityIn("email", "ann@acme.example")], n=1))
    bob, _ = registry.ingest(form([IdentityIn("customer_id", "C-42")], n=2))
    held, _ = registry.ingest(
        form([IdentityIn("email", "ann@acme.example"), IdentityIn("customer_id", "C-42")], n=3)
    )
    with db.session() as session:
        _, token = create_api_token(session, "dpo", ["intake:read", "intake:write"])
    staff = {"authorization": f"Bearer {token}"}
    url = "/api/v1/intake/identity-reviews"

    assert client.get(url).status_code == 401
    [listed] = client.get(url, headers=staff).json()
    assert listed["subject_public_id"] == held.public_id
    assert {m["subject"] for m in listed["matches"]} == {ann.public_id, bob.public_id}
    assert "ann@acme.example" not in json.dumps(listed)

    wrong = client.post(
        f"{url}/{listed['id']}/decision", json={"merge_into": "nobody"}, headers=staff
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "invalid_input"
    decided = client.post(
        f"{url}/{listed['id']}/decision", json={"merge_into": bob.public_id}, headers=staff
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["outcome"] == "merged"
    assert client.get(url, headers=staff).json() == []
    assert sorted(r.payload["n"] for r in registry.records_for(bob) if r.payload) == [2, 3]
    assert [r.payload for r in registry.records_for(ann)] == [{"n": 1}]
    again = client.post(f"{url}/{listed['id']}/decision", json={}, headers=staff)
    assert again.status_code == 409
