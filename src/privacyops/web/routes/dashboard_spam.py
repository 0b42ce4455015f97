"""The spam review queue (policy §8): quarantined submissions, read and judged by staff.

``GET /dashboard/spam`` (pending items, without content), ``GET /dashboard/spam/{quarantine_id}``
(one item's content; the reading is audited), ``POST /dashboard/spam/{quarantine_id}/release``
(legitimate: stored as a normal submission), ``POST /dashboard/spam/{quarantine_id}/reject``
(spam: content discarded, optionally the sender blocklisted).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from privacyops.accounts import Principal
from privacyops.errors import PrivacyOpsError
from privacyops.intake.service import IntakeService
from privacyops.web.auth import STAFF_READ, STAFF_WRITE, check_csrf, require_staff
from privacyops.web.forms import FORM_EXPIRED, FormValues, read_form
from privacyops.web.pages import add_nav, render
from privacyops.web.routes.intake import intake_service

router = APIRouter(tags=["dashboard"], include_in_schema=False)
add_nav("/dashboard/spam", "Spam review", STAFF_READ)

_STATUSES = ["pending", "released", "rejected", "all"]


@router.get("/dashboard/spam")
def spam_queue(
    request: Request,
    status: str = Query("pending", max_length=16),
    service: IntakeService = Depends(intake_service),
    who: Principal = Depends(require_staff(*STAFF_READ)),
) -> Response:
    """Quarantined submissions, newest first (content shown only on review)."""
    if status not in _STATUSES:
        status = "pending"
    items = service.quarantined(None if status == "all" else status)
    return render(
        request, "dashboard/spam.html", {"items": items, "status": status, "statuses": _STATUSES}
    )


def _item_page(
    request: Request,
    service: IntakeService,
    who: Principal,
    quarantine_id: str,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    item: dict[str, Any] | None = None
    try:
        item = service.show_quarantined(quarantine_id, actor=who.actor)
    except PrivacyOpsError as exc:
        if exc.status == 404:
            raise
        errors = {**(errors or {}), "form": exc.message}
        status_code = exc.status if status_code == 200 else status_code
    return render(
        request,
        "dashboard/spam_item.html",
        {"item": item, "quarantine_id": quarantine_id, "errors": errors or {}},
        status_code=status_code,
    )


@router.get("/dashboard/spam/{quarantine_id}")
def spam_item(
    quarantine_id: str,
    request: Request,
    service: IntakeService = Depends(intake_service),
    who: Principal = Depends(require_staff(*STAFF_WRITE)),
) -> Response:
    """One quarantined submission's content, for review (audited)."""
    return _item_page(request, service, who, quarantine_id[:64])


async def _decide(
    request: Request, service: IntakeService, who: Principal, quarantine_id: str, release: bool
) -> Response:
    form = await read_form(request)
    v = FormValues(form)
    note = v.text("note", label="Note", max_len=300) or None
    if not check_csrf(request, form, who):
        v.errors["form"] = FORM_EXPIRED
    if v.errors:
        return _item_page(request, service, who, quarantine_id, errors=v.errors, status_code=422)
    try:
        if release:
            await run_in_threadpool(service.release, quarantine_id, actor=who.actor, note=note)
        else:
            await run_in_threadpool(
                service.reject,
                quarantine_id,
                actor=who.actor,
                note=note,
                block_sender=v.checkbox("block_sender"),
            )
    except PrivacyOpsError as exc:
        return _item_page(
            request,
            service,
            who,
            quarantine_id,
            errors={"form": exc.message},
            status_code=exc.status,
        )
    items = service.quarantined("pending")
    done = "Released: stored as a normal submission." if release else "Rejected: content discarded."
    return render(
        request,
        "dashboard/spam.html",
        {
            "items": items,
            "status": "pending",
            "statuses": _STATUSES,
            "messages": [{"kind": "ok", "text": done}],
        },
    )


@router.post("/dashboard/spam/{quarantine_id}/release")
async def spam_release(
    quarantine_id: str,
    request: Request,
    service: IntakeService = Depends(intake_service),
    who: Principal = Depends(require_staff(*STAFF_WRITE)),
) -> Response:
    """Judge it legitimate."""
    return await _decide(request, service, who, quarantine_id[:64], True)


@router.post("/dashboard/spam/{quarantine_id}/reject")
async def spam_reject(
    quarantine_id: str,
    request: Request,
    service: IntakeService = Depends(intake_service),
    who: Principal = Depends(require_staff(*STAFF_WRITE)),
) -> Response:
    """Judge it spam."""
    return await _decide(request, service, who, quarantine_id[:64], False)
