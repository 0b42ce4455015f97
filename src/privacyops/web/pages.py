"""Server-rendered pages: the Jinja2 environment and the one ``render`` helper.

Every template value is autoescaped (``autoescape=True`` for every template, whatever its
name), so a name like ``<script>`` shows as text. Templates get, besides their own context,
``principal`` (the logged-in member of staff or ``None``), ``csrf_token()`` (a fresh token for a
form), ``nav`` (the dashboard sections present) and ``site`` (controller name from the policy).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader

from privacyops.web.auth import current_principal, issue_csrf

__all__ = ["TEMPLATES_DIR", "NavItem", "add_nav", "env", "render"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime(fmt)
    return value.isoformat()


env.filters["when"] = _when
env.filters["day"] = lambda v: _when(v, "%Y-%m-%d")


class NavItem:
    """A dashboard section in the navigation bar, shown to ``roles`` (admin sees all)."""

    def __init__(self, path: str, label: str, roles: tuple[str, ...]) -> None:
        self.path = path
        self.label = label
        self.roles = roles

    def __repr__(self) -> str:
        return f"NavItem({self.path!r}, {self.label!r})"


_NAV: list[NavItem] = []


def add_nav(path: str, label: str, roles: tuple[str, ...]) -> None:
    """Register a dashboard section (each router adds its own once, at import)."""
    if all(item.path != path for item in _NAV):
        _NAV.append(NavItem(path, label, roles))


def _site(request: Request) -> str:
    book = getattr(request.app.state, "policy", None)
    return str(book.current.organization) if book is not None else "privacyops"


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``template`` with ``context`` and the common values into an HTML response."""
    principal = current_principal(request)
    nav = [item for item in _NAV if principal is not None and principal.has_role(*item.roles)]
    values: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "csrf_token": lambda: issue_csrf(request, principal),
        "nav": nav,
        "path": request.url.path,
        "site": _site(request),
    }
    values.update(context or {})
    html = env.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
