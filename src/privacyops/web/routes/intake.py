"""Intake over HTTP: channel submissions, the spam review queue, blocklists and rules.

- ``POST /api/v1/intake/{channel}``: one submission, a JSON object (see
  :mod:`privacyops.intake.submission`). Public channels (``Settings.intake_public_channels``,
  by default the web form and the chatbot) need no login but are rate-limited per client
  address and capped in size; they answer ``202 {"status": "received"}`` whether the submission
  was stored or held for spam review, and never name the data subject. Other channels (contact,
  customer, event…) need the ``intake:write`` scope and answer with the full result.
- ``/api/v1/intake/identity-reviews``: submissions held because their identities point at two
  people (list; decide: merge into one or keep apart).
- ``/api/v1/intake/spam/...``: the quarantine (list, read, release, reject), the blocklist and
  the keyword/regex rules (policy §8), for staff.
- ``POST /api/v1/intake/under-age``: a data subject found to be under the age limit is erased
  (policy §12).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from privacyops.accounts import Principal
from privacyops.audit import AuditLog
from privacyops.errors import InvalidInput, PayloadTooLarge, RateLimited
from privacyops.intake import spam
from privacyops.intake.group import GroupCommit
from privacyops.intake.reviews import decide_identity_review, pending_identity_reviews
from privacyops.intake.service import IntakeResult, IntakeService
from privacyops.policy import PolicyBook
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.store.registry import Registry
from privacyops.web.auth import require_scope
from privacyops.web.deps import get_db, get_policy, get_settings_dep
from privacyops.web.params import RowId
from privacyops.web.security import client_address

__all__ = ["intake_service", "router"]

router = APIRouter(prefix="/api/v1/intake", tags=["intake"])

_read = require_scope("intake:read")
_write = require_scope("intake:write")


def intake_service(
    db: Database = Depends(get_db),
    policy: PolicyBook = Depends(get_policy),
    settings: Settings = Depends(get_settings_dep),
) -> IntakeService:
    """Dependency: the intake service on the app's database and policy."""
    return IntakeService(db, Registry(db), AuditLog(db), policy, settings=settings)


def intake_group(app: Any) -> GroupCommit[Any, IntakeResult]:
    """The app's group commit of intake submissions (made on first use)."""
    group: GroupCommit[Any, IntakeResult] | None = getattr(app.state, "intake_group", None)
    if group is None:
        group = app.state.intake_group = GroupCommit()
    return group


def _decode(body: bytes, cap: int) -> Any:
    if len(body) > cap:
        raise PayloadTooLarge(f"A submission may be at most {cap} bytes.")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput(
            "The body is not a valid JSON object (send Content-Type: application/json)."
        ) from None


# --- spam review (policy §8) ------------------------------------------------------------------


class Decision(BaseModel):
    """A reviewer's decision on a quarantined submission."""

    note: str | None = Field(default=None, max_length=300, description="Why (no personal data).")
    block_sender: bool = Field(
        default=False, description="On reject: also blocklist the sender's e-mail and accounts."
    )


class BlockIn(BaseModel):
    kind: Literal["account", "email", "domain", "ip_range"]
    value: str = Field(min_length=1, max_length=320)
    note: str | None = Field(default=None, max_length=300)


class RuleIn(BaseModel):
    kind: Literal["keyword", "regex"]
    pattern: str = Field(min_length=1, max_length=500)
    note: str | None = Field(default=None, max_length=300)


class UnderAge(BaseModel):
    subject_ref: str = Field(min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=300)


@router.get("/spam/quarantine")
def quarantine(
    status: Literal["pending", "released", "rejected", "all"] = "pending",
    service: IntakeService = Depends(intake_service),
    _: Principal = Depends(_read),
) -> list[dict[str, Any]]:
    """Quarantined submissions (newest first), without their content."""
    return service.quarantined(None if status == "all" else status)


@router.get("/spam/quarantine/{quarantine_id}")
def quarantined_item(
    quarantine_id: str,
    service: IntakeService = Depends(intake_service),
    who: Principal = Depends(_write),
) -> dict[str, Any]:
    """A pending submission's content, for review (the reading is audited)."""
    return service.show_quarantined(quarantine_id, actor=who.actor)


@router.post("/spam/quarantine/{quarantine_id}/release")
def release(
    quarantine_id: str,
    decision: Decision,
    service: IntakeService = Depends(intake_service),
    who: Principal = Depends(_write),
) -> dict[str, Any]:
    """Judge it legitimate: it is stored as a normal submission."""
    return service.release(quarantine_id, actor=who.actor, note=decision.note).to_dict()


@router.post("/spam/quarantine/{quarantine_id}/reject")
def reject(
    quarantine_id: str,
    decision: Decision,
    service: IntakeService = Depends(intake_service),
    who: Principal = Depends(_write),
) -> dict[str, Any]:
    """Judge it spam: its content is discarded; optionally blocklist the sender."""
    blocks = service.reject(
        quarantine_id, actor=who.actor, note=decision.note, block_sender=decision.block_sender
    )
    return {"status": "rejected", "blocklist_entries": blocks}


# --- identity reviews (docs/registry.md) -------------------------------------------------------


class IdentityDecision(BaseModel):
    """Staff's decision on a held submission: merge it into one candidate, or keep it apart."""

    merge_into: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="The candidate subject's public id; omit or null to keep it apart.",
    )


