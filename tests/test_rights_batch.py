"""The runner's batches: many requests run together give each the answer it gets alone, and
the look-ups of a batch are one query each, however many requests it holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from tests._rights import all_recipients_reachable, submit_and_verify
from tests.conftest import SmtpSink
from tests.test_rights_workflow import ingest, make_service

from privacyops.rights.engine import tick
from privacyops.rights.service import RightsService
from privacyops.store.registry import IdentityIn, RecordIn, Registry, Submission


@pytest.fixture
def service(tmp_path: Path, db_url: str, smtp_server: SmtpSink) -> Iterator[RightsService]:
    svc = make_service(tmp_path, db_url, smtp_server, second_factor="none")
    svc.policy = all_recipients_reachable(svc.policy)
    yield svc
    svc.db.dispose()


def erasure(service: RightsService, smtp: SmtpSink, email: str) -> tuple[str, str]:
    receipt = submit_and_verify(service, smtp, "erasure", email, phone=None)
    return receipt.request_id, receipt.token


def test_a_mixed_batch_answers_each_request_as_alone(
    service: RightsService, smtp_server: SmtpSink
) -> None:
    registry = Registry(service.db)
    ingest(service, "plain@example.com", phone=None)
    held = ingest(service, "held@example.com", phone=None)
    registry.add_legal_hold(registry.get_subject(held), "tax audit 2026")
    ingest(service, "books@example.com", phone=None)
    registry.ingest(
        Submission(
            [IdentityIn("email", "books@example.com")],
            RecordIn(
                channel="customer",
                legal_basis="legal_obligation",
                policy_version="v3",
                payload={"invoice": "2026-4"},
            ),
        )
    )
    ingest(service, "twice@example.com", phone=None)
    requests = {
        "plain": erasure(service, smtp_server, "plain@example.com"),
        "held": erasure(service, smtp_server, "held@example.com"),
        "books": erasure(service, smtp_server, "books@example.com"),
        "twice-1": erasure(service, smtp_server, "twice@example.com"),
        "twice-2": erasure(service, smtp_server, "twice@example.com"),
        "nobody": erasure(service, smtp_server, "nobody@example.com"),
    }

    assert tick(service) == len(requests)  # one batch

    outcome = {k: service.status(rid, token) for k, (rid, token) in requests.items()}
    assert {k: o["state"] for k, o in outcome.items()} == dict.fromkeys(requests, "completed")
    assert outcome["plain"]["outcome"]["method"] == "crypto-shred"
    assert outcome["held"]["outcome"]["erased"] == 0
    assert "tax audit 2026" in outcome["held"]["outcome"]["kept"][0]["reason"]
    assert outcome["books"]["outcome"]["erased"] == 1
    assert "legal obligation" in outcome["books"]["outcome"]["kept"][0]["reason"]
    # the two requests of one person: both answered, the person erased once
    assert outcome["twice-1"]["outcome"]["method"] == "crypto-shred"
    assert outcome["twice-2"]["outcome"]["erased"] == 1
    assert outcome["nobody"]["outcome"]["erased"] == 0
    assert registry.find_subject("email", "plain@example.com") is None
    assert registry.find_subject("email", "twice@example.com") is None
    assert registry.find_subject("email", "held@example.com") is not None
    books = registry.find_subject("email", "books@example.com")
    assert books is not None
    assert [r.payload for r in registry.records_for(books)] == [{"invoice": "2026-4"}]
    # every requester got exactly one answer
    for email in ("plain", "held", "books", "nobody"):
        answers = [
            m for m in smtp_server.to(f"{email}@example.com") if "answered" in smtp_server.body(m)
        ]
        assert len(answers) == 1, email


def _lookups(service: RightsService, people: int, smtp: SmtpSink, prefix: str) -> Counter[str]:
    for i in range(people):
        ingest(service, f"{prefix}{i}@example.com", phone=None)
        erasure(service, smtp, f"{prefix}{i}@example.com")
    seen: Counter[str] = Counter()
    watched = ("personal_data_records", "legal_holds", "identities", "recipient_notices")

    def count(_c: object, _cur: object, statement: str, *_args: object) -> None:
        head = statement.lstrip().upper()
        if head.startswith("SELECT"):
            for table in watched:
                if f"FROM {table.upper()}" in head:
                    seen[table] += 1

    event.listen(service.db.engine, "before_cursor_execute", count)
    try:
        assert tick(service) == people
    finally:
        event.remove(service.db.engine, "before_cursor_execute", count)
    with service.db.session() as s:
        states = s.scalars(sa.text("SELECT state FROM rights_requests")).all()
    assert set(states) == {"completed"}
    return seen


def test_a_batch_looks_things_up_once_not_once_per_request(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink
) -> None:
    small = make_service(tmp_path / "a", db_url, smtp_server, second_factor="none")
    small.policy = all_recipients_reachable(small.policy)
    try:
        few = _lookups(small, 2, smtp_server, "few")
    finally:
        small.db.dispose()
    big = make_service(tmp_path / "b", db_url, smtp_server, second_factor="none")
    big.policy = all_recipients_reachable(big.policy)
    try:
        many = _lookups(big, 12, smtp_server, "many")
    finally:
        big.db.dispose()
    # the same number of queries for 12 erasures as for 2: none is asked per request
    assert many == few
    assert few["personal_data_records"] >= 1  # and they were counted
