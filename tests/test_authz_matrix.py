"""The authorisation matrix, built from ``/openapi.json``: every documented operation called
anonymously, with a token of each single scope, and as each role. Where the route's guard says
no, the answer is 401 (anonymous) or 403; where it says yes, never 401/403; never a 5xx."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests._web import all_routes, browser, login, make_app, route_guards

from privacyops.accounts import ROLE_SCOPES, ROLES, SCOPES, create_api_token
from privacyops.web.auth import RequireScope, RequireStaff

pytestmark = pytest.mark.authz


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return make_app(tmp_path_factory.mktemp("authz"), login_attempts_per_minute=100_000)


def _operations(app: FastAPI) -> list[tuple[str, str, list[Any]]]:
    spec = TestClient(app).get("/openapi.json").json()
    guards = {
        (method, path): route_guards(dependant)
        for path, methods, dependant in all_routes(app)
        for method in methods
    }
    ops = []
    for path, item in spec["paths"].items():
        for method in item:
            if method.upper() in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                ops.append((method.upper(), path, guards[(method.upper(), path)]))
    return ops


def _allows(guards: list[Any], scopes: frozenset[str], session: bool) -> bool:
    for guard in guards:
        if isinstance(guard, RequireStaff) and not session:
            return False
        if isinstance(guard, RequireScope) and guard.scope not in scopes:
            return False
    return True


def test_every_documented_operation_for_every_caller(app: FastAPI) -> None:
    ops = _operations(app)
    assert len(ops) > 40
    db = app.state.db
    tokens: dict[str, str] = {}
    with db.session() as session:
        for scope in SCOPES:
            _, tokens[scope] = create_api_token(session, f"matrix-{scope}", [scope])
    anonymous = TestClient(app)
    sessions = {}
    for role in ROLES:
        sessions[role] = browser(app)
        login(sessions[role], role)
    calls = 0
    wrong: list[tuple[Any, ...]] = []

    def call(client: TestClient, method: str, path: str, **headers: str) -> int:
        nonlocal calls
        calls += 1
        kwargs: dict[str, Any] = {"follow_redirects": False, "headers": headers}
        if method in ("POST", "PUT", "PATCH"):
            kwargs["json"] = {}
        response = client.request(method, _url(path), **kwargs)
        assert "Traceback" not in response.text
        return response.status_code

    for method, path, guards in ops:
        if not guards:
            status = call(anonymous, method, path)
            if status >= 500:
                wrong.append((method, path, "anonymous", status))
            continue
        status = call(anonymous, method, path)
        if status != 401:
            wrong.append((method, path, "anonymous", status))
        for scope, token in tokens.items():
            status = call(anonymous, method, path, authorization=f"Bearer {token}")
            allowed = _allows(guards, frozenset({scope}), session=False)
            if status >= 500 or (status in (401, 403)) == allowed:
                wrong.append((method, path, scope, status))
        for role, client in sessions.items():
            status = call(client, method, path, accept="application/json")
            allowed = _allows(guards, ROLE_SCOPES[role], session=True)
            roles = next((g.roles for g in guards if isinstance(g, RequireStaff)), ())
            if roles and role != "admin" and role not in roles:
                allowed = False
            # a session's writes also need the CSRF header: only refusals are certain here
            if status >= 500 or status == 401 or (not allowed and status != 403):
                wrong.append((method, path, role, status))
            if allowed and method == "GET" and status == 403:
                wrong.append((method, path, role, status))
    assert wrong == []
    assert calls > 500
