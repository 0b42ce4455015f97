"""Recipient notifications (GDPR Art. 19): e-mail and signed webhooks, acknowledgements,
reminders."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from _mailbox import Mailbox, smtp_server
from privacyops.errors import InvalidInput, NotFound
from privacyops.policy import default_policy_book
from privacyops.rights.notices import (
    NoticeTarget,
    acknowledge_notice,
    notices_for_request,
    notify_recipients,
    remind_notices,
    targets_from_manifest,
)
from privacyops.settings import Settings
from privacyops.store import Database, utcnow

SECRET = "hook-secret"


class Hook:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], str, bytes]] = []
        self.answer: dict[str, Any] = {"acknowledged": True}
        self.status = 200


@pytest.fixture
def hook() -> Iterator[tuple[Hook, str]]:
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((json.loads(body), self.headers["X-PrivacyOps-Signature"], body))
            out = json.dumps(state.answer).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def db(db_url: str) -> Database:
    database = Database(db_url, master_key=b"k" * 32)
    database.upgrade()
    return database


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[tuple[Mailbox, Settings]]:
    with smtp_server() as (box, port):
        yield (
            box,
            Settings(
                data_dir=tmp_path / "d",
                smtp_port=port,
                notice_webhook_secret=SECRET,
                base_url="https://privacy.example",
                connector_retries=1,
            ),
        )


def test_erasure_notice_by_email_and_acknowledgement(
    db: Database, mail: tuple[Mailbox, Settings]
) -> None:
    box, settings = mail
    targets = [NoticeTarget("hubspot", "HubSpot", email="privacy@hubspot.example")]
    (status,) = notify_recipients(
        db,
        settings,
        action="erasure",
        request_ref="REQ-9",
        subject_ref="s9",
        identities={"email": "ada@example.com"},
        targets=targets,
    )
    assert status.status == "sent"
    (msg,) = box.messages
    assert msg["To"] == "privacy@hubspot.example"
    body = box.bodies()[0]
    assert "erased" in body
    assert "ada@example.com" in body
    link = next(line.strip() for line in body.splitlines() if "/api/v1/notices/ack/" in line)
    token = link.rsplit("/", 1)[1]
    # calling again does not notify twice
    notify_recipients(
        db,
        settings,
        action="erasure",
        request_ref="REQ-9",
        identities={"email": "ada@example.com"},
        targets=targets,
    )
    assert len(box.messages) == 1
    acknowledged = acknowledge_notice(db, token)
    assert acknowledged.status == "acknowledged"
    told = [n.to_dict() for n in notices_for_request(db, "REQ-9")]
    assert told[0]["recipient"] == "HubSpot"
    assert told[0]["status"] == "acknowledged"
    with pytest.raises(NotFound):
        acknowledge_notice(db, "not-a-token")


def test_webhook_notice_is_signed_and_acknowledged_by_its_answer(
    db: Database, mail: tuple[Mailbox, Settings], hook: tuple[Hook, str]
) -> None:
    _, settings = mail
    state, url = hook
    (status,) = notify_recipients(
        db,
        settings,
        action="rectification",
        request_ref="REQ-10",
        identities={"email": "ada@example.com"},
        targets=[NoticeTarget("organiser", "Event organiser", webhook=url)],
    )
    assert status.status == "acknowledged"
    payload, signature, raw = state.received[0]
    assert payload["action"] == "rectification"
    assert payload["identities"] == {"email": ["ada@example.com"]}
    t, v1 = (part.split("=", 1)[1] for part in signature.split(","))
    expected = hmac.new(SECRET.encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(v1, expected)


def test_unanswered_notices_get_reminders_and_failed_ones_are_retried(
    db: Database, mail: tuple[Mailbox, Settings], hook: tuple[Hook, str]
) -> None:
    box, settings = mail
    state, url = hook
    state.answer = {"received": True}  # delivered, not acknowledged
    state.status = 200
    notify_recipients(
        db,
        settings,
        action="restriction",
        request_ref="REQ-11",
        identities={"email": "ada@example.com"},
        targets=[
            NoticeTarget("crm", "CRM vendor", webhook=url),
            NoticeTarget("mrp", "MRP", email="dpo@mrp.example"),
        ],
    )
    assert [n.status for n in notices_for_request(db, "REQ-11")] == ["sent", "sent"]
    assert remind_notices(db, settings) == 0  # not due yet
    later = utcnow() + timedelta(days=settings.notice_reminder_days, hours=1)
    assert remind_notices(db, settings, now=later) == 2
    assert state.received[-1][0]["reminder"] is True
    assert box.messages[-1]["Subject"].startswith("Reminder:")
    assert [n.reminders for n in notices_for_request(db, "REQ-11")] == [1, 1]

    state.status = 503  # a webhook that is down: the notice stays pending, visibly
    (down,) = notify_recipients(
        db,
        settings,
        action="erasure",
        request_ref="REQ-12",
        identities={"email": "bob@example.com"},
        targets=[NoticeTarget("crm", "CRM vendor", webhook=url)],
    )
    assert down.status == "pending"
    state.status = 200
    state.answer = {"acknowledged": True}
    assert remind_notices(db, settings) == 1
    assert notices_for_request(db, "REQ-12")[0].status == "acknowledged"


def test_targets_from_the_seed_manifest() -> None:
    manifest = default_policy_book().current
    recipient = manifest.recipients[0]
    processor = manifest.processors[0]
    targets, unreachable = targets_from_manifest(
        manifest, [recipient.id, processor.id], contacts={processor.id: "dpo@vendor.example"}
    )
    # the seed's recipient (event organisers) gives no address: the DPO must reach it by hand
    assert (recipient.notify_email, recipient.notify_webhook) == (None, None)
    assert unreachable == [recipient.id]
    assert targets == [NoticeTarget(processor.id, processor.name, email="dpo@vendor.example")]
    with pytest.raises(InvalidInput):
        targets_from_manifest(manifest, ["no-such-party"])


def test_only_rectification_erasure_restriction(db: Database, settings: Settings) -> None:
    with pytest.raises(InvalidInput):
        notify_recipients(db, settings, action="access", request_ref="R", identities={}, targets=[])


def test_ack_link_shows_a_button_and_post_acknowledges(
    db: Database, mail: tuple[Mailbox, Settings]
) -> None:
    from fastapi.testclient import TestClient

    from privacyops.web.app import create_app

    box, settings = mail
    notify_recipients(
        db,
        settings,
        action="erasure",
        request_ref="REQ-20",
        identities={"email": "ada@example.com"},
        targets=[NoticeTarget("hubspot", "HubSpot", email="privacy@hubspot.example")],
    )
    link = next(line.strip() for line in box.bodies()[0].splitlines() if "/notices/ack/" in line)
    path = link.removeprefix("https://privacy.example")
    client = TestClient(create_app(settings, db=db))
    page = client.get(path)
    assert page.status_code == 200
    assert "method=post" in page.text
    assert notices_for_request(db, "REQ-20")[0].status == "sent"  # opening the link is not enough
    done = client.post(path)
    assert done.json() == {"status": "acknowledged", "recipient": "HubSpot"}
    assert client.post("/api/v1/notices/ack/wrong").status_code == 404
    assert client.get("/api/v1/notices", params={"request_ref": "REQ-20"}).status_code == 401


def test_holders_of_a_channel_and_processor_contacts(tmp_path: Path, settings: Settings) -> None:
    from privacyops.connectors import ManualConnector, ManualConnectorSpec
    from privacyops.rights.notices import contacts_from_connectors, holders_from_channels

    manifest = default_policy_book().current
    channel = next(c for c in manifest.channels if c.processors)
    holders = holders_from_channels(manifest, [channel.id])
    assert holders[: len(channel.processors)] == channel.processors
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite'}", master_key=b"k" * 32)
    gmail = ManualConnector(
        ManualConnectorSpec(
            name="gmail", type="email", processor=channel.processors[0], to="dpo@vendor.example"
        ),
        db,
        settings,
    )
    contacts = contacts_from_connectors([gmail])
    assert contacts == {channel.processors[0]: "dpo@vendor.example"}
    targets, _ = targets_from_manifest(manifest, holders, contacts)
    assert [t.id for t in targets] == [channel.processors[0]]
