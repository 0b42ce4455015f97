"""A request is given to a member of staff and carries internal comments (sealed, audited)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from _web import browser, csrf, database, login, make_app
from privacyops.audit import AuditEvent
from privacyops.rights.models import RequestComment, RightsRequest
from privacyops.web.routes.rights import rights_service


@pytest.fixture
def client(tmp_path: Path, db_url: str) -> TestClient:
    return browser(make_app(tmp_path, db_url, second_factor="none"))


def _submit(client: TestClient) -> str:
    service = rights_service(type("R", (), {"app": client.app})())  # type: ignore[arg-type]
    return str(service.submit("access", "dora@example.com").request_id)


def test_assign_and_comment(client: TestClient) -> None:
    rid = _submit(client)
    login(client, "dpo")
    page = client.get(f"/dashboard/requests/{rid}")
    assert "No one yet." in page.text
    assert "No comment yet." in page.text
    assigned = client.post(
        f"/dashboard/requests/{rid}/assign",
        data={"csrf_token": csrf(page.text), "assignee": "operator@example.com"},
    )
    assert assigned.status_code == 200
    assert '<p id="assignee">operator@example.com</p>' in assigned.text
    said = client.post(
        f"/dashboard/requests/{rid}/comments",
        data={"csrf_token": csrf(assigned.text), "comment": "Called Dora's manager, Erik."},
    )
    assert said.status_code == 200
    assert "Called Dora&#39;s manager, Erik." in said.text
    # the list shows the assignee and filters by it
    listing = client.get("/dashboard/requests?assignee=operator@example.com")
    assert rid in listing.text
    assert rid not in client.get("/dashboard/requests?assignee=dpo@example.com").text
    db = database(client.app)  # type: ignore[arg-type]
    with db.read_session() as session:
        sealed = session.scalars(sa.select(RequestComment.body_sealed)).one()
        assert b"Erik" not in sealed
        actions = list(
            session.scalars(
                sa.select(AuditEvent.details).where(AuditEvent.details.contains(f'"{rid}"'))
            )
        )
        assert (
            session.scalar(sa.select(RightsRequest.assignee).where(RightsRequest.public_id == rid))
            == "operator@example.com"
        )
    assert any('"assignee":"operator@example.com"' in d for d in actions)
    assert any('"characters":28' in d for d in actions)
    assert not any("Erik" in d for d in actions)


def test_bad_assignee_empty_comment_and_auditor(client: TestClient) -> None:
    rid = _submit(client)
    login(client, "dpo")
    page = client.get(f"/dashboard/requests/{rid}")
    stranger = client.post(
        f"/dashboard/requests/{rid}/assign",
        data={"csrf_token": csrf(page.text), "assignee": "someone@else.org"},
    )
    assert stranger.status_code == 422
    assert "Choose a member of staff from the list." in stranger.text
    page = client.get(f"/dashboard/requests/{rid}")
    empty = client.post(
        f"/dashboard/requests/{rid}/comments", data={"csrf_token": csrf(page.text), "comment": " "}
    )
    assert empty.status_code == 422
    assert "Write a comment." in empty.text
    auditor = browser(client.app)  # type: ignore[arg-type]
    login(auditor, "auditor")
    read = auditor.get(f"/dashboard/requests/{rid}")
    assert 'action="/dashboard/requests/' + rid + '/assign"' not in read.text
    refused = auditor.post(
        f"/dashboard/requests/{rid}/comments", data={"csrf_token": csrf(read.text), "comment": "x"}
    )
    assert refused.status_code == 403
