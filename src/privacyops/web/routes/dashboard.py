"""Dashboard pages that read the policy and the audit log.

``GET /dashboard/policy`` (versions with their lint findings), ``GET /dashboard/processors``
(processors, their countries, and third-country transfers with safeguards),
``GET /dashboard/audit`` (the audit log, newest first, keyset-paged by ``before``),
``POST /dashboard/audit/verify`` (recompute the hash chain and say where it breaks).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from privacyops.accounts import Principal
from privacyops.audit import AuditEvent, AuditLog
from privacyops.audit import actions as audit_actions
from privacyops.policy.adequacy import adequacy
from privacyops.policy.lint import Finding, lint_manifest
from privacyops.policy.render import country_name
from privacyops.policy.schema import Manifest, PolicyBook
from privacyops.store import Database
from privacyops.web.auth import STAFF_READ, check_csrf, require_staff
from privacyops.web.deps import get_db, get_policy
from privacyops.web.forms import FORM_EXPIRED, read_form
from privacyops.web.pages import add_nav, render
from privacyops.web.params import MAX_ROW_ID

router = APIRouter(tags=["dashboard"], include_in_schema=False)
add_nav("/dashboard/policy", "Policy", STAFF_READ)
add_nav("/dashboard/processors", "Processors", STAFF_READ)
add_nav("/dashboard/audit", "Audit log", ("dpo", "auditor"))

PAGE = 50


_LINTED: dict[int, tuple[Manifest, tuple[Finding, ...]]] = {}


def lint_findings(manifest: Manifest) -> tuple[Finding, ...]:
    """Lint findings of a loaded version, computed once."""
    cached = _LINTED.get(id(manifest))
    if cached is not None and cached[0] is manifest:
        return cached[1]
    found = tuple(lint_manifest(manifest))
    if len(_LINTED) > 64:
        _LINTED.clear()
    _LINTED[id(manifest)] = (manifest, found)
    return found


_SEVERITY = {"error": 0, "warning": 1, "info": 2}


def _section(where: str) -> str:
    """The manifest section a finding sits in: ``purposes[x].legal_basis`` -> ``purposes``."""
    return where.split(".", 1)[0].split("[", 1)[0] or "manifest"


def _by_rule(findings: list[Finding]) -> list[dict[str, Any]]:
    """Findings grouped by rule (worst first), then by manifest section; no file paths."""
    rules: dict[str, dict[str, Any]] = {}
    for f in findings:
        group = rules.setdefault(
            f.rule,
            {"rule": f.rule, "severity": f.severity.value, "article": f.article, "sections": {}},
        )
        group["sections"].setdefault(_section(f.where), []).append(f)
    out = []
    for group in rules.values():
        items = [f for fs in group["sections"].values() for f in fs]
        group["count"] = len(items)
        group["waived"] = sum(1 for f in items if f.waiver is not None)
        group["sections"] = sorted(group["sections"].items())
        out.append(group)
    return out


@router.get("/dashboard/policy")
def policy_versions(
    request: Request,
    book: PolicyBook = Depends(get_policy),
    who: Principal = Depends(require_staff(*STAFF_READ)),
) -> Response:
    """Every version with its lint findings (errors first)."""
    versions = []
    for m in reversed(book.versions):
        findings = sorted(lint_findings(m), key=lambda f: (_SEVERITY[f.severity.value], f.rule))
        versions.append(
            {
                "manifest": m,
                "current": m is book.current,
                "findings": findings,
                "rules": _by_rule(findings),
                "counts": Counter(f.severity.value for f in findings),
                "waived": sum(1 for f in findings if f.waiver is not None),
            }
        )
    return render(request, "dashboard/policy.html", {"versions": versions})


@router.get("/dashboard/processors")
def processors_page(
    request: Request,
    book: PolicyBook = Depends(get_policy),
    who: Principal = Depends(require_staff(*STAFF_READ)),
) -> Response:
    """Processors and third parties, and every transfer outside the EEA with its safeguard."""
    m = book.current
    decisions = adequacy()
    transfers: list[dict[str, Any]] = []
    for t in m.transfers:
        decision = decisions.decision_for(t.destination)
        transfers.append(
            {
                "transfer": t,
                "country": country_name(t.destination),
                "in_eea": decisions.in_eea(t.destination),
                "adequacy": decision.cite() if decision is not None else None,
            }
        )
    processors = [
        {
            "p": p,
            "country": country_name(p.country) if p.country else "",
            "outside_eea": bool(p.country) and not decisions.in_eea(p.country or ""),
        }
        for p in m.processors
    ]
    return render(
        request,
        "dashboard/processors.html",
        {"manifest": m, "processors": processors, "transfers": transfers},
    )


def _audit_page(db: Database, before: int | None, action: str | None) -> dict[str, Any]:
    query = sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(PAGE + 1)
    if before is not None:
        query = query.where(AuditEvent.seq < before)
    if action:
        query = query.where(AuditEvent.action == action)
    with db.session() as session:
        rows = list(session.scalars(query))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return {
        "events": rows,
        "next_before": rows[-1].seq if more and rows else None,
        "action": action or "",
    }


@router.get("/dashboard/audit")
def audit_page(
    request: Request,
    before: int | None = Query(None, ge=1, le=MAX_ROW_ID),
    action: str | None = Query(None, max_length=64),
    db: Database = Depends(get_db),
    who: Principal = Depends(require_staff("dpo", "auditor")),
) -> Response:
    """The audit log, newest first, 50 a page."""
    return render(request, "dashboard/audit.html", {**_audit_page(db, before, action)})


@router.post("/dashboard/audit/verify")
async def audit_verify(
    request: Request,
    db: Database = Depends(get_db),
    who: Principal = Depends(require_staff("dpo", "auditor")),
) -> Response:
    """Recompute the whole hash chain and show the result above the log."""
    form = await read_form(request)
    context = _audit_page(db, None, None)
    if not check_csrf(request, form, who):
        return render(
            request, "dashboard/audit.html", {**context, "error": FORM_EXPIRED}, status_code=400
        )
    result = await run_in_threadpool(AuditLog(db).verify)
    AuditLog(db).append(
        audit_actions.AUDIT_VERIFY,
        actor=who.actor,
        reason="audit chain verified from the dashboard",
        details={
            "ok": result.ok,
            "events_checked": result.events_checked,
            "first_broken_seq": result.first_broken_seq,
        },
    )
    return render(request, "dashboard/audit.html", {**context, "verified": result})
