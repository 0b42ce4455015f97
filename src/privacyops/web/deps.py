"""Shared FastAPI dependencies: the database and the policy book of the running app.

Routers use them instead of opening their own::

    from privacyops.web.deps import get_db, get_policy

    @router.get("/api/v1/things")
    def things(db: Database = Depends(get_db)) -> ...:
        with db.session() as session:
            ...

The database is opened (and migrated to ``heads``) on first use, so building the app is cheap
and tests can hand in their own: ``create_app(settings, db=Database(url))``.
"""

from __future__ import annotations

import threading

from fastapi import FastAPI, Request

from privacyops.policy.loader import load_configured_policy
from privacyops.policy.schema import PolicyBook
from privacyops.settings import Settings
from privacyops.store import Database, open_database

__all__ = ["app_database", "get_db", "get_policy", "get_settings_dep"]

_open_lock = threading.Lock()


def app_database(app: FastAPI) -> Database:
    """The app's database, opened and migrated on first call."""
    db: Database | None = getattr(app.state, "db", None)
    if db is None:
        with _open_lock:
            db = getattr(app.state, "db", None)
            if db is None:
                db = open_database(app.state.settings)
                app.state.db = db
    return db


def get_db(request: Request) -> Database:
    """Dependency: the application's :class:`~privacyops.store.Database`."""
    return app_database(request.app)


def get_policy(request: Request) -> PolicyBook:
    """Dependency: the policy book in force (the embedded seed unless configured)."""
    book: PolicyBook | None = getattr(request.app.state, "policy", None)
    if book is None:
        book = load_configured_policy(request.app.state.settings)
        request.app.state.policy = book
    return book


def get_settings_dep(request: Request) -> Settings:
    """Dependency: the settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings
