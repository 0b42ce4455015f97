"""Dashboard form for the Art. 19 decisions on a request's recipients.

``POST /dashboard/requests/{request_id}/recipients/{recipient_id}``: for a recipient with no
address, record that it was told another way (how), or that telling it is impossible or would
involve disproportionate effort (why). Once every recipient is told or decided, the request
goes on to its answer. The form is on the request's page (``dashboard/_recipients.html``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from privacyops.accounts import Principal
from privacyops.errors import NotFound, PrivacyOpsError
from privacyops.rights.recipients import DECISIONS, NOTE_MAX
from privacyops.rights.service import RightsService
from privacyops.store import Database
from privacyops.web.auth import STAFF_WRITE, check_csrf, require_staff
from privacyops.web.deps import get_db
from privacyops.web.forms import FORM_EXPIRED, FormValues, read_form
from privacyops.web.routes.dashboard_requests import detail_page
from privacyops.web.routes.rights import rights_service

router = APIRouter(tags=["dashboard"], include_in_schema=False)


@router.post("/dashboard/requests/{request_id}/recipients/{recipient_id}")
async def decide_recipient(
    request_id: str,
    recipient_id: str,
    request: Request,
    db: Database = Depends(get_db),
    service: RightsService = Depends(rights_service),
    who: Principal = Depends(require_staff(*STAFF_WRITE)),
) -> Response:
    """Record the Art. 19 decision on one recipient that has no address."""
    request_id, recipient_id = request_id[:40], recipient_id[:128]
    form = await read_form(request)
    v = FormValues(form)
    decision = v.choice("decision", sorted(DECISIONS), label="Decision")
    note = v.text("note", label="How it was told, or why not", required=True, max_len=NOTE_MAX)
    if not check_csrf(request, form, who):
        v.errors["form"] = FORM_EXPIRED
    values = {**v.kept(), "recipient": recipient_id}
    if v.errors:
        return detail_page(
            request, db, service, request_id, errors=v.errors, values=values, status_code=422
        )
    try:
        await run_in_threadpool(
            service.decide_recipient, request_id, recipient_id, decision, note, actor=who.actor
        )
    except NotFound:
        raise
    except PrivacyOpsError as exc:
        return detail_page(
            request,
            db,
            service,
            request_id,
            errors={"form": exc.message},
            values=values,
            status_code=exc.status,
        )
    done = "Art. 19 decision recorded."
    return detail_page(request, db, service, request_id, messages=[{"kind": "ok", "text": done}])
