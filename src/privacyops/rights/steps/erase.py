"""``erase``: the right to erasure (GDPR Art. 17).

Every connected system is asked to erase; in the registry the person is crypto-shredded (their
key destroyed when the step's transaction ends, so every copy becomes unreadable at once),
except what a legal hold (Art. 17(3)(e)) or a legal obligation (Art. 17(3)(b)) keeps: then
only the other records are deleted, and the person is told what was kept and why.
"""

from __future__ import annotations

from typing import Any

from privacyops.rights.outcome import KeptRecord, Outcome, SystemStatus
from privacyops.rights.steps.base import Step
from privacyops.rights.systems import ask

__all__ = ["erase"]


def erase(step: Step) -> dict[str, Any]:
    """Crypto-shred and delete, except what a legal hold or legal obligation keeps."""
    service, session, row = step.service, step.session, step.row
    other = [
        SystemStatus(system=r.connector, status=r.status, erased=r.total)
        for r in (ask(step, c, "erase") for c in service.connectors)
    ]
    if row.subject_ref is None:
        Outcome(erased=0, kept=[], other_systems=other).store(row)
        return {"erased": 0, "kept": 0}
    holds = step.look.active_holds(row.subject_ref)
    records = step.look.record_facts(row.subject_ref)
    if holds:
        reasons = "; ".join(h.reason for h in holds)
        kept = [
            KeptRecord(
                record=r.id,
                channel=r.channel,
                reason=f"legal hold: {reasons} (GDPR Art. 17(3)(e))",
            )
            for r in records
        ]
    else:
        kept = [
            KeptRecord(
                record=r.id,
                channel=r.channel,
                reason="kept to comply with a legal obligation (GDPR Art. 17(3)(b))",
            )
            for r in records
            if r.legal_basis == "legal_obligation"
        ]
    keep_ids = {k.record for k in kept}
    channels = sorted({r.channel for r in records if r.id not in keep_ids})
    if not kept:
        erased = len(records)
        step.shreds.append(row.subject_ref)
        method = "crypto-shred"
    else:
        erased = service.registry.delete_records(
            session, row.subject_ref, [r.id for r in records if r.id not in keep_ids]
        )
        method = "delete"
    Outcome(erased=erased, method=method, kept=kept, other_systems=other).store(row)
    return {"erased": erased, "kept": len(kept), "method": method, "channels": channels}
