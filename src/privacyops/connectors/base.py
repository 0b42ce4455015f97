"""What every connector answers, whatever it talks to.

The rights engine calls ``access`` and ``erase`` on each connector with the person's verified
identities and puts each ``ConnectorResult`` into the access export or the erasure answer, so
the person sees what every connected system returned or did (GDPR Art. 15, 17, 19).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from sqlalchemy.orm import Session

from privacyops.identities import identity_values as normalise_identities

__all__ = ["Action", "Connector", "ConnectorResult", "Identities", "normalise_identities"]

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
class Connector(Protocol):
    """A place where personal data also lives."""

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
        """Return every record of the person found from ``identities``. ``request_ref`` and
        ``subject_ref`` (pseudonymous) let task-based connectors track the request;
        ``session`` (a session on the privacyops database) lets them record their task in the
        caller's transaction."""
        ...

    def erase(
        self,
        identities: Identities,
        *,
        request_ref: str | None = None,
        subject_ref: str | None = None,
        session: Session | None = None,
    ) -> ConnectorResult:
        """Mask or delete every record of the person, as the connector's file says."""
        ...
