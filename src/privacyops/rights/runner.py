"""Running a request's steps: once each, resumable after a crash.

:func:`process` claims a request with a lease (so two workers never run it at once; a dead
worker's lease expires and another takes over), then runs the steps of its type
(:data:`~privacyops.rights.workflow.PLANS`) in order. Each step runs in one transaction with
the record ``(request, step)`` that marks it done, its audit event and the messages it decides
to send (outbox): a crash before the commit undoes all of it, a crash after it leaves it done,
so a restarted worker does each step exactly once. Connected systems reached over the network
(SQL databases, HTTP APIs) are asked just before that transaction, not inside it
(:meth:`_Position.call_ahead`): a slow API never holds the database's write lock; their
erasures are idempotent, so a step redone after a crash may ask again. The same functions run
in the in-process background thread (``privacyops.jobs``) and in Celery tasks
(``privacyops.jobs.celery_app``).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.audit import NewEvent
from privacyops.connectors import (
    Connector,
    ConnectorResult,
    HTTPConnector,
    ManualConnector,
    NoticeTarget,
    SQLConnector,
    contacts_from_connectors,
    drop_task_records,
    holders_from_channels,
    notify_recipients,
    record_notices,
    targets_from_manifest,
)
from privacyops.connectors.base import Action
from privacyops.connectors.notices import NoticeAction
from privacyops.consent.models import MarketingConsent
from privacyops.errors import InvalidInput, NotFound, PrivacyOpsError
from privacyops.rights.answer import answer_for
from privacyops.rights.authorities import answer_complaint
from privacyops.rights.exports import (
    PORTABLE_BASES,
    ExportBundle,
    describe_record,
    encrypted_pdf,
    new_password,
    portable,
    zip_bundle,
)
from privacyops.rights.identity import Message, new_token
from privacyops.rights.lookahead import Lookahead
from privacyops.rights.messages import answer_message, people_context, render_message
from privacyops.rights.models import (
    ConnectorAnswer,
    Export,
    RightsRequest,
    StaffTask,
    StepRecord,
)
from privacyops.rights.service import RequestContext, RightsService
from privacyops.rights.workflow import (
    OBJECTION_KINDS,
    PLANS,
    RESTRICTION_GROUNDS,
    RequestState,
    RequestType,
    TaskKind,
)
from privacyops.store import utcnow

__all__ = [
    "STEPS",
    "Pending",
    "StepHook",
    "Wait",
    "build_bundle",
    "lease",
    "open_export",
    "process",
    "runnable",
    "tick",
    "worker_id",
]

log = logging.getLogger(__name__)


def lease(service: RightsService) -> timedelta:
    """How long a worker holds a request between two steps before another may take it."""
    return timedelta(seconds=service.settings.rights_lease_seconds)


#: Called inside each step's transaction, after its work and before the commit (progress
#: reporting; tests use it to stop a worker at an exact point).
StepHook = Callable[[str, str], None]


def worker_id() -> str:
    """A name for this worker process (host and pid)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


class Wait(Exception):
    """Raised by a step that needs a staff decision first; the request waits for review."""

    def __init__(self, task: TaskKind) -> None:
        super().__init__(task.value)
        self.task = task


class Pending(Exception):
    """Raised by a step while other systems have not done their part (a manual or e-mail
    task is open, or a connector failed): the request stays ``in_progress`` with a
    ``waiting_for`` list, and is looked at again (failures with back-off).

    Unlike :class:`Wait` and errors, the work the step did before raising is committed
    (without the step's record, so the step runs again): what a system answered meanwhile,
    and a task e-mail that went, are kept and not asked or sent again."""

    def __init__(self, other_systems: list[dict[str, Any]]) -> None:
        super().__init__("waiting for other systems")
        self.other_systems = other_systems

    @property
    def waiting_for(self) -> list[str]:
        return [s["system"] for s in self.other_systems if s["status"] != "done"]

    @property
    def failed(self) -> bool:
        return any(s["status"] == "failed" for s in self.other_systems)


class Step:
    """What a step function gets: the service, the open session and the request."""

    def __init__(
        self,
        service: RightsService,
        session: Session,
        ctx: RequestContext,
        shreds: list[str] | None = None,
        after: list[Callable[[], None]] | None = None,
        look: Lookahead | None = None,
    ) -> None:
        self.service = service
        self.session = session
        self.ctx = ctx
        self.row = ctx.row
        #: The batch's look-ups, fetched for every request of the position at once.
        self.look = look or Lookahead(service, session, {ctx.row.id: ctx.row}, {}, {})
        #: Subjects to crypto-shred when the step's transaction ends (batched key deletion).
        self.shreds: list[str] = shreds if shreds is not None else []
        #: Work to do once the step's transaction has committed (sending Art. 19 notices).
        self.after: list[Callable[[], None]] = after if after is not None else []

    def decision(self, kind: TaskKind) -> StaffTask:
        """The decided task of ``kind``; opens it and raises :class:`Wait` when undecided."""
        task = self.session.scalar(
            sa.select(StaffTask).where(
                StaffTask.request_id == self.row.id, StaffTask.kind == kind.value
            )
        )
        if task is not None and task.decision is not None:
            return task
        raise Wait(kind)

    def say(self, purpose: str, subject: str, body: str, *, channel: str = "email") -> None:
        to = self.ctx.details["phone"] if channel == "phone" else self.ctx.details["email"]
        self.service.queue_message(
            self.session,
            self.row,
            purpose,
            channel,
            Message(to, subject, body),
            queued=self.look.queued(self.row.id, purpose),
        )


# --- the steps -------------------------------------------------------------------------