@router.get("/identity-reviews")
def identity_reviews(
    db: Database = Depends(get_db), _: Principal = Depends(_read)
) -> list[dict[str, Any]]:
    """Submissions whose identifying identities point at more than one person, waiting for
    staff (no personal data: subjects' public ids and identity kinds)."""
    return [asdict(review) for review in pending_identity_reviews(db)]


@router.post("/identity-reviews/{review_id}/decision")
def decide_identity(
    review_id: RowId,
    decision: IdentityDecision,
    db: Database = Depends(get_db),
    who: Principal = Depends(_write),
) -> dict[str, Any]:
    """Merge the held submission into a candidate, or keep it apart; audited."""
    return asdict(
        decide_identity_review(db, review_id, merge_into=decision.merge_into, actor=who.actor)
    )


@router.get("/spam/blocklist")
def blocklist(
    service: IntakeService = Depends(intake_service), _: Principal = Depends(_read)
) -> list[dict[str, Any]]:
    """The blocklist (e-mail addresses and accounts masked)."""
    with service.db.session() as session:
        return spam.list_blocks(session)


@router.post("/spam/blocklist", status_code=201)
def add_block(
    entry: BlockIn,
    service: IntakeService = Depends(intake_service),
    who: Principal = Depends(_write),
) -> dict[str, Any]:
    """Add a blocklist entry."""
    with service.db.session() as session:
        block = spam.add_block(
            session,
            service.audit,
            service.db.keyring,
            entry.kind,
            entry.value,
            actor=who.actor,
            note=entry.note,
        )
        return {"id": block.id, "kind": block.kind, "value": block.display}


@router.delete("/spam/blocklist/{entry_id}", status_code=204)
def remove_block(
    entry_id: RowId,
    service: IntakeService = Depends(intake_service),
    who: Principal = Depends(_write),
) -> None:
    """Remove a blocklist entry."""
    with service.db.session() as session:
        spam.remove_block(session, service.audit, entry_id, actor=who.actor)


@router.get("/spam/rules")
def rules(
    service: IntakeService = Depends(intake_service), _: Principal = Depends(_read)
) -> list[dict[str, Any]]:
    """The keyword and regex rules."""
    with service.db.session() as session:
        return spam.list_rules(session)


@router.post("/spam/rules", status_code=201)
def add_rule(
    rule: RuleIn,
    service: IntakeService = Depends(intake_service),
    who: Principal = Depends(_write),
) -> dict[str, Any]:
    """Add a keyword or regex rule (case-insensitive)."""
    with service.db.session() as session:
        added = spam.add_rule(
            session, service.audit, rule.kind, rule.pattern, actor=who.actor, note=rule.note
        )
        return {"id": added.id, "kind": added.kind, "pattern": added.pattern}


@router.delete("/spam/rules/{rule_id}", status_code=204)
def remove_rule(
    rule_id: RowId,
    service: IntakeService = Depends(intake_service),
    who: Principal = Depends(_write),
) -> None:
    """Remove a rule."""
    with service.db.session() as session:
        spam.remove_rule(session, service.audit, rule_id, actor=who.actor)


# --- the age gate after the fact (policy §12) ------------------------------------------------


@router.post("/under-age")
def under_age(
    body: UnderAge,
    service: IntakeService = Depends(intake_service),
    who: Principal = Depends(_write),
) -> dict[str, Any]:
    """A data subject was found to be under the age limit: erase their data."""
    erased = service.mark_under_age(body.subject_ref, actor=who.actor, note=body.note)
    return {"subject_ref": body.subject_ref, "erased": erased}


# --- submissions (declared last: ``/{channel}`` would shadow the fixed paths above) -------


@router.post(
    "/{channel}",
    status_code=202,
    responses={
        201: {"description": "Stored (staff channels)."},
        202: {"description": "Received (public channels), or held for spam review."},
        404: {"description": "The policy declares no such channel."},
        413: {"description": "Over the size cap."},
        422: {"description": "Undeclared field, invalid value, or under the age limit."},
        429: {"description": "Too many submissions from this address."},
    },
)
async def submit(
    channel: str, request: Request, service: IntakeService = Depends(intake_service)
) -> JSONResponse:
    """Submit personal data through a channel of the policy.

    The body is a JSON object whose keys are the channel's data categories (and control
    fields such as ``marketing_consent``); anything the channel does not declare is refused by
    name (data minimisation, GDPR Art. 5(1)(c)).
    """
    settings = service.settings
    public = channel in settings.intake_public_channels
    client = client_address(request)
    if public:
        wait = request.app.state.rate_limiter.hit(
            f"intake:{client}", settings.intake_rate_limit_per_minute
        )
        if wait is not None:
            raise RateLimited(retry_after=wait)
        actor = f"web:{channel}"[:128]
    else:
        principal: Principal = _write(request)
        actor = principal.actor
    payload = _decode(await request.body(), settings.intake_max_payload_bytes)
    result = await run_in_threadpool(
        service.submit,
        channel,
        payload,
        actor=actor,
        staff=not public,
        client_ip=client,
        group=intake_group(request.app) if settings.intake_group_commit else None,
    )
    if public:
        # The same answer for stored and quarantined: a spammer learns nothing, and a caller
        # never learns whether the person was already known.
        return JSONResponse({"status": "received"}, status_code=202)
    return JSONResponse(result.to_dict(), status_code=201 if result.status == "stored" else 202)
