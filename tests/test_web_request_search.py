"""Staff find requests by reference, e-mail address or phone number (blind indexes only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from _mailbox import Mailbox, smtp_server
from _web import browser, csrf, database, login, make_app
from privacyops.audit import AuditEvent
from privacyops.rights.models import RightsRequest
from privacyops.web.routes.rights import rights_service


@pytest.fixture
def mail() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def client(tmp_path: Path, db_url: str, mail: tuple[Mailbox, int]) -> TestClient:
    _, port = mail
    return browser(make_app(tmp_path, db_url, smtp_port=port, second_factor="none"))


def _service(client: TestClient):  # type: ignore[no-untyped-def]
    return rights_service(type("R", (), {"app": client.app})())  # type: ignore[arg-type]


def _search(client: TestClient, q: str) -> object:
    page = client.get("/dashboard/requests")
    return client.post("/dashboard/requests/search", data={"csrf_token": csrf(page.text), "q": q})


def test_find_requests_by_email_and_reference(client: TestClient) -> None:
    service = _service(client)
    anna = service.submit("access", "Anna.Berg@Example.com").request_id
    anna2 = service.submit("erasure", "anna.berg@example.com").request_id
    other = service.submit("access", "carl@example.com").request_id
    login(client, "dpo")
    found = _search(client, "ANNA.BERG@example.com")
    assert found.status_code == 200  # type: ignore[attr-defined]
    html = found.text  # type: ignore[attr-defined]
    assert "2 requests found by e-mail address" in html
    assert anna in html
    assert anna2 in html
    assert other not in html
    assert "anna.berg" not in html.lower().replace('value="anna.berg@example.com"', "")
    by_ref = _search(client, other)
    assert "1 request found by reference" in by_ref.text  # type: ignore[attr-defined]
    assert f'href="/dashboard/requests/{other}"' in by_ref.text  # type: ignore[attr-defined]
    nobody = _search(client, "nobody@example.com")
    assert "0 requests found" in nobody.text  # type: ignore[attr-defined]
    assert "No request found." in nobody.text  # type: ignore[attr-defined]
    # audited, without the text searched for
    db = database(client.app)  # type: ignore[arg-type]
    with db.read_session() as session:
        details = list(
            session.scalars(
                sa.select(AuditEvent.details).where(AuditEvent.details.contains('"search"'))
            )
        )
    assert len(details) == 3
    assert all("example.com" not in d for d in details)
    # no plaintext address is stored with the request
    with db.read_session() as session:
        row = session.scalar(sa.select(RightsRequest).where(RightsRequest.public_id == anna))
        assert row is not None
        assert b"anna" not in bytes(row.identity_index)


def test_find_by_phone_through_the_registry(client: TestClient) -> None:
    login(client, "dpo")
    unknown = _search(client, "+47 219 29 300")
    assert unknown.status_code == 200  # type: ignore[attr-defined]
    assert "0 requests found by phone number" in unknown.text  # type: ignore[attr-defined]


def test_search_says_what_to_enter_and_checks_csrf(client: TestClient) -> None:
    login(client, "operator")
    bad = _search(client, "hello")
    assert bad.status_code == 422  # type: ignore[attr-defined]
    assert "Enter a request reference, an e-mail address or a phone number." in bad.text  # type: ignore[attr-defined]
    forged = client.post("/dashboard/requests/search", data={"csrf_token": "x", "q": "a@b.co"})
    assert forged.status_code == 400
    anonymous = browser(client.app)  # type: ignore[arg-type]
    assert anonymous.post(
        "/dashboard/requests/search", data={"q": "a@b.co"}, follow_redirects=False
    ).status_code in (302, 303, 401, 403)
