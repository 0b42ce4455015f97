"""Asking the connected systems (GDPR Art. 15-20 reach them too, Art. 19 their recipients).

Two kinds of system: those reached over the network (SQL databases, HTTP APIs) are asked
*before* a step's transaction (:func:`call_ahead`), so a slow or failing API never holds the
database's write lock; their answers reach the step through its
:class:`~privacyops.rights.lookahead.Lookahead`. Task systems (``manual`` connectors, processors
reached by e-mail) are asked inside the step's transaction (:func:`ask`), so the task they
open commits with the step. A system that cannot be reached answers ``failed``; the request
then waits (:class:`~privacyops.rights.steps.base.Pending`) and is asked again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.connectors import (
    Connector,
    ConnectorResult,
    HTTPConnector,
    ManualConnector,
    SQLConnector,
)
from privacyops.connectors.base import Action
from privacyops.errors import InvalidInput, PrivacyOpsError
from privacyops.identities import identifies
from privacyops.rights.exports import PORTABLE_BASES
from privacyops.rights.models import ConnectorAnswer, RightsRequest, StepRecord
from privacyops.rights.outcome import Outcome, SystemStatus
from privacyops.rights.steps.base import Pending, Step
from privacyops.rights.workflow import RequestState, RequestType
from privacyops.store import utcnow

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = [
    "access_summary",
    "ask",
    "call",
    "call_ahead",
    "category_changes",
    "external",
    "gather",
    "identities_of",
    "keep_answer",
    "open_staff_tasks",
    "portable_parts",
    "recheck",
    "rectifiers",
    "scoped",
    "sources",
    "staff_systems",
]

#: What each request action is called in a connector's result.
_RESULT_ACTIONS: dict[str, Action] = {
    "access": "access",
    "erase": "erasure",
    "rectify": "rectification",
}

#: Answers fetched ahead for one step position: ``(request id, connector, action)``.
Answers = dict[tuple[int, str, str], ConnectorResult]


def identities_of(details: dict[str, Any]) -> dict[str, str]:
    """What connected systems may find the person by: the verified e-mail, and the phone only
    where a phone identifies on its own (a shared line would find other people's rows there,
    GDPR Art. 15(4); docs/registry.md)."""
    identities = {"email": details["email"]}
    if details.get("phone") and identifies("phone"):
        identities["phone"] = details["phone"]
    return identities


def external(service: RightsService) -> list[Connector]:
    """The connected systems reached over the network (SQL databases, HTTP APIs): asked before
    a step's transaction, never inside it (see :func:`call_ahead`)."""
    return [c for c in service.connectors if not isinstance(c, ManualConnector)]


def rectifiers(service: RightsService) -> list[SQLConnector]:
    """The connected databases a rectification writes the corrected values into (their
    datasets say which fields hold which data category)."""
    return [c for c in service.connectors if isinstance(c, SQLConnector)]


def staff_systems(service: RightsService) -> list[ManualConnector]:
    """Connected systems with no API that staff act on by hand (``manual`` connectors): they
    get a task for a rectification or a restriction. Processors reached by e-mail get the
    Art. 19 notice instead (one message, tracked until acknowledged)."""
    return [c for c in service.connectors if isinstance(c, ManualConnector) and c.kind == "manual"]


def category_changes(service: RightsService, details: dict[str, Any]) -> dict[str, str]:
    """A rectification's corrected values keyed by fideslang data category (``user.name``),
    through the policy's data categories (``name`` -> ``user.name``); fields the policy maps
    to no category are left to staff."""
    keys = {c.id: c.fides_key for c in service.policy.current.data_categories if c.fides_key}
    changes: dict[str, str] = details.get("changes") or {}
    return {keys[k]: v for k, v in changes.items() if k in keys}


def _failed(connector: Connector, action: str, exc: PrivacyOpsError) -> ConnectorResult:
    return ConnectorResult(
        connector=connector.name,
        kind=connector.kind,
        action=_RESULT_ACTIONS.get(action, cast(Action, action)),
        status="failed",
        note=exc.message,
    )


