"""Manual and e-mail connectors, for systems with no API (Gmail, Skype, Trello…).

A ``manual`` connector opens a task with a checklist for staff; an ``email`` connector also
writes to the processor. Either is tracked in ``connector_tasks`` until someone records the
answer (``complete_task``): until then the connector answers ``status="pending"`` and the
request waits, visibly, instead of being reported done. Completing an access task may attach
the records found (``records``): the connector then returns them, and they reach the person's
export like a SQL or HTTP system's records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy.orm import Session

from privacyops.audit import AuditLog
from privacyops.connectors.base import Action, ConnectorResult, Identities, normalise_identities
from privacyops.connectors.models import ConnectorTask
from privacyops.connectors.tasks import (
    brief_aad,
    brief_key_id,
    cancel_tasks,
    complete_task,
    drop_task_records,
    list_tasks,
    open_brief,
    task_brief,
    task_records,
)
from privacyops.errors import DependencyUnavailable, InvalidInput
from privacyops.mail import send_mail
from privacyops.settings import Settings
from privacyops.store import Database, new_key, seal, utcnow

__all__ = [
    "ManualConnector",
    "ManualConnectorFile",
    "ManualConnectorSpec",
    "cancel_tasks",
    "complete_task",
    "drop_task_records",
    "list_tasks",
    "remind_tasks",
    "task_brief",
    "task_records",
]

_DEFAULT_CHECKLIST: dict[str, list[str]] = {
    "access": [
        "Search the system for each identity of the request",
        "Attach every record found to the task (records), or note that none was found",
        "Record the outcome on the task",
    ],
    "erasure": [
        "Search the system for each identity of the request",
        "Delete or anonymise every record found (keep only what a legal hold requires)",
        "Empty the system's trash/archive of those records",
        "Record the outcome on the task",
    ],
    "rectification": [
        "Search the system for each identity of the request",
        "Correct the fields the request names in every record found",
        "Record the outcome on the task",
    ],
    "restriction": [
        "Search the system for each identity of the request",
        "Mark every record found restricted: keep it stored, do not otherwise process it "
        "(GDPR Art. 18(2))",
        "Record the outcome on the task",
    ],
}


class ManualConnectorSpec(BaseModel):
    """A connector file's ``connector:`` block with ``type: manual`` or ``type: email``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: Literal["manual", "email"]
    system: str | None = None
    processor: str | None = Field(default=None, description="The manifest's processor id.")
    to: EmailStr | None = Field(default=None, description="The processor's privacy address.")
    checklist: dict[str, list[str]] = Field(
        default_factory=dict, description="Per action (access, erasure…), the steps for staff."
    )


