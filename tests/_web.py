"""Helpers for the web tests: an app on a fresh database, staff of each role, logging in."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from privacyops.accounts import create_user, service
from privacyops.settings import Settings
from privacyops.store import Database, open_database
from privacyops.web.app import create_app

PASSWORD = "correct horse battery staple"
ROLES = ("admin", "dpo", "operator", "auditor")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def wait_for(what: Callable[[], bool], seconds: float = 90.0, every: float = 0.2) -> bool:
    """Poll ``what`` until it is true (True) or ``seconds`` have passed (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(every)
    return False


def make_app(tmp_path: Path, db_url: str | None = None, **overrides: object) -> FastAPI:
    """An app on its own data dir and database, with one staff user per role."""
    # Cheap argon2 parameters: the tests check behaviour, not the cost of a guess.
    service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url or f"sqlite:///{tmp_path / 'web.sqlite'}",
        **overrides,  # type: ignore[arg-type]
    )
    db = open_database(settings)
    with db.session() as session:
        for role in ROLES:
            create_user(session, f"{role}@example.com", PASSWORD, role)
    return create_app(settings, db=db)


def database(app: FastAPI) -> Database:
    db: Database = app.state.db
    return db


def csrf(html: str) -> str:
    """The first CSRF token in a page."""
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client: TestClient, role: str) -> None:
    """Log ``client`` in as the staff user of ``role``."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": f"{role}@example.com",
            "password": PASSWORD,
            "csrf_token": csrf(page.text),
            "next": "/dashboard",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def browser(app: FastAPI, **kwargs: object) -> TestClient:
    """A test client that asks for pages the way a browser does (``Accept: text/html``)."""
    return TestClient(app, headers={"accept": "text/html,*/*;q=0.8"}, **kwargs)  # type: ignore[arg-type]


def all_routes(app: FastAPI) -> list[tuple[str, frozenset[str], Any]]:
    """Every HTTP route as ``(path, methods, dependant)``, routers included.

    FastAPI keeps included routers as nested objects; ``effective_route_contexts`` walks them.
    """
    out: list[tuple[str, frozenset[str], Any]] = []
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for ctx in contexts():
                out.append((ctx.path, frozenset(ctx.methods or ()), ctx.dependant))
        elif isinstance(route, APIRoute):
            out.append((route.path, frozenset(route.methods), route.dependant))
        elif hasattr(route, "path"):
            out.append((route.path, frozenset(getattr(route, "methods", None) or {"GET"}), None))
    return out


def route_guards(dependant: Any) -> list[Any]:
    """The auth guards (staff role, token scope, any caller) a route depends on, nested ones too."""
    from privacyops.web.auth import RequireCaller, RequireScope, RequireStaff

    found: list[Any] = []
    for sub in getattr(dependant, "dependencies", []) or []:
        if isinstance(sub.call, RequireStaff | RequireScope | RequireCaller):
            found.append(sub.call)
        found.extend(route_guards(sub))
    return found
