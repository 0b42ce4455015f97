"""Step names (as :data:`~privacyops.rights.workflow.PLANS` lists them) to step functions."""

from __future__ import annotations

from privacyops.rights.steps.answer import answer
from privacyops.rights.steps.balance import balance
from privacyops.rights.steps.base import StepFunction
from privacyops.rights.steps.collect import collect
from privacyops.rights.steps.complaint import complaint
from privacyops.rights.steps.erase import erase
from privacyops.rights.steps.export import export
from privacyops.rights.steps.notify import notify
from privacyops.rights.steps.objection import object_to_processing
from privacyops.rights.steps.rectify import rectify
from privacyops.rights.steps.resolve import resolve
from privacyops.rights.steps.restrict import restrict
from privacyops.rights.steps.withdraw import withdraw

__all__ = ["STEPS"]

STEPS: dict[str, StepFunction] = {
    "resolve": resolve,
    "collect": collect,
    "export": export,
    "erase": erase,
    "rectify": rectify,
    "restrict": restrict,
    "notify": notify,
    "object": object_to_processing,
    "balance": balance,
    "withdraw": withdraw,
    "complaint": complaint,
    "answer": answer,
}