class ManualConnectorFile(BaseModel):
    """A connector file holding a manual or e-mail connector."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    connector: ManualConnectorSpec


def _email_body(
    task: ConnectorTask, settings: Settings, brief: Mapping[str, Any], reminder: bool
) -> str:
    ids: Mapping[str, list[str]] = brief.get("identities") or {}
    what = {
        "access": "send us a copy of all personal data you process on our behalf about",
        "erasure": "erase all personal data you process on our behalf about",
        "rectification": "rectify the personal data you process on our behalf about",
        "restriction": "restrict the processing of the personal data you hold about",
    }.get(task.action, f"act ({task.action}) on the personal data you hold about")
    lines = [
        "Hello,",
        "",
        ("This is a reminder of our earlier request. " if reminder else "")
        + f"Under GDPR Art. 28(3)(e), please {what} the data subject identified below, "
        f"as our processor for {task.system}.",
        "",
    ]
    if ids:
        lines += [f"  {kind}: {value}" for kind, values in sorted(ids.items()) for value in values]
    else:
        lines.append("  (identities as given in our first message)")
    lines += _instructions(brief)
    lines += [
        "",
        f"Reference: {task.request_ref}/{task.id}",
        "Please answer this e-mail, quoting the reference, once done.",
        "",
        settings.mail_from,
    ]
    return "\n".join(lines)


def _instructions(brief: Mapping[str, Any]) -> list[str]:
    """The lines of a brief beyond the identities: the corrected values of a rectification,
    the ground of a restriction."""
    lines: list[str] = []
    changes: Mapping[str, Any] = brief.get("changes") or {}
    if changes:
        lines += ["", "The corrected values:"]
        lines += [f"  {field}: {value}" for field, value in sorted(changes.items())]
    if brief.get("ground"):
        lines += ["", f"Ground of the restriction (GDPR Art. 18(1)): {brief['ground']}"]
    return lines


class ManualConnector:
    """Opens (once per request and action) a staff task or a processor e-mail.

    Args:
        spec: the validated connector file.
        db: the privacyops database (tasks are rows there).
        settings: SMTP settings for ``email`` connectors.
    """

    def __init__(self, spec: ManualConnectorSpec, db: Database, settings: Settings) -> None:
        if spec.type == "email" and spec.to is None:
            raise InvalidInput(f"E-mail connector {spec.name} names no 'to' address.")
        self.spec = spec
        self.db = db
        self.settings = settings
        self.name = spec.system or spec.name
        self.kind: str = spec.type

    def __repr__(self) -> str:
        return f"<ManualConnector {self.spec.name} {self.spec.type}>"

    def access(
        self,
        identities: Identities,
        *,
        request_ref: str | None = None,
        subject_ref: str | None = None,
        session: Session | None = None,
    ) -> ConnectorResult:
        """Open the access task (or e-mail); ``pending`` until its answer is recorded."""
        return self._run("access", identities, request_ref, subject_ref, session)

    def erase(
        self,
        identities: Identities,
        *,
        request_ref: str | None = None,
        subject_ref: str | None = None,
        session: Session | None = None,
    ) -> ConnectorResult:
        """Open the erasure task (or e-mail); ``pending`` until its answer is recorded."""
        return self._run("erasure", identities, request_ref, subject_ref, session)

    def act(
        self,
        action: Action,
        identities: Identities,
        *,
        request_ref: str,
        subject_ref: str | None = None,
        session: Session | None = None,
        instructions: Mapping[str, Any] | None = None,
    ) -> ConnectorResult:
        """Any other action (rectification, restriction) the rights engine asks of staff.

        Args:
            instructions: what staff (or the processor) need beyond the identities, kept in
                the task's brief: ``{"changes": {field: corrected value}}`` for a
                rectification, ``{"ground": "..."}`` for a restriction.
        """
        return self._run(action, identities, request_ref, subject_ref, session, instructions)

    def _run(
        self,
        action: Action,
        identities: Identities,
        request_ref: str | None,
        subject_ref: str | None,
        session: Session | None = None,
        instructions: Mapping[str, Any] | None = None,
    ) -> ConnectorResult:
        brief = {"identities": normalise_identities(identities), **(instructions or {})}
        if session is not None:  # the caller's transaction: the task commits with its step
            return self._run_in(session, action, brief, request_ref, subject_ref)
        with self.db.session() as own:
            return self._run_in(own, action, brief, request_ref, subject_ref)

    def _run_in(
        self,
        session: Session,
        action: Action,
        brief: dict[str, Any],
        request_ref: str | None,
        subject_ref: str | None,
    ) -> ConnectorResult:
        if not request_ref:
            raise InvalidInput(f"{self.name} is a {self.kind} connector: it needs a request_ref.")
        task = session.scalar(
            sa.select(ConnectorTask).where(
                ConnectorTask.request_ref == request_ref,
                ConnectorTask.connector == self.spec.name,
                ConnectorTask.action == action,
            )
        )
        if task is None:
            steps = self.spec.checklist.get(action) or _DEFAULT_CHECKLIST.get(
                action, ["Act on the request", "Record the outcome on the task"]
            )
            task = ConnectorTask(
                connector=self.spec.name,
                system=self.name,
                kind=self.spec.type,
                action=action,
                request_ref=request_ref,
                subject_ref=subject_ref,
                status="open",
                checklist=[{"step": s, "done": False} for s in steps],
                to_address=str(self.spec.to) if self.spec.to else None,
                reminders=0,
            )
            session.add(task)
            session.flush()
            key = new_key()
            task.brief_key = self.db.keyring.wrap(brief_key_id(task.id), key)
            task.brief_sealed = seal(key, json.dumps(brief).encode(), brief_aad(task.id))
            AuditLog(self.db).append(
                "connector.task_opened",
                actor=f"connector:{self.spec.name}",
                subject_ref=subject_ref,
                details={
                    "task": task.id,
                    "action": action,
                    "kind": self.spec.type,
                    "request": request_ref,
                },
                session=session,
            )
        if task.kind == "email" and task.status == "open":
            self._send(session, task, reminder=False)
        return self._result(task, action)

    def _send(
        self,
        session: sa.orm.Session,
        task: ConnectorTask,
        *,
        reminder: bool,
    ) -> None:
        subject = f"[{task.request_ref}] Data-subject request: {task.action} ({task.system})"
        if reminder:
            subject = "Reminder: " + subject
        try:
            message_id = send_mail(
                self.settings,
                str(task.to_address),
                subject,
                # a reminder quotes only the reference (the processor has the identities);
                # a first message sent late, after SMTP was down, carries them like any first
                _email_body(
                    task,
                    self.settings,
                    {} if reminder else open_brief(self.db, task) or {},
                    reminder,
                ),
            )
        except DependencyUnavailable:
            return  # stays open/sent; the next run or reminder tries again
        now = utcnow()
        if reminder:
            task.reminders += 1
            task.last_reminder_at = now
        else:
            task.status = "sent"
            task.sent_at = now
            task.message_id = message_id
        AuditLog(self.db).append(
            "connector.task_reminded" if reminder else "connector.task_sent",
            actor=f"connector:{task.connector}",
            subject_ref=task.subject_ref,
            details={"task": task.id, "action": task.action, "request": task.request_ref},
            session=session,
        )

    def _result(self, task: ConnectorTask, action: Action) -> ConnectorResult:
        done = task.status == "done"
        records = task_records(self.db, task) if done and action == "access" else {}
        note = (
            f"task #{task.id} done: {task.outcome}"
            if done
            else f"task #{task.id} {task.status}: waiting for "
            + ("the processor's answer" if task.kind == "email" else "staff")
        )
        return ConnectorResult(
            connector=self.name,
            kind=self.kind,
            action=action,
            status="done" if done else "pending",
            records=records,
            note=note,
        )


#: The most a task's attached records may weigh (JSON), so one form cannot fill the database.
def remind_tasks(
    db: Database,
    settings: Settings,
    specs: Sequence[ManualConnectorSpec],
    *,
    now: datetime | None = None,
) -> int:
    """E-mail again every processor whose task has waited ``notice_reminder_days`` since the
    e-mail or the last reminder, and retry e-mails that could not be sent; returns how many
    went."""
    now = now or utcnow()
    due = now - timedelta(days=settings.notice_reminder_days)
    by_name = {s.name: s for s in specs}
    sent = 0
    with db.session() as session:
        tasks = list(
            session.scalars(
                sa.select(ConnectorTask).where(
                    ConnectorTask.kind == "email", ConnectorTask.status.in_(["open", "sent"])
                )
            )
        )
        for task in tasks:
            spec = by_name.get(task.connector)
            if spec is None:
                continue
            connector = ManualConnector(spec, db, settings)
            if task.status == "open":
                connector._send(session, task, reminder=False)
                sent += task.status == "sent"
                continue
            last = task.last_reminder_at or task.sent_at or task.created_at
            if last <= due:
                before = task.reminders
                connector._send(session, task, reminder=True)
                sent += task.reminders > before
    return sent
