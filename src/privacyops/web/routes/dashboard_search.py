"""Find requests by reference, e-mail address or phone number.

``POST /dashboard/requests/search`` (a form, so the e-mail address or number never appears
in a URL or an access log): matches through blind indexes (:mod:`privacyops.rights.search`),
shows the requests found with their clocks, newest first. Each search is audited without the
text searched for (what kind of value it was, and how many requests it found).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from privacyops.accounts import Principal
from privacyops.audit import AuditLog
from privacyops.audit import actions as audit_actions
from privacyops.errors import InvalidInput
from privacyops.rights.models import RightsRequest
from privacyops.rights.search import search_condition
from privacyops.rights.service import RightsService
from privacyops.store import Database
from privacyops.web.auth import STAFF_READ, check_csrf, require_staff
from privacyops.web.deps import get_db
from privacyops.web.forms import FORM_EXPIRED, read_form
from privacyops.web.pages import render
from privacyops.web.routes.dashboard_requests import STATE_CHOICES, row_view
from privacyops.web.routes.rights import rights_service

router = APIRouter(tags=["dashboard"], include_in_schema=False)

#: At most this many requests are shown for one search (newest first).
FOUND = 100


@router.post("/dashboard/requests/search")
async def search_requests(
    request: Request,
    db: Database = Depends(get_db),
    service: RightsService = Depends(rights_service),
    who: Principal = Depends(require_staff(*STAFF_READ)),
) -> Response:
    """Requests of one reference, e-mail address or phone number."""
    form = await read_form(request)
    text = str(form.get("q", ""))[:320]
    context: dict[str, Any] = {
        "requests": [],
        "state": "all",
        "states": STATE_CHOICES,
        "counts": {},
        "due": "",
        "next_after": None,
        "searched": True,
    }
    if not check_csrf(request, form, who):
        return render(
            request,
            "dashboard/requests.html",
            {**context, "search_error": FORM_EXPIRED},
            status_code=400,
        )
    try:
        kind, condition = search_condition(service, text)
    except InvalidInput as exc:
        return render(
            request,
            "dashboard/requests.html",
            {**context, "search_error": exc.message, "q": text},
            status_code=422,
        )
    today = datetime.now(UTC).date()
    with db.read_session() as session:
        rows = session.scalars(
            sa.select(RightsRequest).where(condition).order_by(RightsRequest.id.desc()).limit(FOUND)
        )
        views = [row_view(service, r, today) for r in rows]
    AuditLog(db).append(
        audit_actions.RECORD_READ,
        actor=who.actor,
        reason="staff searched the requests",
        details={"search": kind, "found": len(views)},
    )
    return render(
        request,
        "dashboard/requests.html",
        {**context, "requests": views, "q": text, "search_kind": kind},
    )
