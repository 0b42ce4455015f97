"""``balance``: the balancing test of an objection to legitimate interests (GDPR Art. 21(1)).

Staff record whether compelling legitimate grounds override the person's (``override``: the
interim restriction of Art. 18(1)(d) is lifted) or not (``uphold``: it stays). An objection to
direct marketing has nothing to weigh.
"""

from __future__ import annotations

from typing import Any

from privacyops.rights.steps.base import Step
from privacyops.rights.workflow import TaskKind

__all__ = ["balance"]


def balance(step: Step) -> dict[str, Any]:
    """Wait for the staff decision, then lift or keep the interim restriction."""
    service, session, row = step.service, step.session, step.row
    if step.ctx.details.get("objection", "direct_marketing") != "legitimate_interest":
        return {}
    task = step.decision(TaskKind.BALANCING)
    before = step.outcome
    restriction = before.restriction
    if task.decision == "override" and restriction is not None and row.subject_ref:
        service.registry.lift_restriction(session, row.subject_ref, restriction)
    outcome = before.without("restriction")
    outcome.decision = task.decision
    outcome.reason = task.reason
    outcome.store(row)
    return {"decision": task.decision}
