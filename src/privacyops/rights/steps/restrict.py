"""``restrict``: the right to restriction of processing (GDPR Art. 18(1)).

The person's data is marked restricted in the registry on the ground they chose (kept, not
processed), and the systems staff act on by hand get a restriction task.
"""

from __future__ import annotations

from typing import Any

from privacyops.rights.outcome import Outcome
from privacyops.rights.steps.base import Step
from privacyops.rights.systems import open_staff_tasks
from privacyops.rights.workflow import RESTRICTION_GROUNDS

__all__ = ["restrict"]


def restrict(step: Step) -> dict[str, Any]:
    """Restrict the registry's records and open the manual systems' tasks."""
    service, session, row = step.service, step.session, step.row
    ground = step.ctx.details["ground"]
    restriction = None
    if row.subject_ref is not None:
        restriction = service.registry.restrict(session, row.subject_ref, ground, row.public_id)
    other = open_staff_tasks(step, "restriction")
    outcome = Outcome(
        restricted=restriction is not None,
        ground=RESTRICTION_GROUNDS[ground],
        restriction=restriction,
    )
    if other:
        outcome.other_systems = other
    outcome.store(row)
    return {"restriction": restriction, "tasks": len(other)}
