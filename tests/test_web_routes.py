"""Every route of the application: the public ones are listed here; every other one refuses an
anonymous caller (401, or a redirect to the login page) and a caller whose role or token scope
lacks it (403). A new route is therefore either protected or consciously added to PUBLIC."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from _web import all_routes, browser, login, make_app, route_guards
from privacyops.accounts import ROLES, SCOPES, create_api_token
from privacyops.settings import Settings
from privacyops.web.app import create_app
from privacyops.web.auth import RequireScope, RequireStaff

#: (method, path) that anyone may call: the privacy center, the consent banner, the public
#: parts of intake and rights (they check their own codes and tokens), login, health.
PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/openapi.json"),
        ("GET", "/api/docs"),
        ("GET", "/api/docs/assets"),  # Swagger UI's files (swagger-ui-bundle)
        ("GET", "/static"),
        ("GET", "/healthz"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/"),  # redirects to the privacy center
        ("GET", "/privacy"),
        ("GET", "/privacy/versions/{version_id}"),
        ("GET", "/privacy/changes"),
        ("GET", "/privacy/consent"),
        ("GET", "/privacy/complaints"),
        ("GET", "/privacy/requests/new"),
        ("POST", "/privacy/requests"),
        ("GET", "/privacy/requests/{request_id}"),
        ("POST", "/privacy/requests/{request_id}/open"),
        ("POST", "/privacy/requests/{request_id}/verify"),
        ("POST", "/privacy/requests/{request_id}/resend"),
        ("POST", "/privacy/requests/{request_id}/answer"),
        ("POST", "/privacy/requests/{request_id}/document"),
        ("GET", "/consent/banner.js"),
        ("GET", "/consent/banner.css"),
        ("GET", "/consent/demo"),
        ("GET", "/consent/demo/{name}"),
        ("OPTIONS", "/api/v1/consent"),
        ("OPTIONS", "/api/v1/consent/config"),
        ("OPTIONS", "/api/v1/consent/state"),
        ("GET", "/api/v1/consent/config"),
        ("GET", "/api/v1/consent/state"),
        ("GET", "/api/v1/consent/receipt-key"),
        ("POST", "/api/v1/consent"),
        ("GET", "/.well-known/gpc.json"),
        ("POST", "/api/v1/intake/{channel}"),
        ("POST", "/api/v1/rights/requests"),
        ("POST", "/api/v1/rights/requests/{request_id}/verify"),
        ("POST", "/api/v1/rights/requests/{request_id}/resend"),
        ("GET", "/api/v1/rights/requests/{request_id}"),
        ("GET", "/api/v1/rights/requests/{request_id}/recipients"),
        ("GET", "/api/v1/rights/exports/{token}"),
        ("POST", "/api/v1/rights/exports/{token}"),
        ("GET", "/api/v1/rights/authorities/{country}"),
        ("GET", "/api/v1/notices/ack/{token}"),
        ("POST", "/api/v1/notices/ack/{token}"),
        ("GET", "/opendsr/v2/discovery"),
        ("GET", "/opendsr/v2/certificate"),  # a public certificate, meant to be fetched
        ("GET", "/api/v1/consent/receipt"),
        ("POST", "/api/v1/consent/marketing"),
        ("GET", "/api/v1/consent/marketing/confirm"),
        ("POST", "/api/v1/consent/marketing/confirm"),
        ("GET", "/api/v1/consent/marketing/withdraw"),
        ("POST", "/api/v1/consent/marketing/withdraw"),
    }
)
_IGNORED = {"/docs/oauth2-redirect"}


_guards = route_guards


def _calls() -> list[tuple[str, str, list[Any]]]:
    out = []
    for path, methods, dependant in all_routes(create_app(Settings(data_dir=Path("/nowhere")))):
        if path in _IGNORED:
            continue
        for method in sorted(methods - {"HEAD"}):
            out.append((method, path, _guards(dependant)))
    return out


CALLS = _calls()
PROTECTED = [c for c in CALLS if (c[0], c[1]) not in PUBLIC]


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _call(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    kwargs.setdefault("follow_redirects", False)
    if method in ("POST", "PUT", "PATCH", "DELETE") and path.startswith("/api/"):
        kwargs.setdefault("json", {})
    return client.request(method, _url(path), **kwargs)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return make_app(tmp_path_factory.mktemp("routes"), login_attempts_per_minute=100_000)


def test_every_public_route_exists() -> None:
    assert {(m, p) for m, p, _ in CALLS} >= PUBLIC


def test_every_unlisted_route_has_a_guard() -> None:
    unguarded = [(m, p) for m, p, guards in PROTECTED if not guards]
    assert unguarded == []


@pytest.mark.parametrize(("method", "path", "guards"), PROTECTED, ids=lambda v: str(v)[:60])
def test_anonymous_caller_is_refused(app: FastAPI, method: str, path: str, guards: Any) -> None:
    page = browser(app)
    response = _call(page, method, path)
    if method == "GET" and not path.startswith("/api/") and path != "/metrics":
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith("/login?next=")
    else:
        assert response.status_code == 401, response.text
    api = TestClient(app)
    plain = _call(api, method, path)
    assert plain.status_code == 401
    assert plain.json()["error"]["code"] == "authentication_required"


def _staff_guard(guards: list[Any]) -> RequireStaff | None:
    return next((g for g in guards if isinstance(g, RequireStaff)), None)


STAFF_ROUTES = [
    (m, p, g) for m, p, g in PROTECTED if (s := _staff_guard(g)) is not None and s.roles
]


@pytest.mark.parametrize(("method", "path", "guards"), STAFF_ROUTES, ids=lambda v: str(v)[:60])
def test_staff_without_the_role_is_refused(
    app: FastAPI, method: str, path: str, guards: Any
) -> None:
    guard = _staff_guard(guards)
    assert guard is not None
    lacking = [r for r in ROLES if r != "admin" and r not in guard.roles]
    if not lacking:
        pytest.skip("every role may call this route")
    client = browser(app)
    login(client, lacking[0])
    response = _call(client, method, path)
    assert response.status_code == 403, response.text


SCOPE_ROUTES = [(m, p, g) for m, p, g in PROTECTED if any(isinstance(x, RequireScope) for x in g)]


@pytest.mark.parametrize(("method", "path", "guards"), SCOPE_ROUTES, ids=lambda v: str(v)[:60])
def test_token_without_the_scope_is_refused(
    app: FastAPI, method: str, path: str, guards: Any
) -> None:
    needed = {g.scope for g in guards if isinstance(g, RequireScope)}
    other = sorted(set(SCOPES) - needed - {"admin"})[:1]
    db = app.state.db
    with db.session() as session:
        _, token = create_api_token(session, f"walk-{len(needed)}", other)
    client = TestClient(app)
    response = _call(client, method, path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"
    # An auditor's session never writes.
    if method != "GET" and any(not s.endswith(":read") for s in needed):
        staff = browser(app)
        login(staff, "auditor")
        assert _call(staff, method, path).status_code == 403
