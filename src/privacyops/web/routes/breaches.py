"""The breach register's JSON API (GDPR Art. 33, 34), under ``/api/v1/breaches``.

Reading needs the ``breaches:read`` scope, acting ``breaches:write``; the plain-text list of
the people affected is for a DPO's staff session only (audited). Times are ISO 8601 with an
offset: a time without one is refused (422), never guessed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field

from privacyops.accounts import Principal
from privacyops.policy.schema import PolicyBook
from privacyops.registers.breaches import BreachIn
from privacyops.registers.desk import BreachDesk, countdown
from privacyops.rights.authorities import authority_for
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.web.auth import require_scope, require_staff
from privacyops.web.deps import get_db, get_policy, get_settings_dep

__all__ = ["breach_desk", "router"]

router = APIRouter(prefix="/api/v1/breaches", tags=["breaches"])

_read = require_scope("breaches:read")
_write = require_scope("breaches:write")
_Names = list[str]


def breach_desk(
    db: Database = Depends(get_db),
    policy: PolicyBook = Depends(get_policy),
    settings: Settings = Depends(get_settings_dep),
) -> BreachDesk:
    """Dependency: the breach register on the app's database and the policy in force."""
    manifest = policy.current
    authority = authority_for(manifest.contact_point.country).as_dict()
    return BreachDesk(db, manifest, settings, authority)


class BreachNew(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=10_000)
    aware_at: AwareDatetime
    occurred_at: AwareDatetime | None = None
    timezone: str = Field(default="UTC", max_length=64, description="IANA zone for showing.")
    window_start: AwareDatetime | None = None
    window_end: AwareDatetime | None = None
    systems: _Names = Field(default_factory=list, max_length=100)
    channels: _Names = Field(default_factory=list, max_length=100)
    data_categories: _Names = Field(default_factory=list, max_length=100)
    consequences: str | None = Field(default=None, max_length=10_000)
    measures: str | None = Field(default=None, max_length=10_000)


class BreachChange(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, min_length=1, max_length=10_000)
    occurred_at: AwareDatetime | None = None
    window_start: AwareDatetime | None = None
    window_end: AwareDatetime | None = None
    systems: _Names | None = Field(default=None, max_length=100)
    channels: _Names | None = Field(default=None, max_length=100)
    data_categories: _Names | None = Field(default=None, max_length=100)
    consequences: str | None = Field(default=None, max_length=10_000)
    measures: str | None = Field(default=None, max_length=10_000)


class RiskIn(BaseModel):
    likelihood: str = Field(max_length=16, description="low, medium, high or very_high")
    severity: str = Field(max_length=16, description="low, medium, high or very_high")
    reasons: str = Field(min_length=1, max_length=10_000)


class NotifiedIn(BaseModel):
    at: AwareDatetime
    note: str = Field(min_length=1, max_length=2_000)
    late_reasons: str | None = Field(default=None, max_length=10_000)


@router.get("")
def list_breaches(
    desk: BreachDesk = Depends(breach_desk), _: Principal = Depends(_read)
) -> list[dict[str, Any]]:
    """Every breach, the most recent first, with its deadline and countdown."""
    return [{**b.as_dict(), "countdown": countdown(b)} for b in desk.register.list()]


@router.post("", status_code=201)
def record_breach(
    body: BreachNew, desk: BreachDesk = Depends(breach_desk), who: Principal = Depends(_write)
) -> dict[str, Any]:
    """Enter a breach in the register (audited)."""
    breach = desk.register.record(BreachIn(**body.model_dump()), actor=who.actor)
    return desk.summary(breach.ref)


@router.get("/{ref}")
def show_breach(
    ref: str, desk: BreachDesk = Depends(breach_desk), _: Principal = Depends(_read)
) -> dict[str, Any]:
    """A breach with its deadline, countdown, affected counts and letters."""
    return desk.summary(ref[:32])


@router.patch("/{ref}")
def change_breach(
    ref: str,
    body: BreachChange,
    desk: BreachDesk = Depends(breach_desk),
    who: Principal = Depends(_write),
) -> dict[str, Any]:
    """Change what is known of a breach (audited with the names of the fields changed)."""
    desk.register.update(ref[:32], body.model_dump(exclude_unset=True), actor=who.actor)
    return desk.summary(ref[:32])


@router.post("/{ref}/risk")
def assess_breach(
    ref: str,
    body: RiskIn,
    desk: BreachDesk = Depends(breach_desk),
    who: Principal = Depends(_write),
) -> dict[str, Any]:
    """Likelihood x severity and the decision: none, authority or people."""
    breach = desk.register.assess(
        ref[:32], body.likelihood, body.severity, reasons=body.reasons, actor=who.actor
    )
    return {"risk": breach.risk, "reasons": breach.decision_reasons}


@router.post("/{ref}/notifications")
def note_notification(
    ref: str,
    body: NotifiedIn,
    desk: BreachDesk = Depends(breach_desk),
    who: Principal = Depends(_write),
) -> dict[str, Any]:
    """Note a phase of the notification to the authority (Art. 33(4))."""
    at: datetime = body.at
    breach = desk.register.notify_authority(
        ref[:32], at=at, note=body.note, late_reasons=body.late_reasons, actor=who.actor
    )
    return {"phases": breach.phases, "late": breach.late, "late_reasons": breach.late_reasons}


@router.get("/{ref}/notification")
def draft_notification(
    ref: str, desk: BreachDesk = Depends(breach_desk), _: Principal = Depends(_read)
) -> dict[str, Any]:
    """The draft notification to the lead supervisory authority (Art. 33(3)), as JSON."""
    return desk.notification(ref[:32])


@router.get("/{ref}/notification.pdf")
def draft_notification_pdf(
    ref: str, desk: BreachDesk = Depends(breach_desk), _: Principal = Depends(_read)
) -> Response:
    """The same draft as a PDF."""
    return Response(
        desk.notification_pdf(ref[:32]),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{ref[:32]}.pdf"'},
    )


@router.post("/{ref}/letters")
def send_breach_letters(
    ref: str, desk: BreachDesk = Depends(breach_desk), who: Principal = Depends(_write)
) -> dict[str, Any]:
    """E-mail the letter to each affected person not yet reached (Art. 34); counts back."""
    return desk.send_letters(ref[:32], actor=who.actor).as_dict()


@router.get("/{ref}/people")
def affected_people_list(
    ref: str,
    desk: BreachDesk = Depends(breach_desk),
    who: Principal = Depends(require_staff("dpo")),
) -> list[dict[str, Any]]:
    """The people affected with their identities in plain text: a DPO's session only, and
    the reading is written to the audit log."""
    return desk.identities(ref[:32], actor=who.actor)
