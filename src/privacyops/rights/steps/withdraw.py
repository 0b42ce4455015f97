"""``withdraw``: withdrawal of consent (GDPR Art. 7(3)).

Every marketing opt-in of the person is withdrawn (through :mod:`privacyops.consent`) and
consent-based marketing stops at once (suppression list); the answer names the purposes the
person had consented to.
"""

from __future__ import annotations

from typing import Any

from privacyops.consent.marketing import withdraw_subject_opt_ins
from privacyops.rights.outcome import Outcome
from privacyops.rights.steps.base import Step

__all__ = ["withdraw"]


def withdraw(step: Step) -> dict[str, Any]:
    """Withdraw the opt-ins, suppress the address, and name the purposes withdrawn."""
    service, session, row = step.service, step.session, step.row
    purposes: set[str] = set()
    opt_ins = 0
    if row.subject_ref is not None:
        for record in service.registry.record_facts(session, row.subject_ref):
            if record.legal_basis == "consent":
                purposes.update(record.purposes)
        opt_ins = withdraw_subject_opt_ins(session, row.subject_ref)
    service.registry.suppress_email(session, step.ctx.details["email"], "consent_withdrawn")
    names = []
    for pid in sorted(purposes):
        try:
            names.append(service.policy.current.purpose(pid).name)
        except KeyError:
            names.append(pid)
    Outcome(withdrawn=names or ["marketing communications"], opt_ins=opt_ins).store(row)
    return {"purposes": len(names), "opt_ins": opt_ins}