def _resolve(step: Step) -> dict[str, Any]:
    """Find the person in the registry by the confirmed e-mail; with a phone second factor,
    the phone must be an identity of the same person, else a staff review decides."""
    service, session, details = step.service, step.session, step.ctx.details
    subject = step.look.subject_by_email(details["email"])
    step.row.subject_ref = subject
    if (
        subject is not None
        and step.row.second_factor_at is not None
        and service.settings.second_factor == "phone_code"
        and details.get("phone")
    ):
        by_phone = service.registry.find_subject(session, "phone", details["phone"])
        if by_phone != subject:
            step.decision(TaskKind.IDENTITY_DOCUMENT)
    return {"known": subject is not None}


def _identities(step: Step) -> dict[str, str]:
    return _identities_of(step.ctx.details)


def _identities_of(details: dict[str, Any]) -> dict[str, str]:
    identities = {"email": details["email"]}
    if details.get("phone"):
        identities["phone"] = details["phone"]
    return identities


def _external(service: RightsService) -> list[Connector]:
    """The connected systems reached over the network (SQL databases, HTTP APIs): asked before
    a step's transaction, never inside it (see :meth:`_Position.call_ahead`)."""
    return [c for c in service.connectors if not isinstance(c, ManualConnector)]


def _rectifiers(service: RightsService) -> list[SQLConnector]:
    """The connected databases a rectification writes the corrected values into (their
    datasets say which fields hold which data category)."""
    return [c for c in service.connectors if isinstance(c, SQLConnector)]


def _category_changes(service: RightsService, details: dict[str, Any]) -> dict[str, str]:
    """A rectification's corrected values keyed by fideslang data category (``user.name``),
    through the policy's data categories (``name`` -> ``user.name``); fields the policy maps
    to no category are left to staff."""
    keys = {c.id: c.fides_key for c in service.policy.current.data_categories if c.fides_key}
    changes: dict[str, str] = details.get("changes") or {}
    return {keys[k]: v for k, v in changes.items() if k in keys}


_RESULT_ACTIONS: dict[str, Action] = {
    "access": "access",
    "erase": "erasure",
    "rectify": "rectification",
}


def _call(
    connector: Connector,
    action: str,
    details: dict[str, Any],
    ref: str,
    subject: str | None,
    changes: dict[str, str] | None = None,
) -> ConnectorResult:
    """Ask an external system to ``access``, ``erase`` or ``rectify`` (a database, with
    ``changes`` by data category); one that cannot be reached answers ``failed``."""
    identities = _identities_of(details)
    try:
        if action == "access":
            return connector.access(identities, request_ref=ref, subject_ref=subject)
        if action == "rectify" and isinstance(connector, SQLConnector):
            return connector.rectify(
                identities, changes or {}, request_ref=ref, subject_ref=subject
            )
        if action == "erase":
            return connector.erase(identities, request_ref=ref, subject_ref=subject)
        raise InvalidInput(f"{connector.name} cannot {action}.")
    except PrivacyOpsError as exc:
        return ConnectorResult(
            connector=connector.name,
            kind=connector.kind,
            action=_RESULT_ACTIONS.get(action, cast(Action, action)),
            status="failed",
            note=exc.message,
        )


def _ask(step: Step, connector: Connector, action: str) -> ConnectorResult:
    """One connector's answer to ``action`` (``access``, ``erase``, ``rectification`` or
    ``restriction``); a system that cannot be reached answers ``failed``. An external
    system's answer was fetched before the step's transaction began
    (:meth:`_Position.call_ahead`), when the runner knew it would be asked."""
    if not isinstance(connector, ManualConnector):
        if action == "rectification":
            action = "rectify"
        ahead = step.look.answer_of(step.row.id, connector.name, action)
        if ahead is not None:
            return ahead
        details = step.ctx.details
        changes = _category_changes(step.service, details) if action == "rectify" else None
        return _call(connector, action, details, step.row.public_id, step.row.subject_ref, changes)
    # request_ref/subject_ref let task-based connectors (manual, e-mail) track the request
    # (one task per request and action, never re-opened) and record their task in this
    # step's transaction.
    ref, subject, session = step.row.public_id, step.row.subject_ref, step.session
    try:
        if action == "access":
            return connector.access(
                _identities(step), request_ref=ref, subject_ref=subject, session=session
            )
        if action in ("rectification", "restriction") and isinstance(connector, ManualConnector):
            details = step.ctx.details
            # what staff or the processor need to act: the corrected values, or the ground
            instructions = (
                {"changes": dict(details.get("changes") or {})}
                if action == "rectification"
                else {"ground": details.get("ground")}
            )
            return connector.act(
                "rectification" if action == "rectification" else "restriction",
                _identities(step),
                request_ref=ref,
                subject_ref=subject,
                session=session,
                instructions=instructions,
            )
        return connector.erase(
            _identities(step), request_ref=ref, subject_ref=subject, session=session
        )
    except PrivacyOpsError as exc:
        return ConnectorResult(
            connector=connector.name,
            kind=connector.kind,
            action=_RESULT_ACTIONS.get(action, cast(Action, action)),
            status="failed",
            note=exc.message,
        )


def _staff_systems(service: RightsService) -> list[ManualConnector]:
    """Connected systems with no API that staff act on by hand (``manual`` connectors): they
    get a task for a rectification or a restriction. Processors reached by e-mail get the
    Art. 19 notice instead (one message, tracked until acknowledged)."""
    return [c for c in service.connectors if isinstance(c, ManualConnector) and c.kind == "manual"]


def _open_staff_tasks(step: Step, action: str) -> list[dict[str, Any]]:
    """Open (once per request) the rectification or restriction task of each manual system;
    the request's answer waits until staff record them done (:func:`_recheck`)."""
    return [
        {"system": r.connector, "status": r.status}
        for r in (_ask(step, c, action) for c in _staff_systems(step.service))
    ]


