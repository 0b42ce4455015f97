"""Mail you can see: with no SMTP server configured mail is kept, sealed, in a local outbox
that staff read at /dashboard/outbox (audited); a failing server is logged once per outage."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from _mailbox import free_port
from _rights import code_in
from _web import browser, csrf, database, login, make_app
from privacyops.audit.models import AuditEvent
from privacyops.errors import DependencyUnavailable
from privacyops.mail import send_mail
from privacyops.settings import Settings
from privacyops.store.models import LocalMail


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return browser(make_app(tmp_path, second_factor="none"))  # no smtp_* setting


def _file_request(client: TestClient, email: str) -> str:
    page = client.get("/privacy/requests/new")
    data = {"csrf_token": csrf(page.text), "confirm": "on", "type": "access", "email": email}
    response = client.post("/privacy/requests", data=data, follow_redirects=False)
    assert response.status_code == 303
    return str(response.headers["location"])


def test_with_no_smtp_server_the_code_mail_waits_in_the_outbox(client: TestClient) -> None:
    status_url = _file_request(client, "ada@example.com")
    status = client.get(status_url)
    assert "Mail can be delayed" in status.text

    # the outbox holds the mail sealed: neither address nor code in plaintext
    with database(client.app).read_session() as session:  # type: ignore[arg-type]
        sealed = session.scalars(sa.select(LocalMail.sealed)).all()
    assert len(sealed) == 1
    assert b"ada@example.com" not in sealed[0]

    assert client.get("/dashboard/outbox", follow_redirects=False).status_code in (303, 401)
    login(client, "operator")
    page = client.get("/dashboard/outbox")
    assert page.status_code == 200
    assert "no SMTP server is configured" in page.text
    assert "ada@example.com" in page.text
    code = code_in(page.text)

    # the code read there verifies the request
    status = client.get(status_url)
    done = client.post(
        f"{status_url}/verify",
        data={"csrf_token": csrf(status.text), "code": code},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert "awaiting identity" not in done.text

    with database(client.app).read_session() as session:  # type: ignore[arg-type]
        actions = session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action == "mail.outbox.read")
        ).all()
    assert actions == ["mail.outbox.read"]


def test_the_outbox_is_for_staff_who_act_on_requests(client: TestClient) -> None:
    anonymous = client.get("/dashboard/outbox", headers={"accept": "application/json"})
    assert anonymous.status_code == 401
    login(client, "auditor")
    assert client.get("/dashboard/outbox").status_code == 403


def test_a_configured_server_that_fails_is_logged_once_per_outage_with_host_and_port(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    settings = Settings(data_dir=tmp_path / "d", smtp_host="127.0.0.1", smtp_port=port)
    assert settings.effective_mail_transport == "smtp"
    caplog.set_level(logging.WARNING, logger="privacyops.mail")
    for _ in range(3):
        with pytest.raises(DependencyUnavailable):
            send_mail(settings, "ada@example.com", "Code", "123456")
    lines = [r.getMessage() for r in caplog.records if r.name == "privacyops.mail"]
    assert len(lines) == 1, lines
    assert f"127.0.0.1:{port}" in lines[0]
    assert "ConnectionRefusedError" in lines[0]
    assert "ada@example.com" not in lines[0]
