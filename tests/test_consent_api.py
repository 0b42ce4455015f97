"""The public consent API: recording choices with their proof, GPC, and every refusal
(wrong origin, flood, oversized or forged bodies) storing nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from privacyops.audit import AuditLog
from privacyops.consent.models import ConsentRecord
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.web.app import create_app

SITE = "https://www.example.com"
VISITOR = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def app_settings(settings: Settings, db_url: str) -> Settings:
    return settings.model_copy(
        update={"site_origins": [SITE], "database_url": db_url, "consent_rate_limit": 20}
    )


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    app = create_app(app_settings)
    with TestClient(app, client=("203.0.113.77", 50000)) as c:
        yield c
    service = getattr(app.state, "consent", None)
    if service is not None:
        service.close()
        service.db.dispose()


def _config(client: TestClient, lang: str = "en", **headers: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/consent/config?lang={lang}", headers=headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def choice(config: dict[str, Any], action: str, **overrides: Any) -> dict[str, Any]:
    """A choice as the banner script builds it."""
    grant = action == "accept"
    categories = {c["id"]: c["id"] == "necessary" or grant for c in config["categories"]}
    vendors = {v["id"]: categories[c["id"]] for c in config["categories"] for v in c["vendors"]}
    body = {
        "visitor_id": VISITOR,
        "action": action,
        "categories": categories,
        "vendors": vendors,
        "banner_version": config["banner_version"],
        "policy_version": config["policy_version"],
        "language": config["language"],
        "text_hash": config["text_hash"],
        "page_url": f"{SITE}/services?utm_source=mail&email=ada@example.com#top",
        "gpc": False,
    }
    body.update(overrides)
    return body


def post(client: TestClient, body: Any, **headers: str) -> Any:
    return client.post(
        "/api/v1/consent",
        content=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers={"Origin": SITE, "Content-Type": "application/json", **headers},
    )


def rows(settings: Settings) -> list[ConsentRecord]:
    db = Database(settings.effective_database_url)
    db.upgrade()  # a refused choice may be the first call: the schema may not exist yet
    try:
        with db.session() as session:
            return list(session.scalars(sa.select(ConsentRecord).order_by(ConsentRecord.id)))
    finally:
        db.dispose()


def test_reject_then_accept_are_recorded_with_their_proof(
    client: TestClient, app_settings: Settings
) -> None:
    config = _config(client)
    first = post(client, choice(config, "reject"), **{"User-Agent": "TestBrowser/1.0"})
    assert first.status_code == 201, first.text
    assert first.headers["access-control-allow-origin"] == SITE
    assert first.json()["previous_record_id"] is None
    second = post(client, choice(config, "accept"))
    assert second.status_code == 201
    assert second.json()["previous_record_id"] == first.json()["record_id"]

    stored = rows(app_settings)
    assert [r.action for r in stored] == ["reject", "accept"]
    reject, accept = stored
    assert [reject.analytics, reject.advertising, reject.widgets] == [False, False, False]
    assert accept.analytics
    assert accept.advertising
    assert accept.widgets
    # Every vendor has a state, refusals included.
    vendor_ids = {v["id"] for c in config["categories"] for v in c["vendors"]}
    assert set(json.loads(reject.vendors)) == vendor_ids
    assert not any(json.loads(reject.vendors).values())
    assert reject.text_hash == config["text_hash"]
    assert reject.banner_version == config["banner_version"]
    assert reject.policy_version == config["policy_version"]
    assert reject.language == "en"
    assert reject.ip_truncated == "203.0.113.0/24"
    assert reject.user_agent == "TestBrowser/1.0"
    assert reject.page_url == f"{SITE}/services"  # query and fragment dropped
    assert accept.previous_id == reject.id
    lifetime = accept.expires_at - accept.created_at
    assert lifetime.days == app_settings.consent_lifetime_days


def test_each_record_appends_an_audit_event(client: TestClient, app_settings: Settings) -> None:
    response = post(client, choice(_config(client), "reject"))
    db = Database(app_settings.effective_database_url)
    try:
        events = [e for e in AuditLog(db).tail(10) if e.action == "consent.record"]
        assert len(events) == 1
        assert events[0].subject_ref == f"v:{VISITOR}"
        assert response.json()["record_id"] in events[0].details
        assert AuditLog(db).verify().ok
    finally:
        db.dispose()


def test_custom_choice_keeps_per_vendor_refusals(
    client: TestClient, app_settings: Settings
) -> None:
    config = _config(client)
    analytics = next(c for c in config["categories"] if c["id"] == "analytics")
    refused = analytics["vendors"][0]["id"]
    body = choice(config, "custom")
    body["categories"]["analytics"] = True
    body["vendors"] = {refused: False}
    assert post(client, body).status_code == 201
    (row,) = rows(app_settings)
    states = json.loads(row.vendors)
    assert row.analytics
    assert states[refused] is False
    assert all(states[v["id"]] for v in analytics["vendors"][1:])
    assert not row.advertising


def test_gpc_header_refuses_advertising_and_is_recorded(
    client: TestClient, app_settings: Settings
) -> None:
    config = _config(client, **{"Sec-GPC": "1"})
    assert config["gpc"] is True
    body = choice(config, "gpc", gpc=True)
    assert post(client, body, **{"Sec-GPC": "1"}).status_code == 201
    # Even an "accept" sent with the header cannot grant what GPC refuses.
    assert post(client, choice(config, "accept"), **{"Sec-GPC": "1"}).status_code == 201
    gpc_row, accept_row = rows(app_settings)
    assert gpc_row.action == "gpc"
    assert gpc_row.gpc
    assert not gpc_row.advertising
    assert accept_row.gpc
    assert not accept_row.advertising
    assert accept_row.analytics


def test_state_reports_the_current_choice_and_when_to_ask_again(client: TestClient) -> None:
    none = client.get("/api/v1/consent/state", headers={"PO-Visitor-Id": VISITOR}).json()
    assert none["ask"] is True
    assert none["consent"] is None
    post(client, choice(_config(client), "accept"))
    state = client.get("/api/v1/consent/state", headers={"PO-Visitor-Id": VISITOR}).json()
    assert state["ask"] is False
    assert state["consent"]["action"] == "accept"
    assert state["consent"]["categories"]["analytics"] is True
    bad = client.get("/api/v1/consent/state", headers={"PO-Visitor-Id": "x"})
    assert bad.status_code == 400


BAD_BODIES: list[tuple[str, Any, int]] = [
    ("unknown category", {"categories": {"necessary": True, "profiling": True}}, 422),
    ("unknown vendor", {"vendors": {"tracker-we-never-declared": True}}, 422),
    ("necessary refused", {"categories": {"necessary": False}}, 422),
    ("accept refusing", {"categories": {"necessary": True, "analytics": False}}, 422),
    ("forged text hash", {"text_hash": "0" * 64}, 422),
    ("unknown language", {"language": "xx"}, 422),
    ("stale banner", {"banner_version": "0.0.1+000000000000"}, 409),
    ("stale policy", {"policy_version": "v0"}, 409),
    ("bad visitor id", {"visitor_id": "short"}, 422),
    ("bad action", {"action": "maybe"}, 422),
    ("extra field", {"email": "ada@example.com"}, 422),
    ("string for bool", {"gpc": "yes"}, 422),
    ("foreign page", {"page_url": "https://evil.example/x"}, 422),
    ("gpc without signal", {"action": "gpc"}, 422),
]


@pytest.mark.parametrize(("case", "change", "status"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_forged_or_invalid_choices_are_refused_and_nothing_is_stored(
    client: TestClient, app_settings: Settings, case: str, change: dict[str, Any], status: int
) -> None:
    body = choice(_config(client), "accept")
    body.update(change)
    response = post(client, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] in {"invalid_choice", "undeclared_data", "conflict"}
    assert "ada@example.com" not in response.text
    assert rows(app_settings) == []


def test_wrong_or_missing_origin_is_403_and_nothing_is_stored(
    client: TestClient, app_settings: Settings
) -> None:
    body = choice(_config(client), "accept")
    assert post(client, body, Origin="https://evil.example").status_code == 403
    missing = client.post("/api/v1/consent", json=body)
    assert missing.status_code == 403
    assert rows(app_settings) == []


def test_oversized_and_non_json_bodies_are_refused(
    client: TestClient, app_settings: Settings
) -> None:
    big = post(client, b"{" + b" " * 20_000 + b"}")
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "payload_too_large"
    not_json = post(client, b"not json")
    assert not_json.status_code == 422
    form = client.post(
        "/api/v1/consent",
        content=b"a=b",
        headers={"Origin": SITE, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 400
    assert rows(app_settings) == []


def test_a_flood_from_one_address_is_rate_limited(
    client: TestClient, app_settings: Settings
) -> None:
    body = choice(_config(client), "reject")
    codes = [post(client, body).status_code for _ in range(25)]
    assert codes[:20] == [201] * 20
    assert set(codes[20:]) == {429}
    limited = post(client, body)
    assert int(limited.headers["retry-after"]) >= 1
    assert len(rows(app_settings)) == 20


@pytest.mark.parametrize(
    ("ip", "kept"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("::ffff:192.0.2.5", "192.0.2.0/24"),
        ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"),
        ("999.1.1.1", None),
        ("not-an-address", None),
        (None, None),
    ],
)
def test_only_the_network_of_an_address_is_kept(ip: str | None, kept: str | None) -> None:
    from privacyops.consent.records import truncate_ip

    assert truncate_ip(ip) == kept


def test_a_recorded_choice_gets_the_security_headers_cors_and_a_metric(
    client: TestClient, app_settings: Settings
) -> None:
    """The consent POST is answered before the middleware stack (for speed): it must still
    carry what that stack adds to every answer, and be counted."""
    from prometheus_client import REGISTRY

    labels = {"method": "POST", "route": "/api/v1/consent", "status": "201"}
    before = REGISTRY.get_sample_value("privacyops_http_requests_total", labels) or 0.0
    response = post(client, choice(_config(client), "reject"))
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == SITE
    assert response.headers["vary"] == "Origin"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert REGISTRY.get_sample_value("privacyops_http_requests_total", labels) == before + 1
    refused = post(client, choice(_config(client), "reject"), Origin="https://evil.example")
    assert refused.status_code == 403
    assert refused.headers["x-frame-options"] == "DENY"
    assert "access-control-allow-origin" not in refused.headers
    assert len(rows(app_settings)) == 1


def test_a_streamed_body_over_the_cap_is_refused_and_nothing_is_stored(
    client: TestClient, app_settings: Settings
) -> None:
    body = json.dumps(choice(_config(client), "accept")).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap applies while reading
        yield body[:-1]
        yield b" " * 20_000
        yield body[-1:]

    response = client.post(
        "/api/v1/consent",
        content=chunks(),
        headers={"Origin": SITE, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert rows(app_settings) == []