def _connector_results(step: Step, action: str) -> list[ConnectorResult]:
    return [_ask(step, connector, action) for connector in step.service.connectors]


def _access_summary(answer: ConnectorAnswer) -> dict[str, Any]:
    """What the person and staff see of one system's answer (no personal data)."""
    return {"system": answer.connector, "status": answer.status, "records": answer.total}


def _keep_answer(
    step: Step, answer: ConnectorAnswer | None, result: ConnectorResult
) -> ConnectorAnswer:
    """Record what a system answered; its records are sealed with the request's key."""
    if answer is None:
        answer = ConnectorAnswer(
            request_id=step.row.id, connector=result.connector, kind=result.kind, attempts=0
        )
        step.session.add(answer)
    answer.status = result.status
    answer.note = result.note[:500]
    answer.attempts = (answer.attempts or 0) + 1
    if result.status == "done":
        answer.total = result.total
        answer.records_sealed = step.service.seal_for(step.row, result.records)
        answer.answered_at = utcnow()
    else:
        answer.total = 0
    return answer


def _portable_parts(connector: Connector) -> frozenset[str]:
    """The collections (SQL) or resources (HTTP) of a connected system whose records are in
    Art. 20 scope: held on consent or contract, as its file declares (``legal_basis``)."""
    if isinstance(connector, SQLConnector):
        parts = [(c.name, c.legal_basis) for c in connector.dataset.collections]
    elif isinstance(connector, HTTPConnector):
        parts = [(r.name, r.legal_basis) for r in connector.spec.resources]
    else:  # a manual task's records come with no basis
        parts = []
    return frozenset(name for name, basis in parts if basis in PORTABLE_BASES)


def _sources(service: RightsService, kind: RequestType) -> list[Connector]:
    """The systems an access (all) or a portability request (those holding portable records)
    collects from."""
    if kind is RequestType.PORTABILITY:
        return [c for c in service.connectors if _portable_parts(c)]
    return list(service.connectors)


def _scoped(step: Step, connector: Connector, result: ConnectorResult) -> ConnectorResult:
    """For a portability request, only the records of the system's portable parts."""
    if RequestType(step.row.type) is not RequestType.PORTABILITY:
        return result
    parts = _portable_parts(connector)
    return replace(result, records={k: v for k, v in result.records.items() if k in parts})


def _collect(step: Step) -> dict[str, Any]:
    """Ask every connected system for the person's records (for portability, the systems
    holding records on consent or contract), once per request (GDPR Art. 15 and 20 reach them
    too). A manual task or processor e-mail opened here is tracked by the request's reference;
    what each system answered is kept (:class:`ConnectorAnswer`) so that the ``export`` step
    only asks again the ones not done yet."""
    answers: dict[str, ConnectorAnswer] = {}
    for connector in _sources(step.service, RequestType(step.row.type)):
        result = _scoped(step, connector, _ask(step, connector, "access"))
        answers[result.connector] = _keep_answer(step, answers.get(result.connector), result)
    other = [_access_summary(a) for a in answers.values()]
    step.row.outcome = {**(step.row.outcome or {}), "other_systems": other}
    waiting = [a.connector for a in answers.values() if a.status != "done"]
    return {"systems": len(answers), "waiting_for": waiting}


def _gather(step: Step) -> list[ConnectorResult]:
    """The answers of every connected system to an access request, once all are ``done``.

    Systems not done yet are asked again (an open task is only looked at, never re-opened; a
    failed system is called again); what they answer is recorded, and kept even while others
    are still awaited (:class:`Pending` keeps the step's work).

    Raises:
        Pending: some system is still pending or failed.
    """
    service, session, row = step.service, step.session, step.row
    answers = list(
        session.scalars(
            sa.select(ConnectorAnswer)
            .where(ConnectorAnswer.request_id == row.id)
            .order_by(ConnectorAnswer.id)
        )
    )
    by_name = {c.name: c for c in service.connectors}
    for answer in answers:
        if answer.status == "done":
            continue
        connector = by_name.get(answer.connector)
        if connector is None:  # taken out of the configuration: staff must see it
            answer.status = "failed"
            answer.note = "the connector is no longer configured"
            continue
        _keep_answer(step, answer, _scoped(step, connector, _ask(step, connector, "access")))
    if any(a.status != "done" for a in answers):
        session.flush()
        raise Pending([_access_summary(a) for a in answers])
    return [
        ConnectorResult(
            connector=a.connector,
            kind=a.kind,
            action="access",
            status="done",
            records=service.open_for(row, a.records_sealed) if a.records_sealed else {},
            note=a.note,
        )
        for a in answers
    ]


def build_bundle(step: Step, connectors: list[ConnectorResult] | None = None) -> ExportBundle:
    """Everything an access or portability export holds; for access, ``connectors`` (default:
    :func:`_gather`, which raises :class:`Pending` while a system has not answered)."""
    service, row = step.service, step.row
    records = service.registry.records_for(step.session, row.subject_ref) if row.subject_ref else []
    kind = RequestType(row.type)
    if kind is RequestType.PORTABILITY:
        records = portable(records)
    if kind not in (RequestType.ACCESS, RequestType.PORTABILITY):
        connectors = []
    elif connectors is None:
        connectors = _gather(step)
    return ExportBundle(
        controller=service.policy.current.organization,
        request_ref=row.public_id,
        kind=kind.value,
        generated_at=utcnow(),
        parts=[describe_record(service.policy, r) for r in records],
        connectors=connectors,
        answer=(
            answer_for(service, step.session, row, records, connectors, step.ctx.details)
            if kind is RequestType.ACCESS
            else None
        ),
    )


