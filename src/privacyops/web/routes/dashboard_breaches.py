"""The breach register on the dashboard (GDPR Art. 33, 34).

``GET /dashboard/breaches`` (every breach with the countdown to its 72-hour deadline) and
``GET /dashboard/breaches/{ref}`` (one breach: deadline, affected counts, risk, notification
phases, letters; links to the draft notification as JSON and PDF). The DPO's home page shows
the countdown of each open breach (:func:`open_countdowns`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from privacyops.accounts import Principal
from privacyops.policy.schema import Manifest
from privacyops.registers.breaches import BreachRegister
from privacyops.registers.desk import BreachDesk, countdown
from privacyops.store import Database
from privacyops.web.auth import require_staff
from privacyops.web.pages import add_nav, render
from privacyops.web.routes.breaches import breach_desk

__all__ = ["BREACH_ROLES", "open_countdowns", "router"]

router = APIRouter(tags=["dashboard"], include_in_schema=False)
#: Who sees the breach register (the DPO acts; an auditor reads).
BREACH_ROLES: tuple[str, ...] = ("dpo", "auditor")
add_nav("/dashboard/breaches", "Breaches", BREACH_ROLES)


def open_countdowns(db: Database, manifest: Manifest) -> list[dict[str, Any]]:
    """Each open breach still to be notified, with its countdown, the most urgent first."""
    rows = []
    for breach in BreachRegister(db, manifest).list(open_only=True):
        clock = countdown(breach)
        if clock["due"] and not clock["notified"]:
            rows.append({"breach": breach, "clock": clock})
    return sorted(rows, key=lambda r: r["clock"]["seconds_left"])


@router.get("/dashboard/breaches")
def breaches_page(
    request: Request,
    desk: BreachDesk = Depends(breach_desk),
    who: Principal = Depends(require_staff(*BREACH_ROLES)),
) -> Response:
    """Every breach with its deadline and countdown."""
    rows = [{"breach": b, "clock": countdown(b)} for b in desk.register.list()]
    return render(request, "dashboard/breaches.html", {"rows": rows})


@router.get("/dashboard/breaches/{ref}")
def breach_page(
    ref: str,
    request: Request,
    desk: BreachDesk = Depends(breach_desk),
    who: Principal = Depends(require_staff(*BREACH_ROLES)),
) -> Response:
    """One breach: deadline, countdown, who is affected (counts), risk, phases, letters."""
    summary = desk.summary(ref[:32])
    return render(
        request,
        "dashboard/breach.html",
        {"b": summary, "breach": desk.register.get(ref[:32]), "clock": summary["countdown"]},
    )
