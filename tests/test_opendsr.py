"""OpenDSR v2 endpoint: a controller sends requests; the connectors fulfil them; callbacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi.testclient import TestClient

from _connectors_shop import dataset_yaml, fill
from _crm_server import CONNECTOR_YAML, CRM, TOKEN, seed, serve
from privacyops.accounts import create_api_token
from privacyops.processor.opendsr import process_pending
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.web.app import create_app
from privacyops.web.routes.opendsr import app_connectors

SECRET = "opendsr-shared-secret"


@pytest.fixture
def callbacks() -> Iterator[tuple[list[tuple[dict[str, Any], dict[str, str], bytes]], str]]:
    seen: list[tuple[dict[str, Any], dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((json.loads(raw), dict(self.headers), raw))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield seen, f"http://127.0.0.1:{server.server_address[1]}/callbacks"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def world(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Database, Settings, CRM, sa.Engine, str]]:
    """privacyops on ``db_url``, a shop database (SQLite) and the CRM server, connected."""
    monkeypatch.setenv("CRM_TOKEN", TOKEN)
    shop_url = f"sqlite:///{tmp_path / 'shop.sqlite'}"
    shop = fill(shop_url)
    crm = CRM()
    seed(crm)
    with serve(crm) as base_url:
        folder = tmp_path / "connectors"
        folder.mkdir()
        (folder / "shop.yml").write_text(dataset_yaml(shop_url))
        (folder / "crm.yml").write_text(CONNECTOR_YAML.format(base_url=base_url))
        settings = Settings(
            data_dir=tmp_path / "d",
            connectors_dir=folder,
            opendsr_secret=SECRET,
            connector_hash_salt="pepper",
            base_url="https://privacy.example",
        )
        db = Database(db_url, master_key=b"k" * 32)
        db.upgrade()
        client = TestClient(create_app(settings, db=db))
        with db.session() as session:
            _, token = create_api_token(
                session, "acme-controller", ["requests:read", "requests:write"]
            )
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, db, settings, crm, shop, base_url


def body(kind: str, email: str, callback: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "subject_request_id": str(uuid.uuid4()),
        "subject_request_type": kind,
        "submitted_time": "2026-11-28T10:00:00Z",
        "subject_identities": [
            {"identity_type": "email", "identity_value": email, "identity_format": "raw"}
        ],
        "api_version": "2.0",
        **extra,
    }
    if callback:
        out["status_callback_urls"] = [callback]
    return out


def verify(raw: bytes, signature: str) -> bool:
    expected = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature)


def test_discovery(world: Any) -> None:
    client = world[0]
    answer = client.get("/opendsr/v2/discovery", headers={"Authorization": ""})
    assert answer.status_code == 200
    assert verify(answer.content, answer.headers["X-OpenDSR-Signature"])
    data = answer.json()
    assert data["supported_subject_request_types"] == ["access", "portability", "erasure"]
    assert {"identity_type": "controller_customer_id", "identity_format": "sha256"} in (
        data["supported_identities"]
    )
    assert data["connected_systems"] == ["Company CRM", "Shop database"]


def test_without_a_shared_secret_answers_are_signed_with_the_published_certificate(
    tmp_path: Path, db_url: str
) -> None:
    settings = Settings(data_dir=tmp_path / "d", base_url="https://privacy.example")
    db = Database(db_url, master_key=b"k" * 32)
    db.upgrade()
    client = TestClient(create_app(settings, db=db))
    answer = client.get("/opendsr/v2/discovery")
    assert answer.status_code == 200
    data = answer.json()
    assert data["signature"] == "rsa-sha256"
    assert data["processor_certificate"] == "https://privacy.example/opendsr/v2/certificate"
    pem = client.get("/opendsr/v2/certificate")
    assert pem.status_code == 200
    certificate = x509.load_pem_x509_certificate(pem.content)
    assert certificate.subject.rfc4514_string() == "CN=privacy.example"
    public = certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    signature = base64.b64decode(answer.headers["X-OpenDSR-Signature"])
    public.verify(signature, answer.content, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):  # a changed body does not verify
        public.verify(signature, answer.content + b" ", padding.PKCS1v15(), hashes.SHA256())
    assert answer.headers["X-OpenDSR-Processor-Domain"] == "privacy.example"
    key_file = tmp_path / "d" / "opendsr-key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    # the same key signs the next answers (it is kept, not made anew)
    again = client.get("/opendsr/v2/discovery")
    public.verify(
        base64.b64decode(again.headers["X-OpenDSR-Signature"]),
        again.content,
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    db.dispose()


def test_access_request_end_to_end_with_callbacks(world: Any, callbacks: Any) -> None:
    client, db, settings, _crm, _shop, _ = world
    seen, url = callbacks
    sent = body("access", "ada@example.com", url)
    created = client.post("/opendsr/v2/requests", json=sent)
    assert created.status_code == 201, created.text
    assert verify(created.content, created.headers["X-OpenDSR-Signature"])
    assert created.json()["subject_request_id"] == sent["subject_request_id"]
    assert created.json()["controller_id"] == "acme-controller"
    rid = sent["subject_request_id"]
    assert client.get(f"/opendsr/v2/requests/{rid}").json()["request_status"] == "pending"

    assert process_pending(db, settings, app_connectors_of(client)) == 1
    status = client.get(f"/opendsr/v2/requests/{rid}").json()
    assert status["request_status"] == "completed"
    assert status["results_count"] == 8 + 10  # shop rows + CRM records
    assert [c[0]["request_status"] for c in seen] == ["in_progress", "completed"]
    for payload, headers, raw in seen:
        assert payload["status_callback_url"] == url
        assert verify(raw, headers["X-OpenDSR-Signature"])
        assert headers["X-OpenDSR-Processor-Domain"] == "privacy.example"
    results = client.get(status["results_url"].replace("https://privacy.example", "")).json()
    systems = {s["connector"]: s for s in results["systems"]}
    assert systems["Shop database"]["records"]["customer"][0]["name"] == "Ada"
    assert len(systems["Company CRM"]["records"]["contacts"]) == 3


def test_erasure_request_reaches_database_and_crm(world: Any) -> None:
    client, db, settings, crm, shop, _ = world
    sent = body("erasure", "ada@example.com")
    assert client.post("/opendsr/v2/requests", json=sent).status_code == 201
    assert process_pending(db, settings, app_connectors_of(client)) == 1
    status = client.get(f"/opendsr/v2/requests/{sent['subject_request_id']}").json()
    assert status["request_status"] == "completed"
    assert "results_url" not in status
    with shop.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM customer WHERE id = 1")).scalar() is None
    assert set(crm.contacts) == {4}


def test_a_connector_that_is_down_keeps_the_request_in_progress(world: Any) -> None:
    client, db, settings, crm, _shop, _ = world
    sent = body("erasure", "ada@example.com")
    client.post("/opendsr/v2/requests", json=sent)
    crm.faults.extend(["503"] * 20)
    assert process_pending(db, settings, app_connectors_of(client)) == 0
    rid = sent["subject_request_id"]
    assert client.get(f"/opendsr/v2/requests/{rid}").json()["request_status"] == "in_progress"
    crm.faults.clear()
    assert process_pending(db, settings, app_connectors_of(client)) == 1
    assert client.get(f"/opendsr/v2/requests/{rid}").json()["request_status"] == "completed"


def test_cancel_while_pending_only(world: Any, callbacks: Any) -> None:
    client, db, settings, _crm, _shop, _ = world
    seen, url = callbacks
    sent = body("erasure", "bob@example.com", url)
    client.post("/opendsr/v2/requests", json=sent)
    rid = sent["subject_request_id"]
    cancelled = client.delete(f"/opendsr/v2/requests/{rid}")
    assert cancelled.status_code == 202
    assert client.get(f"/opendsr/v2/requests/{rid}").json()["request_status"] == "cancelled"
    assert seen[-1][0]["request_status"] == "cancelled"
    again = client.delete(f"/opendsr/v2/requests/{rid}")
    assert again.status_code == 409
    assert process_pending(db, settings, app_connectors_of(client)) == 0


def test_sha256_identity_and_bad_requests(world: Any) -> None:
    client = world[0]
    digest = hashlib.sha256(b"ada@example.com").hexdigest()
    hashed = body("access", "x")
    hashed["subject_identities"] = [
        {"identity_type": "email", "identity_value": digest, "identity_format": "sha256"}
    ]
    assert client.post("/opendsr/v2/requests", json=hashed).status_code == 201
    assert client.post("/opendsr/v2/requests", json=hashed).status_code == 409  # same id

    wrong = body("rectification", "ada@example.com")
    answer = client.post("/opendsr/v2/requests", json=wrong)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_input"
    assert "ada@example.com" not in answer.text
    unknown = body("access", "ada@example.com")
    unknown["subject_identities"][0]["identity_type"] = "ios_advertising_id"
    assert client.post("/opendsr/v2/requests", json=unknown).status_code == 400


def test_requests_need_a_token_with_the_scope(world: Any) -> None:
    client, db, *_ = world
    sent = body("access", "ada@example.com")
    assert (
        client.post("/opendsr/v2/requests", json=sent, headers={"Authorization": ""}).status_code
        == 401
    )
    with db.session() as session:
        _, reader = create_api_token(session, "reader", ["requests:read"])
    denied = client.post(
        "/opendsr/v2/requests", json=sent, headers={"Authorization": f"Bearer {reader}"}
    )
    assert denied.status_code == 403
    # another controller cannot see this one's requests
    client.post("/opendsr/v2/requests", json=sent)
    other = client.get(
        f"/opendsr/v2/requests/{sent['subject_request_id']}",
        headers={"Authorization": f"Bearer {reader}"},
    )
    assert other.status_code == 404


def app_connectors_of(client: TestClient) -> Any:
    class _Req:
        app = client.app

    return app_connectors(_Req())  # type: ignore[arg-type]


def test_a_manual_connector_keeps_the_request_in_progress_until_staff_answer(
    world: Any, tmp_path: Path
) -> None:
    from privacyops.connectors import complete_task, list_tasks, load_connectors

    client, db, settings, *_ = world
    (settings.connectors_dir / "trello.yml").write_text(
        "connector: {name: trello, type: manual, system: Trello}\n"
    )
    connectors = load_connectors(settings, db)
    sent = body("erasure", "ada@example.com")
    client.post("/opendsr/v2/requests", json=sent)
    rid = sent["subject_request_id"]
    assert process_pending(db, settings, connectors) == 0
    assert client.get(f"/opendsr/v2/requests/{rid}").json()["request_status"] == "in_progress"
    (task,) = list_tasks(db)
    assert task.request_ref == rid
    complete_task(db, task.id, outcome="cards deleted", actor="staff:1")
    assert process_pending(db, settings, connectors) == 1
    assert client.get(f"/opendsr/v2/requests/{rid}").json()["request_status"] == "completed"