def _export(step: Step) -> dict[str, Any]:
    """Render the export, store it, and send the link and (separately) the password.

    An access export waits until every connected system has answered (:func:`_gather` raises
    :class:`Pending` until then): the person gets one complete answer, never a partial one.
    Once made, the systems' records kept for it are dropped (the export holds them)."""
    service, row = step.service, step.row
    bundle = build_bundle(step)
    if bundle.connectors:
        for answer in step.session.scalars(
            sa.select(ConnectorAnswer).where(ConnectorAnswer.request_id == row.id)
        ):
            answer.records_sealed = None
        drop_task_records(step.session, row.public_id)
        outcome = {
            k: v for k, v in (row.outcome or {}).items() if k not in ("waiting_for", "retries")
        }
        outcome["other_systems"] = [
            {"system": c.connector, "status": c.status, "records": c.total}
            for c in bundle.connectors
        ]
        row.outcome = outcome
    folder = service.settings.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    pdf = RequestType(row.type) is RequestType.ACCESS and service.settings.export_pdf
    password = new_password() if pdf else None
    if password is not None:
        content, name, media = (
            encrypted_pdf(bundle, password),
            "personal-data.pdf",
            "application/pdf",
        )
    else:
        content, name, media = zip_bundle(bundle), "personal-data.zip", "application/zip"
    path = folder / f"{row.public_id}-{name}"
    tmp = path.with_suffix(".part")
    tmp.write_bytes(content)
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    token = new_token()
    expires = utcnow() + timedelta(seconds=service.settings.export_link_ttl_seconds)
    step.session.add(
        Export(
            request_id=row.id,
            token_hash=service._hash("download", token),
            filename=name,
            path=str(path),
            media_type=media,
            expires_at=expires,
        )
    )
    words = {
        **people_context(service.policy.current, service.settings),
        "request_ref": row.public_id,
        "access": RequestType(row.type) is RequestType.ACCESS,
        "expires": f"{expires:%Y-%m-%d %H:%M} UTC",
        "link": f"{service.settings.base_url.rstrip('/')}/api/v1/rights/exports/{token}",
        "password": password,
    }
    step.say("answer", *render_message("export_ready", words))
    if password is not None:
        channel = "phone" if step.ctx.details.get("phone") else "email"
        step.say("password", *render_message("export_password", words), channel=channel)
    return {
        "parts": len(bundle.parts),
        "systems": len(bundle.connectors),
        "system_records": sum(c.total for c in bundle.connectors),
        "format": media,
        "bytes": len(content),
    }


def _erase(step: Step) -> dict[str, Any]:
    """Crypto-shred and delete, except what a legal hold or legal obligation keeps."""
    service, session, row = step.service, step.session, step.row
    results = _connector_results(step, "erase")
    other = [{"system": r.connector, "status": r.status, "erased": r.total} for r in results]
    if row.subject_ref is None:
        row.outcome = {"erased": 0, "kept": [], "other_systems": other}
        return {"erased": 0, "kept": 0}
    holds = step.look.active_holds(row.subject_ref)
    records = step.look.record_facts(row.subject_ref)
    kept: list[dict[str, Any]] = []
    if holds:
        reasons = "; ".join(h.reason for h in holds)
        kept = [
            {
                "record": r.id,
                "channel": r.channel,
                "reason": f"legal hold: {reasons} (GDPR Art. 17(3)(e))",
            }
            for r in records
        ]
    else:
        kept = [
            {
                "record": r.id,
                "channel": r.channel,
                "reason": "kept to comply with a legal obligation (GDPR Art. 17(3)(b))",
            }
            for r in records
            if r.legal_basis == "legal_obligation"
        ]
    keep_ids = {k["record"] for k in kept}
    channels = sorted({r.channel for r in records if r.id not in keep_ids})
    if not kept:
        erased = len(records)
        step.shreds.append(row.subject_ref)
        method = "crypto-shred"
    else:
        erased = service.registry.delete_records(
            session, row.subject_ref, [r.id for r in records if r.id not in keep_ids]
        )
        method = "delete"
    row.outcome = {"erased": erased, "method": method, "kept": kept, "other_systems": other}
    return {"erased": erased, "kept": len(kept), "method": method, "channels": channels}


def _rectify(step: Step) -> dict[str, Any]:
    service, session, row = step.service, step.session, step.row
    changes: dict[str, str] = step.ctx.details["changes"]
    applied: list[str] = []
    if row.subject_ref is not None:
        for record in service.registry.records_for(session, row.subject_ref):
            fields = {k: v for k, v in changes.items() if k in record.data}
            if fields:
                service.registry.update_record(session, row.subject_ref, record.id, fields)
                applied.extend(fields)
    not_held = sorted(set(changes) - set(applied))
    other = _open_staff_tasks(step, "rectification")
    if _category_changes(service, step.ctx.details):
        for result in (_ask(step, c, "rectify") for c in _rectifiers(service)):
            other.append(
                {"system": result.connector, "status": result.status, "corrected": result.total}
            )
    row.outcome = {
        "corrected": sorted(set(applied)),
        "not_held": not_held,
        **({"other_systems": other} if other else {}),
    }
    return {"corrected": sorted(set(applied)), "records": len(applied), "tasks": len(other)}


def _restrict(step: Step) -> dict[str, Any]:
    service, session, row = step.service, step.session, step.row
    ground = step.ctx.details["ground"]
    restriction = None
    if row.subject_ref is not None:
        restriction = service.registry.restrict(session, row.subject_ref, ground, row.public_id)
    other = _open_staff_tasks(step, "restriction")
    row.outcome = {
        "restricted": restriction is not None,
        "ground": RESTRICTION_GROUNDS[ground],
        "restriction": restriction,
        **({"other_systems": other} if other else {}),
    }
    return {"restriction": restriction, "tasks": len(other)}


