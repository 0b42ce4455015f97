"""``rectify``: the right to rectification (GDPR Art. 16).

The corrected values are written into the registry's records that hold those fields, into
the connected databases whose datasets map the data categories, and given as a task to the
systems staff correct by hand; fields no record holds are named in the answer.
"""

from __future__ import annotations

from typing import Any

from privacyops.rights.outcome import Outcome, SystemStatus
from privacyops.rights.steps.base import Step
from privacyops.rights.systems import ask, category_changes, open_staff_tasks, rectifiers

__all__ = ["rectify"]


def rectify(step: Step) -> dict[str, Any]:
    """Correct the registry, the connected databases, and open the manual systems' tasks."""
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
    other = open_staff_tasks(step, "rectification")
    if category_changes(service, step.ctx.details):
        for result in (ask(step, c, "rectify") for c in rectifiers(service)):
            other.append(
                SystemStatus(system=result.connector, status=result.status, corrected=result.total)
            )
    outcome = Outcome(corrected=sorted(set(applied)), not_held=not_held)
    if other:
        outcome.other_systems = other
    outcome.store(row)
    return {"corrected": sorted(set(applied)), "records": len(applied), "tasks": len(other)}
