"""``complaint``: which supervisory authority the person may complain to (GDPR Art. 77).

The authority of the country the person names (where they live or work), else the lead
authority of the controller's contact point.
"""

from __future__ import annotations

from typing import Any

from privacyops.rights.authorities import answer_complaint
from privacyops.rights.outcome import Outcome
from privacyops.rights.steps.base import Step

__all__ = ["complaint"]


def complaint(step: Step) -> dict[str, Any]:
    """Name the authority and the remedies."""
    country = step.ctx.details.get("country")
    answer = answer_complaint(country, step.service.policy.current.contact_point.country)
    Outcome(complaint=answer.as_dict()).store(step.row)
    return {"authority": answer.authority.country}