def call(
    connector: Connector,
    action: str,
    details: dict[str, Any],
    ref: str,
    subject: str | None,
    changes: dict[str, str] | None = None,
) -> ConnectorResult:
    """Ask an external system to ``access``, ``erase`` or ``rectify`` (a database, with
    ``changes`` by data category); one that cannot be reached answers ``failed``."""
    identities = identities_of(details)
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
        return _failed(connector, action, exc)


def ask(step: Step, connector: Connector, action: str) -> ConnectorResult:
    """One connector's answer to ``action`` (``access``, ``erase``, ``rectification`` or
    ``restriction``); a system that cannot be reached answers ``failed``. An external
    system's answer was fetched before the step's transaction began (:func:`call_ahead`),
    when the engine knew it would be asked."""
    if not isinstance(connector, ManualConnector):
        if action == "rectification":
            action = "rectify"
        ahead = step.look.answer_of(step.row.id, connector.name, action)
        if ahead is not None:
            return ahead
        details = step.ctx.details
        changes = category_changes(step.service, details) if action == "rectify" else None
        return call(connector, action, details, step.row.public_id, step.row.subject_ref, changes)
    # request_ref/subject_ref let task-based connectors (manual, e-mail) track the request
    # (one task per request and action, never re-opened) and record their task in this
    # step's transaction.
    ref, subject, session = step.row.public_id, step.row.subject_ref, step.session
    identities = identities_of(step.ctx.details)
    try:
        if action == "access":
            return connector.access(
                identities, request_ref=ref, subject_ref=subject, session=session
            )
        if action in ("rectification", "restriction"):
            details = step.ctx.details
            # what staff or the processor need to act: the corrected values, or the ground
            instructions = (
                {"changes": dict(details.get("changes") or {})}
                if action == "rectification"
                else {"ground": details.get("ground")}
            )
            return connector.act(
                "rectification" if action == "rectification" else "restriction",
                identities,
                request_ref=ref,
                subject_ref=subject,
                session=session,
                instructions=instructions,
            )
        return connector.erase(identities, request_ref=ref, subject_ref=subject, session=session)
    except PrivacyOpsError as exc:
        return _failed(connector, action, exc)


def open_staff_tasks(step: Step, action: str) -> list[SystemStatus]:
    """Open (once per request) the rectification or restriction task of each manual system;
    the request's answer waits until staff record them done (:func:`recheck`)."""
    return [
        SystemStatus(system=r.connector, status=r.status)
        for r in (ask(step, c, action) for c in staff_systems(step.service))
    ]


def portable_parts(connector: Connector) -> frozenset[str]:
    """The collections (SQL) or resources (HTTP) of a connected system whose records are in
    Art. 20 scope: held on consent or contract, as its file declares (``legal_basis``)."""
    if isinstance(connector, SQLConnector):
        parts = [(c.name, c.legal_basis) for c in connector.dataset.collections]
    elif isinstance(connector, HTTPConnector):
        parts = [(r.name, r.legal_basis) for r in connector.spec.resources]
    else:  # a manual task's records come with no basis
        parts = []
    return frozenset(name for name, basis in parts if basis in PORTABLE_BASES)


def sources(service: RightsService, kind: RequestType) -> list[Connector]:
    """The systems an access (all) or a portability request (those holding portable records)
    collects from."""
    if kind is RequestType.PORTABILITY:
        return [c for c in service.connectors if portable_parts(c)]
    return list(service.connectors)


def scoped(step: Step, connector: Connector, result: ConnectorResult) -> ConnectorResult:
    """For a portability request, only the records of the system's portable parts."""
    if RequestType(step.row.type) is not RequestType.PORTABILITY:
        return result
    parts = portable_parts(connector)
    return replace(result, records={k: v for k, v in result.records.items() if k in parts})


def access_summary(answer: ConnectorAnswer) -> SystemStatus:
    """What the person and staff see of one system's answer (no personal data)."""
    return SystemStatus(system=answer.connector, status=answer.status, records=answer.total)


