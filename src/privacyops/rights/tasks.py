"""Tasks of a request on systems with no API (manual and e-mail connectors), seen from rights.

The connectors package keeps the tasks and knows nothing of requests; completing one here also
wakes the request that waits for it (it rests between checks while its tasks are open:
``RECHECK_WAITING`` in the rights engine), in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.connectors import complete_task as _complete_connector_task
from privacyops.connectors.models import ConnectorTask
from privacyops.rights.models import RightsRequest
from privacyops.store import Database

__all__ = ["complete_task", "wake_request"]


def wake_request(session: Session, request_ref: str) -> None:
    """Make the request ``request_ref`` runnable now, when it is in progress and not leased."""
    session.execute(
        sa.update(RightsRequest)
        .where(
            RightsRequest.public_id == request_ref,
            RightsRequest.state == "in_progress",
            RightsRequest.lease_owner.is_(None),
        )
        .values(lease_until=None)
        .execution_options(synchronize_session=False)
    )


def complete_task(
    db: Database,
    task_id: int,
    *,
    outcome: str,
    actor: str,
    records: Mapping[str, Any] | None = None,
) -> ConnectorTask:
    """Record a task's answer (:func:`privacyops.connectors.complete_task`) and wake its request.

    Raises:
        InvalidInput, NotFound, InvalidTransition: as the connectors' ``complete_task``.
    """
    return _complete_connector_task(
        db, task_id, outcome=outcome, actor=actor, records=records, on_done=wake_request
    )
