"""``erase``: the right to erasure (GDPR Art. 17), assessed record by record.

Every connected system is asked to erase. In the registry each record of the person is
assessed (:func:`privacyops.policy.statutory.assess`): erased, or kept under an Art. 17(3)
exception — a legal hold (17(3)(e)) keeps everything; a statutory keep-period of the manifest
(17(3)(b), e.g. bookkeeping law) keeps its records until the period ends, marked with that
moment and the subject restricted (Art. 18(2)), for the retention sweep to erase them then.
When nothing is kept the person is crypto-shredded (their key destroyed when the step's
transaction ends, so every copy becomes unreadable at once); when something is kept, only the
other records are deleted and the key stays until the last kept record goes.
"""

from __future__ import annotations

from typing import Any

from privacyops.policy.schema import Manifest
from privacyops.policy.statutory import assess, day_start
from privacyops.rights.erasure import ErasureGround
from privacyops.rights.outcome import KeptLaw, KeptRecord, Outcome, SystemStatus
from privacyops.rights.ports import RecordView
from privacyops.rights.steps.base import Step
from privacyops.rights.systems import ask
from privacyops.store import utcnow

__all__ = ["erase"]


def _manifest(step: Step, record: RecordView) -> Manifest:
    """The manifest version the record was collected under (its channel ids), else current."""
    book = step.service.policy
    try:
        return book.get(record.policy_version)
    except KeyError:
        return book.current


def _assess(step: Step, records: list[RecordView]) -> list[KeptRecord]:
    """What the Art. 17(3) exceptions keep of ``records`` (the rest is erased)."""
    holds = step.look.active_holds(step.row.subject_ref or "")
    if holds:
        reasons = "; ".join(h.reason for h in holds)
        return [
            KeptRecord(
                record=r.id,
                channel=r.channel,
                reason=f"legal hold: {reasons} (GDPR Art. 17(3)(e))",
                exception="legal_claims",
                article="17(3)(e)",
                hold=reasons,
            )
            for r in records
        ]
    now = utcnow()
    kept: list[KeptRecord] = []
    for r in records:
        keep = assess(
            _manifest(step, r),
            r.channel,
            r.data_categories,
            r.purposes,
            r.collected_at,
            r.last_service_delivery_at,
            at=now,
        )
        if keep is not None:
            kept.append(
                KeptRecord(
                    record=r.id,
                    channel=r.channel,
                    reason=f"{'; '.join(k.law for k in keep.rules)} (GDPR Art. {keep.article})",
                    exception=keep.exception,
                    article=keep.article,
                    laws=[KeptLaw(law=k.law, country=k.country) for k in keep.rules],
                    kept=keep.rule.kept,
                    until=keep.until.date(),
                )
            )
        elif r.legal_basis == "legal_obligation":
            # collected to meet a legal obligation: its own retention rule ends it
            kept.append(
                KeptRecord(
                    record=r.id,
                    channel=r.channel,
                    reason="kept to comply with a legal obligation (GDPR Art. 17(3)(b))",
                    exception="legal_obligation",
                    article="17(3)(b)",
                )
            )
    return kept


def erase(step: Step) -> dict[str, Any]:
    """Erase what no Art. 17(3) exception keeps; keep (restricted) and explain the rest."""
    service, session, row = step.service, step.session, step.row
    other = [
        SystemStatus(system=r.connector, status=r.status, erased=r.total)
        for r in (ask(step, c, "erase") for c in service.connectors)
    ]
    ground = ErasureGround.parse(step.ctx.details.get("ground"))
    outcome = Outcome(erased=0, kept=[], other_systems=other)
    if ground is not None:
        outcome.erasure_ground = ground.value
    if row.subject_ref is None:
        outcome.store(row)
        return {"erased": 0, "kept": 0}
    records = step.look.record_facts(row.subject_ref)
    kept = _assess(step, records)
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
        ending = {
            k.record: (day_start(k.until), k.exception or "legal_obligation")
            for k in kept
            if k.until is not None
        }
        if ending:
            service.registry.keep_records(
                session,
                row.subject_ref,
                ending,
                f"erasure request {row.public_id}: kept under GDPR Art. 17(3)",
            )
    outcome.erased = erased
    outcome.erased_channels = channels
    outcome.method = method
    outcome.kept = kept
    outcome.store(row)
    until = sorted({k.until.isoformat() for k in kept if k.until is not None})
    return {
        "erased": erased,
        "kept": len(kept),
        "kept_until": until,
        "method": method,
        "channels": channels,
    }
