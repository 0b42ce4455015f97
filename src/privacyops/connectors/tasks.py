"""The connector tasks of manual and e-mail systems, as stored: their sealed briefs for staff,
the records attached to an access task, listing, completing and cancelling them.

:class:`~privacyops.connectors.manual.ManualConnector` opens the tasks; staff (through the
rights package, the dashboard or the CLI) read, complete or cancel them here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.audit import AuditLog
from privacyops.connectors.models import ConnectorTask
from privacyops.errors import InvalidInput, InvalidTransition, NotFound
from privacyops.store import Database, new_key, open_sealed, seal, utcnow

__all__ = [
    "MAX_RECORDS_BYTES",
    "brief_aad",
    "brief_key_id",
    "cancel_tasks",
    "complete_task",
    "drop_task_records",
    "list_tasks",
    "open_brief",
    "task_brief",
    "task_records",
]

MAX_RECORDS_BYTES = 2_000_000


def brief_key_id(task_id: int) -> str:
    return f"connector-task-brief:{task_id}"


def brief_aad(task_id: int) -> bytes:
    return f"connector-task-brief:{task_id}".encode()


def open_brief(db: Database, task: ConnectorTask) -> dict[str, Any] | None:
    if task.brief_sealed is None or task.brief_key is None:
        return None
    key = db.keyring.unwrap(brief_key_id(task.id), task.brief_key)
    value: dict[str, Any] = json.loads(open_sealed(key, task.brief_sealed, brief_aad(task.id)))
    return value


def _drop_brief(task: ConnectorTask) -> None:
    """Forget who a finished task was about (data minimisation, GDPR Art. 5(1)(c))."""
    task.brief_key = None
    task.brief_sealed = None


def task_brief(db: Database, task_id: int, *, actor: str) -> dict[str, Any]:
    """Who an open task is about and what to do: the identities of the request, and the
    corrected values (rectification) or ground (restriction). Each reading is audited
    (``connector.task_brief_read``, with who read it).

    Raises:
        NotFound: no such task.
        InvalidTransition: the task is done or cancelled: its brief is no longer kept.
    """
    with db.session() as session:
        task = session.get(ConnectorTask, task_id)
        if task is None:
            raise NotFound(f"No connector task {task_id}.")
        if task.status in ("done", "cancelled"):
            raise InvalidTransition(
                f"Task {task_id} is {task.status}: who it was about is no longer kept."
            )
        brief = open_brief(db, task)
        if brief is None:
            raise NotFound(f"Task {task_id} has no brief (opened before briefs were kept).")
        AuditLog(db).append(
            "connector.task_brief_read",
            actor=actor,
            subject_ref=task.subject_ref,
            details={"task": task.id, "action": task.action, "request": task.request_ref},
            session=session,
        )
        return {
            "id": task.id,
            "system": task.system,
            "action": task.action,
            "request": task.request_ref,
            "checklist": task.checklist,
            "identities": brief.get("identities", {}),
            **{k: v for k, v in brief.items() if k != "identities"},
        }


def _aad(task_id: int) -> bytes:
    return f"connector-task:{task_id}".encode()


def _check_records(records: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """``{collection: [record, ...]}`` with text collection names and object records."""
    bad = InvalidInput(
        "Records are an object of collection names, each a list of objects.",
        details=[{"loc": ["records"], "msg": "expected {collection: [{field: value}]}"}],
    )
    if not isinstance(records, Mapping):
        raise bad
    out: dict[str, list[dict[str, Any]]] = {}
    for name, rows in records.items():
        if not isinstance(name, str) or not name.strip() or not isinstance(rows, list):
            raise bad
        if not all(isinstance(r, dict) for r in rows):
            raise bad
        out[name.strip()] = [dict(r) for r in rows]
    if len(json.dumps(out, default=str)) > MAX_RECORDS_BYTES:
        raise InvalidInput(
            "Too many records for one task.",
            details=[{"loc": ["records"], "msg": f"at most {MAX_RECORDS_BYTES} bytes of JSON"}],
        )
    return out


def task_records(db: Database, task: ConnectorTask) -> dict[str, list[dict[str, Any]]]:
    """The records attached to ``task`` when it was completed (``{}`` when none)."""
    if task.records_sealed is None or task.wrapped_key is None:
        return {}
    key = db.keyring.unwrap(f"connector-task:{task.id}", task.wrapped_key)
    value: dict[str, list[dict[str, Any]]] = json.loads(
        open_sealed(key, task.records_sealed, _aad(task.id))
    )
    return value


def drop_task_records(session: Session, request_ref: str) -> int:
    """Forget the records attached to the tasks of ``request_ref`` (once the person's export
    holds them: data minimisation, GDPR Art. 5(1)(c)); returns how many tasks had some."""
    result = session.execute(
        sa.update(ConnectorTask)
        .where(ConnectorTask.request_ref == request_ref, ConnectorTask.records_sealed.is_not(None))
        .values(records_sealed=None, wrapped_key=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def list_tasks(
    db: Database, *, status: Sequence[str] | None = None, request_ref: str | None = None
) -> list[ConnectorTask]:
    """Tasks, oldest first, filtered by status and/or request."""
    stmt = sa.select(ConnectorTask).order_by(ConnectorTask.id)
    if status:
        stmt = stmt.where(ConnectorTask.status.in_(list(status)))
    if request_ref:
        stmt = stmt.where(ConnectorTask.request_ref == request_ref)
    with db.session() as session:
        tasks = list(session.scalars(stmt))
        session.expunge_all()
    return tasks


def complete_task(
    db: Database,
    task_id: int,
    *,
    outcome: str,
    actor: str,
    records: Mapping[str, Any] | None = None,
    on_done: Callable[[Session, str], None] | None = None,
) -> ConnectorTask:
    """Record the answer of a task (what was found or done); the connector then reports done.

    Args:
        records: access tasks only: the person's records found in the system,
            ``{collection: [{field: value}, ...]}``; they go into the person's export.
        on_done: called with the session and the task's ``request_ref`` in the same
            transaction, so the caller can act on its own tables (the rights package wakes the
            request waiting for the task: :func:`privacyops.rights.tasks.complete_task`).

    Raises:
        InvalidInput: no outcome, or records of the wrong shape or on a task not for access.
        NotFound: no such task.
        InvalidTransition: the task is already done or cancelled.
    """
    if not outcome.strip():
        raise InvalidInput("Say what was found or done (outcome).")
    found = _check_records(records) if records is not None else None
    with db.session() as session:
        task = session.get(ConnectorTask, task_id)
        if task is None:
            raise NotFound(f"No connector task {task_id}.")
        if task.status in ("done", "cancelled"):
            raise InvalidTransition(f"Task {task_id} is already {task.status}.")
        if found is not None and task.action != "access":
            raise InvalidInput(
                f"Task {task_id} is for {task.action}: only access tasks carry records.",
                details=[{"loc": ["records"], "msg": "only for access tasks"}],
            )
        task.status = "done"
        task.outcome = outcome.strip()
        task.done_at = utcnow()
        task.checklist = [{**item, "done": True} for item in task.checklist]
        _drop_brief(task)
        if on_done is not None:
            on_done(session, task.request_ref)
        if found:
            key = new_key()
            task.wrapped_key = db.keyring.wrap(f"connector-task:{task.id}", key)
            task.records_sealed = seal(key, json.dumps(found, default=str).encode(), _aad(task.id))
        AuditLog(db).append(
            "connector.task_done",
            actor=actor,
            subject_ref=task.subject_ref,
            details={
                "task": task.id,
                "action": task.action,
                "request": task.request_ref,
                "records": sum(len(v) for v in (found or {}).values()),
            },
            session=session,
        )
        session.flush()
        session.expunge(task)
    return task


def cancel_tasks(
    db: Database, request_ref: str, *, actor: str, session: Session | None = None
) -> int:
    """Cancel the open tasks of a withdrawn or refused request, and forget any records
    attached to its tasks; returns how many were cancelled. With ``session``, in the caller's
    transaction."""
    if session is not None:
        return _cancel_in(db, session, request_ref, actor)
    with db.session() as own:
        return _cancel_in(db, own, request_ref, actor)


def _cancel_in(db: Database, session: Session, request_ref: str, actor: str) -> int:
    drop_task_records(session, request_ref)
    tasks = list(
        session.scalars(
            sa.select(ConnectorTask).where(
                ConnectorTask.request_ref == request_ref,
                ConnectorTask.status.in_(["open", "sent"]),
            )
        )
    )
    for task in tasks:
        task.status = "cancelled"
        _drop_brief(task)
        AuditLog(db).append(
            "connector.task_cancelled",
            actor=actor,
            subject_ref=task.subject_ref,
            details={"task": task.id, "request": request_ref},
            session=session,
        )
    return len(tasks)
