"""A person makes a request in the privacy center; staff follow it on the dashboard."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from _mailbox import Mailbox, smtp_server
from _rights import code_in
from _web import browser, csrf, database, login, make_app
from privacyops.rights.engine import tick
from privacyops.rights.models import RightsRequest
from privacyops.web.routes.rights import rights_service


@pytest.fixture
def mail() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def client(tmp_path: Path, mail: tuple[Mailbox, int]) -> TestClient:
    _, port = mail
    return browser(make_app(tmp_path, smtp_port=port, second_factor="none"))


def _file(client: TestClient, **fields: str) -> tuple[str, object]:
    page = client.get("/privacy/requests/new")
    data = {"csrf_token": csrf(page.text), "confirm": "on", **fields}
    return page.text, client.post("/privacy/requests", data=data, follow_redirects=False)


def _code(box: Mailbox) -> str:
    return code_in(box.bodies()[-1])


def test_access_request_from_form_to_password_protected_export(
    client: TestClient, mail: tuple[Mailbox, int]
) -> None:
    box, _ = mail
    _, response = _file(client, type="access", email="ada@example.com")
    assert response.status_code == 303  # type: ignore[attr-defined]
    status_url = response.headers["location"]  # type: ignore[attr-defined]
    assert "ada" not in status_url
    status = client.get(status_url)
    assert "awaiting identity" in status.text
    assert "Answer due by" in status.text
    wrong = client.post(
        f"{status_url}/verify", data={"csrf_token": csrf(status.text), "code": "000000"}
    )
    assert wrong.status_code == 400
    verified = client.post(
        f"{status_url}/verify", data={"csrf_token": csrf(wrong.text), "code": _code(box)}
    )
    assert verified.status_code == 200, verified.text
    assert "the code is right" in verified.text
    service = rights_service(type("R", (), {"app": client.app})())  # type: ignore[arg-type]
    tick(service)
    done = client.get(status_url)
    assert "completed" in done.text
    bodies = box.bodies()
    link = re.search(r"(/api/v1/rights/exports/\S+)", "\n".join(bodies))
    password = re.search(r"password of the file .* is: (\S+)", "\n".join(bodies))
    assert link
    assert password
    assert "Download my data" in client.get(link.group(1)).text  # spends nothing
    pdf = client.post(link.group(1))
    assert pdf.status_code == 200
    with pikepdf.open(io.BytesIO(pdf.content), password=password.group(1)) as doc:
        assert len(doc.pages) >= 1
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(pdf.content))
    assert client.post(link.group(1)).status_code == 400  # once only
    dead = client.get(link.group(1), headers={"accept": "text/html"})
    assert dead.status_code == 410
    assert "This link no longer works" in dead.text


def test_form_problems_are_shown_and_nothing_is_stored(client: TestClient) -> None:
    page = client.get("/privacy/requests/new")
    response = client.post(
        "/privacy/requests",
        data={
            "csrf_token": csrf(page.text),
            "type": "rectification",
            "email": "not-an-address",
            "category": "no-such-category",
            "note": "x" * 5000,
        },
    )
    assert response.status_code == 422
    for message in (
        "E-mail address: give a valid address",
        "What to correct: choose one of the options offered.",
        "The correct value is required.",
        "Anything we should know is too long",
        "Confirm that the request is about your own data.",
    ):
        assert message in response.text
    assert 'value="not-an-address"' in response.text  # kept for correction
    db = database(client.app)  # type: ignore[arg-type]
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(RightsRequest)) == 0


def test_replayed_request_form_is_refused_and_stores_nothing_twice(client: TestClient) -> None:
    page = client.get("/privacy/requests/new")
    data = {
        "csrf_token": csrf(page.text),
        "type": "access",
        "email": "bob@example.com",
        "confirm": "on",
    }
    assert client.post("/privacy/requests", data=data, follow_redirects=False).status_code == 303
    again = client.post("/privacy/requests", data=data)
    assert again.status_code == 400
    assert "already sent" in again.text
    assert 'value="bob@example.com"' in again.text
    db = database(client.app)  # type: ignore[arg-type]
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(RightsRequest)) == 1


def test_public_form_is_rate_limited(tmp_path: Path, mail: tuple[Mailbox, int]) -> None:
    client = browser(make_app(tmp_path, smtp_port=mail[1], public_form_posts_per_minute=2))
    codes = [
        _file(client, type="access", email=f"p{i}@example.com")[1].status_code for i in range(3)
    ]  # type: ignore[attr-defined]
    assert codes == [303, 303, 429]


def test_status_page_without_the_key_asks_for_it(client: TestClient) -> None:
    _, response = _file(client, type="access", email="eve@example.com")
    url = response.headers["location"]  # type: ignore[attr-defined]
    other = browser(client.app)  # type: ignore[arg-type]
    page = other.get(url)
    assert "enter the key" in page.text
    bad = other.post(f"{url}/open", data={"csrf_token": csrf(page.text), "key": "nope"})
    assert bad.status_code == 400


def test_dpo_sees_the_clock_extends_with_a_reason_and_sees_the_audit_event(
    client: TestClient,
) -> None:
    _, response = _file(client, type="erasure", email="carl@example.com")
    rid = response.headers["location"].rsplit("/", 1)[1]  # type: ignore[attr-defined]
    staff = browser(client.app)  # type: ignore[arg-type]
    login(staff, "dpo")
    listing = staff.get("/dashboard/requests")
    assert rid in listing.text
    assert re.search(r"\d+ d</span>", listing.text)
    page = staff.get(f"/dashboard/requests/{rid}")
    assert "days left" in page.text
    empty = staff.post(
        f"/dashboard/requests/{rid}/extend", data={"csrf_token": csrf(page.text), "reason": " "}
    )
    assert empty.status_code == 422
    assert "Reason is required." in empty.text
    done = staff.post(
        f"/dashboard/requests/{rid}/extend",
        data={"csrf_token": csrf(empty.text), "reason": "Many systems to search"},
    )
    assert done.status_code == 200, done.text
    assert "Extended by two months" in done.text
    assert "rights.request.extended" in done.text
    assert "Many systems to search" in done.text
    twice = staff.post(
        f"/dashboard/requests/{rid}/extend",
        data={"csrf_token": csrf(done.text), "reason": "again"},
    )
    assert "already extended" in twice.text


def test_auditor_reads_requests_but_cannot_act(client: TestClient) -> None:
    _, response = _file(client, type="erasure", email="dan@example.com")
    rid = response.headers["location"].rsplit("/", 1)[1]  # type: ignore[attr-defined]
    staff = browser(client.app)  # type: ignore[arg-type]
    login(staff, "auditor")
    page = staff.get(f"/dashboard/requests/{rid}")
    assert page.status_code == 200
    assert "Extend by two months" not in page.text
    refused = staff.post(
        f"/dashboard/requests/{rid}/extend", data={"csrf_token": csrf(page.text), "reason": "x"}
    )
    assert refused.status_code == 403


def test_erasure_form_carries_the_ground_to_the_answer(
    client: TestClient, mail: tuple[Mailbox, int]
) -> None:
    box, _ = mail
    page, response = _file(
        client, type="erasure", email="eva@example.com", erasure_ground="objection"
    )
    assert "I object to its use (Art. 17(1)(c))." in page
    assert response.status_code == 303  # type: ignore[attr-defined]
    status_url = response.headers["location"]  # type: ignore[attr-defined]
    status = client.get(status_url)
    verified = client.post(
        f"{status_url}/verify", data={"csrf_token": csrf(status.text), "code": _code(box)}
    )
    assert verified.status_code == 200, verified.text
    tick(rights_service(type("R", (), {"app": client.app})()))  # type: ignore[arg-type]
    answer = box.bodies()[-1]
    assert "because you objected to our use of your data (GDPR Article 17(1)(c))" in answer
    assert "We held no personal data about you." in answer


def test_erasure_form_refuses_an_unknown_ground(client: TestClient) -> None:
    _, response = _file(client, type="erasure", email="eva@example.com", erasure_ground="x")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "The ground: choose one of the options offered." in response.text  # type: ignore[attr-defined]
