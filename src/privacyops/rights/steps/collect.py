"""``collect``: ask every connected system for the person's records (GDPR Art. 15, 20).

Once per request: a manual task or processor e-mail opened here is tracked by the request's
reference; what each system answered is kept (:class:`~privacyops.rights.models.ConnectorAnswer`)
so that the ``export`` step only asks again the ones not done yet. For portability only the
systems holding records on consent or contract are asked (Art. 20(1)).
"""

from __future__ import annotations

from typing import Any

from privacyops.rights.models import ConnectorAnswer
from privacyops.rights.steps.base import Step
from privacyops.rights.systems import access_summary, ask, keep_answer, scoped, sources
from privacyops.rights.workflow import RequestType

__all__ = ["collect"]


def collect(step: Step) -> dict[str, Any]:
    """Ask each source system once and record its answer; report who is still awaited."""
    answers: dict[str, ConnectorAnswer] = {}
    for connector in sources(step.service, RequestType(step.row.type)):
        result = scoped(step, connector, ask(step, connector, "access"))
        answers[result.connector] = keep_answer(step, answers.get(result.connector), result)
    outcome = step.outcome
    outcome.other_systems = [access_summary(a) for a in answers.values()]
    outcome.store(step.row)
    waiting = [a.connector for a in answers.values() if a.status != "done"]
    return {"systems": len(answers), "waiting_for": waiting}
