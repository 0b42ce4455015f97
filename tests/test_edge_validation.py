"""Validation at the edge, the same on every route: integer ids in paths beyond what the store
holds answer 404 (not a 500 from the driver), and the free-form ``details`` of a rights request
are refused as intake refuses such text (NUL, lone surrogates, deep nesting, size)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests._web import all_routes, browser, database, login, make_app
from tests.conftest import SmtpSink

from privacyops.accounts import SCOPES, create_api_token

HUGE = [2**64 + 1, 2**63, -(2**63) - 1, 0]


def _int_path_routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for path, methods, dependant in all_routes(app):
        if dependant is None:
            continue
        ints = [p.name for p in dependant.path_params if p.field_info.annotation is int]
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            if ints:
                out.append((method, path))
    return out


@pytest.fixture
def app(tmp_path: Path, db_url: str, smtp_server: SmtpSink) -> Any:
    return make_app(tmp_path, db_url, smtp_port=smtp_server.port, second_factor="none")


def test_every_integer_path_id_out_of_range_answers_404(app: Any) -> None:
    routes = _int_path_routes(app)
    # the six staff routes of the report, and the others with an integer id
    assert len(routes) >= 6, routes
    with database(app).session() as session:
        _, token = create_api_token(session, "all", sorted(SCOPES))
    api = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    staff = browser(app)
    login(staff, "admin")
    anonymous = TestClient(app)
    for method, path in routes:
        for value in HUGE:
            url = path
            for name in ("task_id", "entry_id", "rule_id", "token_id", "hold_id", "review_id"):
                url = url.replace("{" + name + "}", str(value))
            url = url.replace("{request_id}", "rnope")
            assert "{" not in url, url
            refused = anonymous.request(method, url)
            assert refused.status_code in (401, 403), (method, url, refused.status_code)
            client = staff if url.startswith("/dashboard") else api
            got = client.request(method, url, headers={"accept": "application/json"})
            assert got.status_code == 404, (method, url, got.status_code, got.text)
            assert got.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("details", "status"),
    [
        ({"note": "before\x00after"}, 400),
        ({"note": "bell\x07"}, 400),
        ({"note": "lone \ud800 surrogate"}, 400),
        ({"note": "x", "deep": json.loads("[" * 100 + "]" * 100)}, 400),
        ({"note": "x" * 30_000}, 413),
        ({f"k{i}": i for i in range(500)}, 400),
    ],
    ids=["nul", "control", "surrogate", "nested-100", "oversized", "too-many-items"],
)
def test_rights_details_are_refused_as_intake_refuses_them(
    app: Any, details: dict[str, Any], status: int
) -> None:
    client = TestClient(app)
    body = json.dumps({"type": "access", "email": "ada@example.com", "details": details})
    response = client.post(
        "/api/v1/rights/requests", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] in ("invalid_input", "payload_too_large")
    assert "Traceback" not in response.text
    with database(app).engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM rights_requests")).scalar_one() == 0


def test_intake_refuses_the_same_text(app: Any) -> None:
    client = TestClient(app)
    for text in ("before\x00after", "lone \ud800 surrogate"):
        body = json.dumps({"email": "ada@example.com", "request_details": text})
        response = client.post(
            "/api/v1/intake/web_form", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_input"


def test_clean_details_are_normalised_and_kept(app: Any) -> None:
    client = TestClient(app)
    response = client.post(
        "/api/v1/rights/requests",
        json={"type": "access", "email": "ada@example.com", "details": {"note": "Cafe\u0301"}},
    )
    assert response.status_code == 202, response.text
