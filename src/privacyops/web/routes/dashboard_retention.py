"""Retention: the forecast of what will expire, and legal holds that keep data past it.

``GET /dashboard/retention?days=30`` (records expiring within the period, per channel and data
category, from the policy's retention rules; processors that set their own retention; the
active legal holds), ``POST /dashboard/retention/holds`` (place a hold on a subject by its
pseudonymous reference, with a reason and an optional end), ``POST
/dashboard/retention/holds/{hold_id}/lift``. Holds are placed and lifted by the DPO and audited.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from privacyops.accounts import Principal
from privacyops.audit import AuditLog
from privacyops.errors import NotFound, PrivacyOpsError
from privacyops.policy.schema import PolicyBook
from privacyops.retention.forecast import forecast, past_due
from privacyops.rights.models import RightsRequest
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.store.models import DataSubject, LegalHold
from privacyops.store.registry import Registry
from privacyops.web.auth import STAFF_READ, check_csrf, require_staff
from privacyops.web.deps import get_db, get_policy
from privacyops.web.forms import FORM_EXPIRED, FormValues, read_form
from privacyops.web.pages import add_nav, render
from privacyops.web.params import RowId

router = APIRouter(tags=["dashboard"], include_in_schema=False)
add_nav("/dashboard/retention", "Retention", STAFF_READ)

HOLDS_PAGE = 100
_REQUEST_REF = re.compile(r"^r[0-9a-f]{8,31}$")


def _context(db: Database, book: PolicyBook, days: int, settings: Settings) -> dict[str, Any]:
    now = datetime.now(UTC)
    with db.session() as session:
        holds = session.execute(
            sa.select(LegalHold, DataSubject.public_id)
            .join(DataSubject, DataSubject.id == LegalHold.subject_id)
            .where(
                LegalHold.lifted_at.is_(None),
                sa.or_(LegalHold.until.is_(None), LegalHold.until > now),
            )
            .order_by(LegalHold.id.desc())
            .limit(HOLDS_PAGE)
        ).all()
    return {
        "past_due": past_due(db, book),
        "sweep_hour": settings.retention_sweep_hour,
        "forecast": forecast(db, book, days=days),
        "days": days,
        "holds": [{"hold": h, "subject": ref} for h, ref in holds],
    }


def _hold_subject(db: Database, given: str) -> tuple[str, str]:
    """The subject reference a hold form names: by e-mail address (through the registry's blind
    index), by a request's reference (the person it was resolved to), or the reference itself.

    Raises:
        NotFound: no one is known by that address, or the request names no one yet.
    """
    if "@" in given:
        subject = Registry(db).find_subject("email", given)
        if subject is None:
            raise NotFound("No one with that e-mail address is in the registry.")
        return subject.public_id, "email"
    if _REQUEST_REF.match(given):
        with db.read_session() as session:
            ref = session.scalar(
                sa.select(RightsRequest.subject_ref).where(RightsRequest.public_id == given)
            )
        if ref is None:
            raise NotFound("That request is not linked to a person in the registry (yet).")
        return ref, "request"
    return given, "reference"


@router.get("/dashboard/retention")
def retention_page(
    request: Request,
    days: int = Query(30, ge=1, le=3660),
    db: Database = Depends(get_db),
    book: PolicyBook = Depends(get_policy),
    who: Principal = Depends(require_staff(*STAFF_READ)),
) -> Response:
    """The retention forecast and the active legal holds."""
    context = _context(db, book, days, request.app.state.settings)
    return render(request, "dashboard/retention.html", {**context, "values": {}, "errors": {}})


@router.post("/dashboard/retention/holds")
async def place_hold(
    request: Request,
    db: Database = Depends(get_db),
    book: PolicyBook = Depends(get_policy),
    who: Principal = Depends(require_staff("dpo")),
) -> Response:
    """Place a legal hold (GDPR Art. 17(3)(e)) on a subject, with a reason."""
    form = await read_form(request)
    v = FormValues(form)
    given = v.text("subject", label="Person", required=True, max_len=320)
    reason = v.text("reason", label="Reason (no personal data)", required=True, max_len=500)
    until_text = v.text("until", label="Until", max_len=10)
    until = None
    if until_text:
        try:
            until = datetime.combine(
                datetime.strptime(until_text, "%Y-%m-%d").date(), time.min, UTC
            )
        except ValueError:
            v.errors["until"] = "Until: give a date as YYYY-MM-DD."
    if not check_csrf(request, form, who):
        v.errors["form"] = FORM_EXPIRED
    if not v.errors:
        try:

            def place() -> None:
                registry = Registry(db)
                subject_ref, found_by = _hold_subject(db, given)
                subject = registry.get_subject(subject_ref)
                with db.session() as session:
                    hold_id = registry.add_legal_hold(
                        subject, reason, until=until, created_by=who.actor, session=session
                    )
                    AuditLog(db).append(
                        "retention.hold.placed",
                        actor=who.actor,
                        subject_ref=subject_ref,
                        reason=reason,
                        details={"hold": hold_id, "until": until_text or None, "by": found_by},
                        session=session,
                    )

            await run_in_threadpool(place)
            context = _context(db, book, 30, request.app.state.settings)
            return render(
                request,
                "dashboard/retention.html",
                {
                    **context,
                    "values": {},
                    "errors": {},
                    "messages": [{"kind": "ok", "text": "Legal hold placed."}],
                },
                status_code=201,
            )
        except PrivacyOpsError as exc:
            v.errors["subject" if exc.status == 404 else "form"] = exc.message
    return render(
        request,
        "dashboard/retention.html",
        {
            **_context(db, book, 30, request.app.state.settings),
            "values": v.kept(),
            "errors": v.errors,
        },
        status_code=400 if "form" in v.errors else 422,
    )


@router.post("/dashboard/retention/holds/{hold_id}/lift")
async def lift_hold(
    hold_id: RowId,
    request: Request,
    db: Database = Depends(get_db),
    book: PolicyBook = Depends(get_policy),
    who: Principal = Depends(require_staff("dpo")),
) -> Response:
    """Lift a legal hold: the data follows its retention again."""
    form = await read_form(request)
    errors: dict[str, str] = {}
    messages: list[dict[str, str]] = []
    if not check_csrf(request, form, who):
        errors["form"] = FORM_EXPIRED
    else:
        try:
            with db.session() as session:
                Registry(db).lift_legal_hold(hold_id, session=session)
                AuditLog(db).append(
                    "retention.hold.lifted",
                    actor=who.actor,
                    details={"hold": hold_id},
                    session=session,
                )
            messages.append({"kind": "ok", "text": "Legal hold lifted."})
        except PrivacyOpsError as exc:
            errors["form"] = exc.message
    return render(
        request,
        "dashboard/retention.html",
        {
            **_context(db, book, 30, request.app.state.settings),
            "values": {},
            "errors": errors,
            "messages": messages,
        },
        status_code=400 if errors else 200,
    )