def _object(step: Step) -> dict[str, Any]:
    """Direct marketing stops at once (Art. 21(3): the suppression list is consulted by every
    sender); an objection to legitimate-interest processing restricts it while staff weigh it
    (Art. 18(1)(d)), decided in the ``balance`` step."""
    service, session, row = step.service, step.session, step.row
    kind = step.ctx.details.get("objection", "direct_marketing")
    if kind == "direct_marketing":
        service.registry.suppress_email(session, step.ctx.details["email"], "objection")
        row.outcome = {"objection": OBJECTION_KINDS[kind], "result": "direct marketing stopped"}
        return {"suppressed": True}
    restriction = None
    if row.subject_ref is not None:
        restriction = service.registry.restrict(
            session, row.subject_ref, "objection_pending", row.public_id
        )
    row.outcome = {"objection": OBJECTION_KINDS[kind], "restriction": restriction}
    return {"restriction": restriction}


def _balance(step: Step) -> dict[str, Any]:
    """Art. 21(1): staff record whether compelling legitimate grounds override the person's
    (``override``: the interim restriction is lifted) or not (``uphold``: it stays)."""
    service, session, row = step.service, step.session, step.row
    if step.ctx.details.get("objection", "direct_marketing") != "legitimate_interest":
        return {}
    task = step.decision(TaskKind.BALANCING)
    outcome = dict(row.outcome or {})
    restriction = outcome.pop("restriction", None)
    if task.decision == "override" and restriction is not None and row.subject_ref:
        service.registry.lift_restriction(session, row.subject_ref, restriction)
    outcome.update({"decision": task.decision, "reason": task.reason})
    row.outcome = outcome
    return {"decision": task.decision}