def keep_answer(
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


def gather(step: Step) -> list[ConnectorResult]:
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
        keep_answer(step, answer, scoped(step, connector, ask(step, connector, "access")))
    if any(a.status != "done" for a in answers):
        session.flush()
        raise Pending([access_summary(a) for a in answers])
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


def recheck(step: Step) -> None:
    """Ask again the systems that had not done their part when the erasure, rectification or
    restriction was made (an open task is done now, a failed connector answers now).

    Raises:
        Pending: some system still has not done its part.
    """
    row = step.row
    outcome = step.outcome
    other = outcome.systems()
    if all(s.status == "done" for s in other):
        return
    by_name = {c.name: c for c in step.service.connectors}
    updated: list[SystemStatus] = []
    for entry in other:
        connector = by_name.get(entry.system)
        if entry.status == "done" or connector is None:
            updated.append(entry)
            continue
        if RequestType(row.type) is RequestType.ERASURE:
            result = ask(step, connector, "erase")
            erased = max(entry.erased or 0, result.total)
            updated.append(SystemStatus(system=entry.system, status=result.status, erased=erased))
        else:
            result = ask(step, connector, row.type)
            updated.append(entry.model_copy(update={"status": result.status}))
    if any(s.status != "done" for s in updated):
        raise Pending(updated)
    outcome.other_systems = updated
    outcome.without("waiting_for", "retries").store(row)


# --- asking ahead, before a step position's transaction ------------------------------------


def call_ahead(
    service: RightsService,
    worker: str,
    plans: dict[int, tuple[str, ...]],
    ids: list[int],
    index: int,
    answers: Answers,
) -> None:
    """Ask the external systems (SQL, HTTP) the steps at ``index`` of requests ``ids`` will
    ask, before their transaction, adding what they answer to ``answers``: a slow or failing
    API then never holds the database's write lock (on SQLite, every other writer of the
    service would wait for it). Which systems each step asks is read from what the request
    recorded: ``collect`` and ``erase`` ask all; an access's ``export`` the systems not done
    yet; an erasure's ``answer`` those whose erasure was not done. A step that asks something
    else asks it itself."""
    ahead = external(service)
    if not ahead or not ids:
        return
    by_name = {c.name: c for c in ahead}
    wanted: list[tuple[int, Connector, str, dict[str, Any], str, str | None]] = []
    with service.db.session() as session:
        done = {
            (r.request_id, r.step)
            for r in session.execute(
                sa.select(StepRecord.request_id, StepRecord.step).where(
                    StepRecord.request_id.in_(ids)
                )
            )
        }
        for row in session.scalars(sa.select(RightsRequest).where(RightsRequest.id.in_(ids))):
            name = plans[row.id][index]
            if (
                (row.id, name) in done
                or row.state != RequestState.IN_PROGRESS.value
                or row.lease_owner != worker
            ):
                continue
            asks = _asks(session, row, name, by_name)
            if asks:
                details = service.context(row).details
                wanted += [
                    (row.id, c, action, details, row.public_id, row.subject_ref)
                    for c, action in asks
                ]
    for rid, connector, action, details, ref, subject in wanted:
        key = (rid, connector.name, action)
        if key not in answers:
            changes = category_changes(service, details) if action == "rectify" else None
            if action == "rectify" and not changes:
                continue  # nothing a database can take: the step asks no one
            answers[key] = call(connector, action, details, ref, subject, changes)


def _asks(
    session: Session, row: RightsRequest, step: str, by_name: dict[str, Connector]
) -> list[tuple[Connector, str]]:
    """The external systems the step ``step`` of ``row`` will ask, and what."""
    if step == "collect":
        everything = RequestType(row.type) is not RequestType.PORTABILITY
        return [(c, "access") for c in by_name.values() if everything or portable_parts(c)]
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
        return [
            (by_name[s.system], again[RequestType(row.type)])
            for s in Outcome.of(row).systems()
            if s.status != "done" and s.system in by_name
        ]
    return []
