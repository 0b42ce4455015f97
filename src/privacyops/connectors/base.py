"""What connectors are asked, and what they answer.

Two kinds of connected system, two small interfaces:

- :class:`RemoteSystem` (SQL databases, HTTP APIs): reached directly; ``access`` and ``erase``
  act at once and answer ``done`` or ``failed``.
- :class:`TaskSystem` (manual tasks for staff, e-mails to processors): ``act`` opens a task
  for one request and action and answers ``pending`` until a person records the outcome; the
  caller passes its session so the task commits with the caller's step, and learns of a
  completed task through the ``on_done`` callback of :func:`~privacyops.connectors.complete_task`.

Either is told what to do and reports back in a :class:`ConnectorResult`; neither knows what a
data-subject request is nor writes the tables of another package (docs/architecture.md). The
rights engine puts each result into the access export or the erasure answer, so the person
sees what every connected system returned or did (GDPR Art. 15, 17, 19).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from sqlalchemy.orm import Session

from privacyops.identities import identity_values as normalise_identities

__all__ = [
    "Action",
    "Connector",
    "ConnectorResult",
    "Identities",
    "RemoteSystem",
    "TaskSystem",
    "normalise_identities",
]

Identities = Mapping[str, str | Sequence[str]]

Action = Literal["access", "erasure", "rectification", "restriction"]

Status = Literal["done", "pending", "failed"]
"""done: the system answered and the act is complete; pending: waiting for a person or a
processor (manual and e-mail connectors); failed: the system could not be reached after the
retries — nothing was marked done."""


@dataclass
class ConnectorResult:
    """One connector's answer to one access or erasure.

    Attributes:
        connector: the connector's name (the system, as the policy names it when known).
        kind: ``sql``, ``http``, ``manual`` or ``email``.
        action: ``access`` or ``erasure``.
        status: see ``Status``.
        records: access only; per collection/resource, the person's records.
        affected: erasure only; per collection/resource, how many records were masked or
            deleted.
        note: one sentence about what happened; never personal data.
    """

    connector: str
    kind: str
    action: Action
    status: Status = "done"
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    affected: dict[str, int] = field(default_factory=dict)
    note: str = ""

    @property
    def total(self) -> int:
        if self.action == "access":
            return sum(len(v) for v in self.records.values())
        return sum(self.affected.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "connector": self.connector,
            "kind": self.kind,
            "action": self.action,
            "status": self.status,
            "records": self.records,
            "affected": self.affected,
            "note": self.note,
        }


@runtime_checkable
class RemoteSystem(Protocol):
    """A system reached directly (a SQL database, an HTTP API): acts at once, reports back."""

    name: str
    kind: str

    def access(self, identities: Identities) -> ConnectorResult:
        """Every record of the person found from ``identities`` (``failed`` when the system
        cannot be reached after the retries)."""
        ...

    def erase(self, identities: Identities) -> ConnectorResult:
        """Mask or delete every record of the person, as the connector's file says."""
        ...


@runtime_checkable
class TaskSystem(Protocol):
    """A system with no API (manual tasks, e-mails to processors): a person acts on a task."""

    name: str
    kind: str

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
        """Open (once per ``request_ref`` and action) the task for ``action``; ``pending``
        until its outcome is recorded, then ``done`` (with the records found, for access).

        Args:
            request_ref, subject_ref: the caller's pseudonymous references, kept on the task.
            session: the caller's session on the privacyops database, so the task commits
                with the caller's step.
            instructions: what the person acting needs beyond the identities (corrected
                values, the ground of a restriction).
        """
        ...


@runtime_checkable
class Connector(Protocol):
    """The wide interface the rights engine still calls every connector through.

    Transitional: ``rights/runner.py`` (being split into ``rights/steps/`` and a
    connected-systems module) calls ``access``/``erase`` on every connector the same way. New
    code types against :class:`RemoteSystem` or :class:`TaskSystem`; this goes once the
    engine does.
    """

    name: str
    kind: str

    def access(
        self,
        identities: Identities,
        *,
        request_ref: str | None = None,
        subject_ref: str | None = None,
        session: Session | None = None,
    ) -> ConnectorResult:
        """See :meth:`RemoteSystem.access` and :meth:`TaskSystem.act`."""
        ...

    def erase(
        self,
        identities: Identities,
        *,
        request_ref: str | None = None,
        subject_ref: str | None = None,
        session: Session | None = None,
    ) -> ConnectorResult:
        """See :meth:`RemoteSystem.erase` and :meth:`TaskSystem.act`."""
        ...
