"""``notify``: tell the recipients what was erased, rectified or restricted (GDPR Art. 19).

Each recipient and processor the policy says received the person's data (from the channels of
their records) gets a notice. The notices are recorded ``pending`` in this step's transaction
and sent once it has committed (``notify_recipients`` sends each at most once per request and
recipient; a crash in between leaves them pending for ``remind_notices``). Those who cannot be
reached are recorded ``unreachable``: the request then waits for the DPO's Art. 19 decision on
each before it is answered (:mod:`privacyops.rights.recipients`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from privacyops.rights.notices import (
    NoticeAction,
    NoticeTarget,
    contacts_from_connectors,
    holders_from_channels,
    notify_recipients,
    record_notices,
    targets_from_manifest,
)
from privacyops.rights.recipients import record_unreachable
from privacyops.rights.steps.base import Step
from privacyops.rights.systems import identities_of, staff_systems
from privacyops.rights.workflow import RequestType

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = ["NOTICE_ACTIONS", "notify"]

#: The request types whose result is notified to recipients, and the notice's action.
NOTICE_ACTIONS: dict[RequestType, NoticeAction] = {
    RequestType.ERASURE: "erasure",
    RequestType.RECTIFICATION: "rectification",
    RequestType.RESTRICTION: "restriction",
}


def notify(step: Step) -> dict[str, Any]:
    """Record a notice for each recipient reached, send them after the commit."""
    service, session, row = step.service, step.session, step.row
    action = NOTICE_ACTIONS[RequestType(row.type)]
    if RequestType(row.type) is RequestType.ERASURE:
        erased = step.look.result(row.id, "erase")
        channels = list((erased or {}).get("channels", []))
    elif row.subject_ref is not None:
        channels = [r.channel for r in service.registry.record_facts(session, row.subject_ref)]
    else:
        channels = []
    manifest = service.policy.current
    holders = [
        h
        for h in holders_from_channels(manifest, channels)
        if h in {r.id for r in manifest.recipients} | {p.id for p in manifest.processors}
    ]
    targets, unreachable = targets_from_manifest(
        manifest, holders, contacts_from_connectors(service.connectors)
    )
    record_notices(
        session,
        action=action,
        request_ref=row.public_id,
        targets=targets,
        subject_ref=row.subject_ref,
    )
    identities = identities_of(step.ctx.details)
    changes = step.ctx.details.get("changes") if action == "rectification" else None
    step.after.append(
        _sender(service, action, row.public_id, row.subject_ref, identities, targets, changes)
    )
    names = {r.id: r.name for r in manifest.recipients} | {
        p.id: p.name for p in manifest.processors
    }
    # a processor with a manual connector is reached by its task, not by a notice
    tasked = {c.spec.processor for c in staff_systems(service) if c.spec.processor}
    unreachable = [u for u in unreachable if u not in tasked]
    record_unreachable(
        session,
        action=action,
        request_ref=row.public_id,
        recipients=[(u, names[u]) for u in unreachable],
        subject_ref=row.subject_ref,
    )
    outcome = step.outcome
    outcome.not_notified = [names[u] for u in unreachable]
    outcome.store(row)
    return {"notices": len(targets), "unreachable": unreachable}


def _sender(
    service: RightsService,
    action: NoticeAction,
    request_ref: str,
    subject_ref: str | None,
    identities: dict[str, str],
    targets: list[NoticeTarget],
    changes: dict[str, str] | None = None,
) -> Callable[[], None]:
    def send() -> None:
        notify_recipients(
            service.db,
            service.settings,
            action=action,
            request_ref=request_ref,
            identities=identities,
            targets=targets,
            subject_ref=subject_ref,
            changes=changes,
        )

    return send