def _withdraw(step: Step) -> dict[str, Any]:
    """Withdraw every consent (Art. 7(3)): marketing opt-ins of the consent records are
    withdrawn and consent-based marketing stops at once (suppression list)."""
    service, session, row = step.service, step.session, step.row
    purposes: set[str] = set()
    opt_ins = 0
    if row.subject_ref is not None:
        for record in service.registry.record_facts(session, row.subject_ref):
            if record.legal_basis == "consent":
                purposes.update(record.purposes)
        withdrawn = session.execute(
            sa.update(MarketingConsent)
            .where(
                MarketingConsent.subject_id == row.subject_ref,
                MarketingConsent.status.in_(("pending", "confirmed")),
            )
            .values(status="withdrawn", withdrawn_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        opt_ins = cast(sa.CursorResult[Any], withdrawn).rowcount
    service.registry.suppress_email(session, step.ctx.details["email"], "consent_withdrawn")
    names = []
    for pid in sorted(purposes):
        try:
            names.append(service.policy.current.purpose(pid).name)
        except KeyError:
            names.append(pid)
    row.outcome = {"withdrawn": names or ["marketing communications"], "opt_ins": opt_ins}
    return {"purposes": len(names), "opt_ins": opt_ins}


def _complaint(step: Step) -> dict[str, Any]:
    country = step.ctx.details.get("country")
    answer = answer_complaint(country, step.service.policy.current.contact_point.country)
    step.row.outcome = {"complaint": answer.as_dict()}
    return {"authority": answer.authority.country}


_NOTICE_ACTIONS: dict[RequestType, NoticeAction] = {
    RequestType.ERASURE: "erasure",
    RequestType.RECTIFICATION: "rectification",
    RequestType.RESTRICTION: "restriction",
}


def _notify(step: Step) -> dict[str, Any]:
    """GDPR Art. 19: tell each recipient and processor the policy says received the person's
    data (from the channels of their records) what was erased, rectified or restricted.

    The notices are recorded ``pending`` in this step's transaction and sent once it has
    committed (``notify_recipients`` sends each at most once per request and recipient; a
    crash in between leaves them pending for ``remind_notices``)."""
    service, session, row = step.service, step.session, step.row
    action = _NOTICE_ACTIONS[RequestType(row.type)]
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
    identities: dict[str, str] = {"email": step.ctx.details["email"]}
    if step.ctx.details.get("phone"):
        identities["phone"] = step.ctx.details["phone"]
    changes = step.ctx.details.get("changes") if action == "rectification" else None
    step.after.append(
        _sender(service, action, row.public_id, row.subject_ref, identities, targets, changes)
    )
    names = {r.id: r.name for r in manifest.recipients} | {
        p.id: p.name for p in manifest.processors
    }
    # a processor with a manual connector is reached by its task, not by a notice
    tasked = {c.spec.processor for c in _staff_systems(service) if c.spec.processor}
    unreachable = [u for u in unreachable if u not in tasked]
    row.outcome = {**(row.outcome or {}), "not_notified": [names[u] for u in unreachable]}
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


def _recheck(step: Step) -> None:
    """Ask again the systems that had not done their part when the erasure, rectification or
    restriction was made (an open task is done now, a failed connector answers now); raise
    :class:`Pending` while any has not."""
    row = step.row
    outcome = row.outcome or {}
    other: list[dict[str, Any]] = list(outcome.get("other_systems") or [])
    if all(s["status"] == "done" for s in other):
        return
    by_name = {c.name: c for c in step.service.connectors}
    updated: list[dict[str, Any]] = []
    for entry in other:
        connector = by_name.get(entry["system"])
        if entry["status"] == "done" or connector is None:
            updated.append(entry)
            continue
        if RequestType(row.type) is RequestType.ERASURE:
            result = _ask(step, connector, "erase")
            updated.append(
                {
                    "system": entry["system"],
                    "status": result.status,
                    "erased": max(int(entry.get("erased", 0)), result.total),
                }
            )
        else:
            result = _ask(step, connector, row.type)
            updated.append({**entry, "status": result.status})
    if any(s["status"] != "done" for s in updated):
        raise Pending(updated)
    row.outcome = {
        k: v
        for k, v in {**outcome, "other_systems": updated}.items()
        if k not in ("waiting_for", "retries")
    }


def _answer(step: Step) -> dict[str, Any]:
    row = step.row
    if RequestType(row.type) in _NOTICE_ACTIONS:  # erasure, rectification, restriction
        _recheck(step)
    if RequestType(row.type) in _NOTICE_ACTIONS:
        notices = step.look.notices(row.public_id)
        row.outcome = {
            **(row.outcome or {}),
            "recipients_notified": [
                n.recipient_name for n in notices if n.status in ("sent", "acknowledged")
            ],
        }
    if RequestType(row.type) not in (RequestType.ACCESS, RequestType.PORTABILITY):
        service = step.service
        step.say(
            "answer",
            *answer_message(
                service.policy.current,
                service.settings,
                row.type,
                row.public_id,
                row.outcome or {},
                step.ctx.details,
            ),
        )
    row.completed_at = utcnow()
    return {}


STEPS: dict[str, Callable[[Step], dict[str, Any]]] = {
    "resolve": _resolve,
    "collect": _collect,
    "export": _export,
    "erase": _erase,
    "rectify": _rectify,
    "restrict": _restrict,
    "notify": _notify,
    "object": _object,
    "balance": _balance,
    "withdraw": _withdraw,
    "complaint": _complaint,
    "answer": _answer,
}


# --- running ---------------------------------------------------------------------------

RUNNABLE = (RequestState.VERIFIED.value, RequestState.IN_PROGRESS.value)


def _claim_many(
    service: RightsService, request_ids: Sequence[int], worker: str, now: datetime
) -> tuple[dict[int, tuple[str, ...]], dict[int, str]]:
    """Take the lease of every request in ``request_ids`` that is free and move the verified
    ones to ``in_progress``, in one transaction; returns the plans and states of those taken."""
    plans: dict[int, tuple[str, ...]] = {}
    states: dict[int, str] = {}
    if not request_ids:
        return plans, states
    with service.write_session() as session:
        session.execute(
            sa.update(RightsRequest)
            .where(
                RightsRequest.id.in_(request_ids),
                RightsRequest.state.in_(RUNNABLE),
                sa.or_(
                    RightsRequest.lease_until.is_(None),
                    RightsRequest.lease_until < now,
                    RightsRequest.lease_owner == worker,
                ),
            )
            .values(lease_owner=worker, lease_until=now + lease(service))
            .execution_options(synchronize_session=False)
        )
        started: list[NewEvent] = []
        for row in session.scalars(
            sa.select(RightsRequest).where(
                RightsRequest.id.in_(request_ids),
                RightsRequest.lease_owner == worker,
                RightsRequest.state.in_(RUNNABLE),
            )
        ):
            if row.state == RequestState.VERIFIED.value:
                service._move(
                    session, row, RequestState.IN_PROGRESS, actor=f"job:{worker}", pending=started
                )
            plans[row.id] = PLANS[RequestType(row.type)]
            states[row.id] = row.state
        service.audit.append_many(started, session=session)
    return plans, states


class _Fallback(Exception):
    """A batched step position must be redone one request at a time."""


class _Position:
    """Runs one step position (the n-th step of each request) in one transaction."""

    def __init__(
        self,
        service: RightsService,
        worker: str,
        plans: dict[int, tuple[str, ...]],
        states: dict[int, str],
        active: set[int],
        waiting: dict[int, TaskKind],
        hook: StepHook | None,
        pending: dict[int, Pending] | None = None,
    ) -> None:
        self.service, self.worker, self.plans = service, worker, plans
        self.states, self.active, self.waiting, self.hook = states, active, waiting, hook
        self.pending: dict[int, Pending] = pending if pending is not None else {}
        self.actor = f"job:{worker}"
        #: per position: what external systems answered, asked before its transaction (kept
        #: for the one-at-a-time rerun after a fallback, so nothing is asked twice)
        self.answers: dict[int, dict[tuple[int, str, str], ConnectorResult]] = {}

    def call_ahead(self, ids: list[int], index: int) -> None:
        """Ask the external systems (SQL, HTTP) the steps of this position will ask, before
        their transaction: a slow or failing API then never holds the database's write lock
        (on SQLite, every other writer of the service would wait for it). Which systems each
        step asks is read from what the request recorded: ``collect`` and ``erase`` ask all;
        an access's ``export`` the systems not done yet; an erasure's ``answer`` those whose
        erasure was not done. A step that asks something else asks it itself."""
        external = _external(self.service)
        answers = self.answers.setdefault(index, {})
        if not external or not ids:
            return
        by_name = {c.name: c for c in external}
        wanted: list[tuple[int, Connector, str, dict[str, Any], str, str | None]] = []
        with self.service.db.session() as session:
            done = {
                (r.request_id, r.step)
                for r in session.execute(
                    sa.select(StepRecord.request_id, StepRecord.step).where(
                        StepRecord.request_id.in_(ids)
                    )
                )
            }
            rows = session.scalars(sa.select(RightsRequest).where(RightsRequest.id.in_(ids)))
            for row in rows:
                name = self.plans[row.id][index]
                if (
                    (row.id, name) in done
                    or row.state != RequestState.IN_PROGRESS.value
                    or row.lease_owner != self.worker
                ):
                    continue
                asks = self._asks(session, row, name, by_name)
                if asks:
                    details = self.service.context(row).details
                    wanted += [
                        (row.id, c, action, details, row.public_id, row.subject_ref)
                        for c, action in asks
                    ]
        for rid, connector, action, details, ref, subject in wanted:
            key = (rid, connector.name, action)
            if key not in answers:
                changes = _category_changes(self.service, details) if action == "rectify" else None
                if action == "rectify" and not changes:
                    continue  # nothing a database can take: the step asks no one
                answers[key] = _call(connector, action, details, ref, subject, changes)

    @staticmethod
    def _asks(
        session: Session, row: RightsRequest, step: str, by_name: dict[str, Connector]
    ) -> list[tuple[Connector, str]]:
        if step == "collect":
            everything = RequestType(row.type) is not RequestType.PORTABILITY
            return [(c, "access") for c in by_name.values() if everything or _portable_parts(c)]
        if step == "erase":
            return [(c, "erase") for c in by_name.values()]
        if step == "rectify":
            return [(c, "rectify") for c in by_name.values() if isinstance(c, SQLConnector)]
        if step == "export" and RequestType(row.type) in (
            RequestType.ACCESS,
            RequestType.PORTABILITY,
        ):
            waiting = session.scalars(
                sa.select(ConnectorAnswer.connector).where(
                    ConnectorAnswer.request_id == row.id, ConnectorAnswer.status != "done"
                )
            )
            return [(by_name[n], "access") for n in waiting if n in by_name]
        again = {RequestType.ERASURE: "erase", RequestType.RECTIFICATION: "rectify"}
        if step == "answer" and RequestType(row.type) in again:
            other = (row.outcome or {}).get("other_systems") or []
            return [
                (by_name[s["system"]], again[RequestType(row.type)])
                for s in other
                if s.get("status") != "done" and s.get("system") in by_name
            ]
        return []

    def __call__(self, ids: list[int], index: int, *, batch: bool) -> None:
        service, worker, actor = self.service, self.worker, self.actor
        ran: list[tuple[str, str]] = []
        with service.write_session() as session:
            done = {
                (r.request_id, r.step): r.result
                for r in session.execute(
                    sa.select(StepRecord.request_id, StepRecord.step, StepRecord.result).where(
                        StepRecord.request_id.in_(ids)
                    )
                )
            }
            rows = {
                r.id: r
                for r in session.scalars(
                    sa.select(RightsRequest).where(RightsRequest.id.in_(ids)).with_for_update()
                )
            }
            names = {rid: self.plans[rid][index] for rid in ids}
            look = Lookahead(
                service,
                session,
                {rid: row for rid, row in rows.items() if (rid, names[rid]) not in done},
                {rid: name for rid, name in names.items() if (rid, name) not in done},
                done,
                self.answers.get(index, {}),
            )
            shreds: list[str] = []
            after: list[Callable[[], None]] = []
            events: list[NewEvent] = []
            # one flush for the batch at the end, not one before each query of each step
            with session.no_autoflush:
                for rid in ids:
                    name = self.plans[rid][index]
                    if (rid, name) in done:
                        continue
                    row = rows[rid]
                    if row.state != RequestState.IN_PROGRESS.value or row.lease_owner != worker:
                        self.active.discard(rid)  # refused or taken over meanwhile
                        self.states[rid] = row.state
                        continue
                    try:
                        result = STEPS[name](
                            Step(service, session, look.context(rid), shreds, after, look)
                        )
                    except (Wait, Pending, PrivacyOpsError) as exc:
                        if batch:
                            session.rollback()
                            raise _Fallback from None
                        if not isinstance(exc, Pending):
                            session.rollback()
                        after.clear()
                        self.active.discard(rid)
                        if isinstance(exc, Wait):
                            self.waiting[rid] = exc.task
                        elif isinstance(exc, Pending):
                            self.pending[rid] = exc
                        else:  # left in progress; retried when the lease ends
                            log.warning("request %s step %s: %s", row.public_id, name, exc.code)
                        return
                    session.add(StepRecord(request_id=rid, step=name, result=result, worker=worker))
                    service.record(
                        session, f"rights.step.{name}", row, actor=actor, pending=events, **result
                    )
                    if name == self.plans[rid][-1]:
                        service._move(
                            session, row, RequestState.COMPLETED, actor=actor, pending=events
                        )
                        row.lease_owner = None
                        row.lease_until = None
                        self.states[rid] = RequestState.COMPLETED.value
                    else:
                        row.lease_until = utcnow() + lease(service)
                    ran.append((row.public_id, name))
            if shreds:  # one key-store transaction for every erasure of the batch
                service.registry.shred_subjects(session, shreds)
            service.audit.append_many(events, session=session)  # one lock of the chain
            if self.hook is not None:
                for public_id, name in ran:
                    self.hook(public_id, name)
        for job in after:  # committed: send what the steps decided (Art. 19 notices)
            try:
                job()
            except PrivacyOpsError as exc:  # the notices stay pending; reminders retry them
                log.warning("after-step work failed: %s", exc.code)


def process_batch(
    service: RightsService,
    request_ids: Sequence[int],
    *,
    worker: str | None = None,
    hook: StepHook | None = None,
) -> dict[int, str]:
    """Run the remaining steps of several requests, one transaction per step position for
    the whole batch (each request inside its own savepoint); returns each request's state.

    Safe to call from several workers at once and again after a crash: the lease lets one
    worker in, and each step's record, written in the step's transaction, makes it run once.
    """
    worker = worker or worker_id()
    plans, states = _claim_many(service, request_ids, worker, utcnow())
    active = set(plans)
    waiting: dict[int, TaskKind] = {}
    pending: dict[int, Pending] = {}
    run = _Position(service, worker, plans, states, active, waiting, hook, pending)
    for index in range(max((len(p) for p in plans.values()), default=0)):
        ids = sorted(i for i in active if index < len(plans[i]))
        if not ids:
            continue
        run.call_ahead(ids, index)
        try:
            # optimistic: the whole batch in one transaction
            run(ids, index, batch=len(ids) > 1)
        except _Fallback:
            # a step waits or failed: the batch's transaction was undone; one at a time
            for rid in ids:
                run([rid], index, batch=False)
    for rid, task in waiting.items():
        _wait(service, rid, task, worker)
        states[rid] = RequestState.AWAITING_REVIEW.value
    for rid, why in pending.items():
        _wait_for_systems(service, rid, why, worker)
    service.deliver_outbox()
    return states


def process(
    service: RightsService,
    request_id: int,
    *,
    worker: str | None = None,
    hook: StepHook | None = None,
) -> str:
    """Run the remaining steps of one request; returns its state afterwards (see
    :func:`process_batch`)."""
    states = process_batch(service, [request_id], worker=worker, hook=hook)
    if request_id in states:
        return states[request_id]
    with service.db.session() as session:
        row = session.get(RightsRequest, request_id)
        return row.state if row else "missing"


def _wait(service: RightsService, request_id: int, task: TaskKind, worker: str) -> None:
    with service.write_session() as session:
        row = session.get(RightsRequest, request_id, with_for_update=True)
        if row is None:
            raise NotFound("No such request.")
        # effects a waiting step made before asking (an interim restriction) are redone
        # idempotently when it runs again; only the task and the state change are kept here
        service._open_task(session, row, task)
        service._move(session, row, RequestState.AWAITING_REVIEW, actor=f"job:{worker}")
        row.lease_owner = None
        row.lease_until = None
    service.deliver_outbox(request_id=request_id)


#: Back-off of a request waiting for a failed system: first retry, and the longest wait.
RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=6)
#: How long a request waiting for staff or a processor rests before it is looked at again: a
#: task completed through ``complete_task`` wakes it at once, so this only bounds the wait for
#: one completed some other way. Without it every waiting request was re-run on every tick.
RECHECK_WAITING = timedelta(minutes=10)


def _wait_for_systems(service: RightsService, request_id: int, why: Pending, worker: str) -> None:
    """Keep the request ``in_progress`` and show what it waits for (``outcome.waiting_for``).
    A request waiting for open tasks rests until one of them is completed (which wakes it) or
    :data:`RECHECK_WAITING` has passed; a failed system is retried with exponential back-off
    (the lease holds the request until then)."""
    with service.write_session() as session:
        row = session.get(RightsRequest, request_id, with_for_update=True)
        if row is None or row.lease_owner != worker:
            return
        outcome = dict(row.outcome or {})
        changed = outcome.get("waiting_for") != why.waiting_for
        retries = int(outcome.get("retries", 0))
        outcome.update(other_systems=why.other_systems, waiting_for=why.waiting_for)
        if why.failed:
            outcome["retries"] = retries + 1
            row.lease_until = utcnow() + min(RETRY_FIRST * 2**retries, RETRY_MAX)
        else:
            outcome.pop("retries", None)
            row.lease_until = utcnow() + RECHECK_WAITING
        row.outcome = outcome
        row.lease_owner = None
        if changed:
            service.record(
                session,
                "rights.waiting",
                row,
                actor=f"job:{worker}",
                waiting_for=why.waiting_for,
            )


def runnable(service: RightsService, *, limit: int = 50, now: datetime | None = None) -> list[int]:
    """Ids of requests a worker may take now: verified, or in progress with no live lease."""
    now = now or utcnow()
    with service.db.session() as session:
        return list(
            session.scalars(
                sa.select(RightsRequest.id)
                .where(
                    RightsRequest.state.in_(RUNNABLE),
                    sa.or_(RightsRequest.lease_until.is_(None), RightsRequest.lease_until < now),
                )
                .order_by(RightsRequest.id)
                .limit(limit)
            )
        )


def tick(service: RightsService, *, worker: str | None = None, limit: int = 200) -> int:
    """One pass of the runner: run what is runnable (in batches), send what is queued.
    Returns how many requests it took."""
    ids = runnable(service, limit=limit)
    for start in range(0, len(ids), 100):
        process_batch(service, ids[start : start + 100], worker=worker)
    if not ids:
        service.deliver_outbox()
    return len(ids)


def open_export(
    service: RightsService, token: str, *, client: str = "local", now: datetime | None = None
) -> tuple[str, str, bytes]:
    """The export a download token opens, once: ``(filename, media type, content)``.

    Raises:
        VerificationFailed: unknown, used or expired token (one message for all).
        RateLimited: too many failures from this client.
    """
    from privacyops.errors import VerificationFailed
    from privacyops.rights.service import BAD_CODE

    now = now or utcnow()
    with service.write_session() as session:
        found = None
        if isinstance(token, str) and 10 <= len(token) <= 100:
            found = session.scalar(
                sa.select(Export)
                .where(Export.token_hash == service._hash("download", token))
                .with_for_update()
            )
        if found is not None and found.downloaded_at is None and found.expires_at > now:
            found.downloaded_at = now
            row = session.get(RightsRequest, found.request_id)
            if row is None:
                raise NotFound("No such request.")
            service.record(session, "rights.export.downloaded", row, actor="subject")
            path = Path(found.path)
            content = path.read_bytes()
            path.unlink(missing_ok=True)  # one download: the file goes with the token
            return found.filename, found.media_type, content
    service._failure(client, now)
    raise VerificationFailed(BAD_CODE)
