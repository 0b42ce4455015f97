"""The local outbox: mail kept instead of sent while no SMTP server is configured.

``GET /dashboard/outbox`` shows the newest kept messages (recipient, subject, text). Mail holds
personal data (identity codes, answers), so the page is for staff who act on requests and each
reading is recorded in the audit log.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from privacyops.accounts import Principal
from privacyops.audit import AuditLog
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.store.mailbox import kept_mail
from privacyops.web.auth import STAFF_WRITE, require_staff
from privacyops.web.deps import get_db, get_settings_dep
from privacyops.web.pages import add_nav, render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
add_nav("/dashboard/outbox", "Outbox", STAFF_WRITE)


@router.get("/dashboard/outbox")
def outbox_page(
    request: Request,
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
    who: Principal = Depends(require_staff(*STAFF_WRITE)),
) -> Response:
    """The newest mail kept in the local outbox (the reading is audited)."""
    messages = kept_mail(db, limit=50)
    AuditLog(db).append(
        "mail.outbox.read",
        actor=who.actor,
        reason="staff read the local outbox",
        details={"messages": [m.id for m in messages]},
    )
    return render(
        request,
        "dashboard/outbox.html",
        {"messages": messages, "transport": settings.effective_mail_transport},
    )
