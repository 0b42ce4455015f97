"""``POST /api/v1/consent`` has two shapes: the fast path the application answers it with
(``ConsentFastPath``, before the middleware stack) and the routed endpoint (``record_consent``,
in the OpenAPI document). Both run the one ``accept_choice``: for the same requests they store
the same record and answer the same errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from privacyops.settings import Settings
from privacyops.web.app import create_app
from test_consent_api import BAD_BODIES, SITE, choice, rows

#: columns that differ between any two records (identity, time, chain)
_OWN = {"id", "record_id", "visitor_id", "created_at", "expires_at", "previous_id"}


@pytest.fixture
def clients(settings: Settings, db_url: str) -> Iterator[dict[str, TestClient]]:
    """The fast path and the routed endpoint, on one database, each with its own limiter."""
    app_settings = settings.model_copy(
        update={"site_origins": [SITE], "database_url": db_url, "consent_rate_limit": 40}
    )
    fast, routed = create_app(app_settings), create_app(app_settings)
    routed.consent_fast_path = None  # type: ignore[attr-defined]  # the request goes routed
    with (
        TestClient(fast, client=("203.0.113.77", 50000)) as a,
        TestClient(routed, client=("203.0.113.77", 50000)) as b,
    ):
        yield {"fast": a, "routed": b}
    for app in (fast, routed):
        service = getattr(app.state, "consent", None)
        if service is not None:
            service.close()
            service.db.dispose()


def post(client: TestClient, body: Any, headers: dict[str, str]) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/api/v1/consent", content=content, headers=headers)


def answer(response: Any) -> tuple[int, Any, dict[str, str]]:
    """What a caller sees: status, JSON body (ids and times left out), CORS and retry headers."""
    body = response.json()
    if response.status_code == 201:
        body = {k: v for k, v in body.items() if k not in {"record_id", "created_at", "expires_at"}}
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.startswith("access-control-") or k in {"vary", "content-type", "x-frame-options"}
    }
    return response.status_code, body, headers


def test_both_shapes_store_the_same_record(clients: dict[str, TestClient], db_url: str) -> None:
    config = clients["fast"].get("/api/v1/consent/config?lang=en").json()
    headers = {
        "Origin": SITE,
        "Content-Type": "application/json",
        "User-Agent": "Test/1",
        "Sec-GPC": "1",
    }
    seen = []
    for n, name in enumerate(["fast", "routed"]):
        # an "accept" sent with Sec-GPC: the header alone refuses advertising and is recorded
        body = choice(config, "accept", visitor_id=f"{name}-visitor-0123456789")
        response = post(clients[name], body, headers)
        assert response.status_code == 201, response.text
        seen.append(answer(response))
        stored = rows(Settings(database_url=db_url))
        assert len(stored) == n + 1
    assert seen[0] == seen[1]
    fast_row, routed_row = stored
    assert fast_row.visitor_id != routed_row.visitor_id
    columns = [c.name for c in fast_row.__table__.columns if c.name not in _OWN]
    assert {c: getattr(fast_row, c) for c in columns} == {
        c: getattr(routed_row, c) for c in columns
    }
    assert (fast_row.analytics, fast_row.advertising, fast_row.gpc) == (True, False, True)


REFUSED: list[tuple[str, dict[str, str], Any]] = [
    ("missing origin", {"Content-Type": "application/json"}, None),
    (
        "foreign origin",
        {"Origin": "https://evil.example", "Content-Type": "application/json"},
        None,
    ),
    ("form body", {"Origin": SITE, "Content-Type": "application/x-www-form-urlencoded"}, b"a=b"),
    ("no content type", {"Origin": SITE}, None),
    ("not json", {"Origin": SITE, "Content-Type": "application/json"}, b"not json"),
    (
        "too large",
        {"Origin": SITE, "Content-Type": "application/json"},
        b"{" + b" " * 20_000 + b"}",
    ),
]


def test_both_shapes_answer_the_same_errors_and_store_nothing(
    clients: dict[str, TestClient], db_url: str
) -> None:
    config = clients["fast"].get("/api/v1/consent/config?lang=en").json()
    json_headers = {"Origin": SITE, "Content-Type": "application/json"}
    cases = [(name, headers, body or choice(config, "accept")) for name, headers, body in REFUSED]
    for name, change, _status in BAD_BODIES:
        cases.append((name, json_headers, {**choice(config, "accept"), **change}))
    for name, headers, body in cases:
        fast = answer(post(clients["fast"], body, headers))
        routed = answer(post(clients["routed"], body, headers))
        assert fast == routed, name
        assert fast[0] >= 400, name
        assert "ada@example.com" not in json.dumps(fast[1]), name
    assert rows(Settings(database_url=db_url)) == []


def test_both_shapes_limit_a_flood_alike(clients: dict[str, TestClient], db_url: str) -> None:
    config = clients["fast"].get("/api/v1/consent/config?lang=en").json()
    headers = {"Origin": SITE, "Content-Type": "application/json"}
    statuses: dict[str, list[int]] = {}
    for name, client in clients.items():
        body = choice(config, "reject", visitor_id=f"{name}-visitor-0123456789")
        statuses[name] = [post(client, body, headers).status_code for _ in range(42)]
    assert statuses["fast"] == statuses["routed"] == [201] * 40 + [429] * 2
    fast = post(clients["fast"], b"{}", headers)
    routed = post(clients["routed"], b"{}", headers)
    assert fast.json() == routed.json()
    # each counts its own window, opened when its flood began: the wait is the window's rest
    assert 1 <= int(fast.headers["retry-after"]) <= 61
    assert 1 <= int(routed.headers["retry-after"]) <= 61
    assert len(rows(Settings(database_url=db_url))) == 80
