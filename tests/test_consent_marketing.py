"""Marketing e-mail consent by double opt-in: a link by e-mail (a real SMTP server), confirmed
only by pressing the page's button, withdrawable with the same link; the check endpoint follows."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests.conftest import SmtpSink

from privacyops.consent.models import MarketingConsent
from privacyops.settings import Settings
from privacyops.store import open_database
from privacyops.web.app import create_app

SITE = "https://www.example.com"
EMAIL = "ada@example.com"


@pytest.fixture
def client(settings: Settings, db_url: str, smtp_server: SmtpSink) -> Iterator[TestClient]:
    settings = settings.model_copy(
        update={
            "site_origins": [SITE],
            "database_url": db_url,
            "smtp_port": smtp_server.port,
            "base_url": "https://privacy.example.com",
        }
    )
    db = open_database(settings)
    app = create_app(settings, db=db)
    with TestClient(app) as c:
        yield c
    service = getattr(app.state, "consent", None)
    if service is not None:
        service.close()
    db.dispose()


def _rows(client: TestClient) -> list[MarketingConsent]:
    db = client.app.state.db  # type: ignore[attr-defined]  # FastAPI keeps it on state
    with db.session() as session:
        return list(session.scalars(sa.select(MarketingConsent).order_by(MarketingConsent.id)))


def _token(smtp_server: SmtpSink, kind: str) -> str:
    (message,) = smtp_server.to(EMAIL)
    found = re.search(
        rf"/api/v1/consent/marketing/{kind}\?token=([A-Za-z0-9_-]+)", smtp_server.body(message)
    )
    assert found is not None
    return found.group(1)


def _check(client: TestClient) -> dict[str, object]:
    service = client.app.state.consent  # type: ignore[attr-defined]
    return service.check(purpose="marketing-updates", email=EMAIL).to_dict()  # type: ignore[no-any-return]


def test_double_opt_in_confirm_then_withdraw(client: TestClient, smtp_server: SmtpSink) -> None:
    asked = client.post(
        "/api/v1/consent/marketing", json={"email": EMAIL}, headers={"Origin": SITE}
    )
    assert asked.status_code == 202
    (row,) = _rows(client)
    assert row.status == "pending"
    assert EMAIL not in (row.subject_id + row.token_hash)  # the address lives in the registry
    assert _check(client)["allow"] is False

    token = _token(smtp_server, "confirm")
    # Opening the link (a mail scanner does that too) changes nothing.
    page = client.get(f"/api/v1/consent/marketing/confirm?token={token}")
    assert page.status_code == 200
    assert "<form" in page.text
    assert _rows(client)[0].status == "pending"

    done = client.post("/api/v1/consent/marketing/confirm", data={"token": token})
    assert done.status_code == 200
    assert _rows(client)[0].status == "confirmed"
    decision = _check(client)
    assert decision["allow"] is True
    assert decision["rule"] == "opt_in"

    gone = client.post(
        "/api/v1/consent/marketing/withdraw", data={"token": _token(smtp_server, "withdraw")}
    )
    assert gone.status_code == 200
    assert _rows(client)[0].status == "withdrawn"
    assert _check(client)["allow"] is False
    again = client.post("/api/v1/consent/marketing/confirm", data={"token": token})
    assert again.status_code == 400


def test_a_wrong_token_is_refused(client: TestClient) -> None:
    response = client.post("/api/v1/consent/marketing/confirm", data={"token": "forged"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "verification_failed"


def test_nothing_is_stored_when_the_mail_cannot_be_sent(settings: Settings, db_url: str) -> None:
    settings = settings.model_copy(
        update={"site_origins": [SITE], "database_url": db_url, "smtp_port": 1}
    )
    db = open_database(settings)
    app = create_app(settings, db=db)
    try:
        with TestClient(app) as c:
            response = c.post("/api/v1/consent/marketing", json={"email": EMAIL})
            assert response.status_code == 503
            with db.session() as session:
                assert session.scalars(sa.select(MarketingConsent)).all() == []
    finally:
        db.dispose()


def test_a_malformed_address_is_refused(client: TestClient) -> None:
    response = client.post("/api/v1/consent/marketing", json={"email": "not an address"})
    assert response.status_code in (400, 422)
    assert _rows(client) == []


def test_opt_in_links_the_visitor_so_the_subjects_receipt_holds_both(
    client: TestClient, smtp_server: SmtpSink
) -> None:
    from privacyops.consent.records import ChoiceIn, RequestContext
    from privacyops.store import Registry

    client.get("/api/v1/consent/config")  # builds the app's consent service
    service = client.app.state.consent  # type: ignore[attr-defined]
    banner = service.banner
    visitor = "e" * 32
    service.record(
        ChoiceIn(
            visitor_id=visitor,
            action="reject",
            categories={"necessary": True},
            banner_version=banner.banner_version,
            policy_version=banner.policy_version,
            language="en",
            text_hash=banner.text_hashes["en"],
        ),
        RequestContext(ip="192.0.2.1"),
    )
    asked = client.post("/api/v1/consent/marketing", json={"email": EMAIL, "visitor_id": visitor})
    assert asked.status_code == 202
    client.post("/api/v1/consent/marketing/confirm", data={"token": _token(smtp_server, "confirm")})
    subject = Registry(service.db).find_subject("email", EMAIL)
    assert subject is not None
    receipt = service.receipt(subject_id=subject.public_id)["receipt"]
    assert [r["action"] for r in receipt["history"]] == ["reject"]
    assert receipt["marketingEmail"][0]["status"] == "confirmed"
    assert receipt["piiPrincipalId"] == f"subject:{subject.public_id}"
