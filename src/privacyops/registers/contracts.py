"""Processor contracts and transfer impact assessments (GDPR Art. 26, 28, 44-46).

Per processor or joint controller the manifest names (keyed by its id): the contract (Art. 28(3)
data processing agreement, or the Art. 26 arrangement with a joint controller) with its date
and review date, the SCC module when standard contractual clauses carry a transfer, the
transfer impact assessment (date, outcome, supplementary measures) and when the EU-US Data
Privacy Framework certification was last checked. :meth:`ContractRegister.report` lists what
is missing or overdue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from privacyops.audit import AuditLog, actions
from privacyops.errors import InvalidInput
from privacyops.policy.schema import Manifest, Safeguard
from privacyops.registers.models import ProcessorContract
from privacyops.store import Database
from privacyops.store.base import utcnow

__all__ = ["KINDS", "SCC_MODULES", "ContractRegister", "Finding"]

KINDS = {
    "art28_dpa": "Art. 28 data processing agreement",
    "art26_arrangement": "Art. 26 arrangement",
}
#: Modules of the SCCs of Commission Implementing Decision (EU) 2021/914.
SCC_MODULES = {
    1: "controller to controller",
    2: "controller to processor",
    3: "processor to processor",
    4: "processor to controller",
}
#: How old a DPF check may be before it is checked again (certifications lapse yearly).
DPF_RECHECK = timedelta(days=365)
_DATES = ("signed_on", "review_on", "tia_on", "dpf_checked_on")
_TEXTS = ("tia_outcome", "tia_measures")


@dataclass(frozen=True, slots=True)
class Finding:
    processor: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"processor": self.processor, "code": self.code, "message": self.message}


def _problem(loc: str, msg: str) -> InvalidInput:
    return InvalidInput(f"{loc}: {msg}", details=[{"loc": [loc], "msg": msg}])


def _row_dict(row: ProcessorContract) -> dict[str, Any]:
    out: dict[str, Any] = {"processor": row.processor_id, "kind": row.kind}
    for key in _DATES:
        value = getattr(row, key)
        out[key] = value.isoformat() if value else None
    out["scc_module"] = row.scc_module
    for key in _TEXTS:
        out[key] = getattr(row, key)
    return out


class ContractRegister:
    """The contracts register of one database, checked against the manifest in force."""

    def __init__(self, db: Database, manifest: Manifest) -> None:
        self.db = db
        self.manifest = manifest

    def __repr__(self) -> str:
        return f"ContractRegister({self.db!r})"

    def set(self, processor_id: str, fields: Mapping[str, Any], *, actor: str) -> dict[str, Any]:
        """Record or change the contract with a processor (audited with the fields changed).

        Raises:
            InvalidInput: not a processor of the manifest, an unknown kind or SCC module, a
                value of the wrong type, or a field that is not one of the register's.
        """
        if processor_id not in {p.id for p in self.manifest.processors}:
            raise _problem("processor", f"{processor_id!r} is not a processor in the policy")
        values: dict[str, Any] = {}
        for key, value in fields.items():
            if key == "kind":
                if value not in KINDS:
                    raise _problem("kind", f"expected one of {', '.join(KINDS)}")
            elif key == "scc_module":
                if value is not None and value not in SCC_MODULES:
                    raise _problem("scc_module", "expected 1, 2, 3 or 4 (Decision 2021/914)")
            elif key in _DATES:
                if value is not None and not isinstance(value, date):
                    raise _problem(key, "expected a date")
            elif key in _TEXTS:
                if value is not None and (not isinstance(value, str) or len(value) > 10_000):
                    raise _problem(key, "expected text of at most 10000 characters")
            else:
                raise _problem(key, "not a field of the contracts register")
            values[key] = value
        with self.db.session() as s:
            row = s.execute(
                sa.select(ProcessorContract).where(ProcessorContract.processor_id == processor_id)
            ).scalar_one_or_none()
            if row is None:
                if "kind" not in values:
                    raise _problem("kind", "required for a new contract")
                row = ProcessorContract(processor_id=processor_id)
                s.add(row)
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            s.flush()
            AuditLog(self.db).append(
                actions.CONTRACT_RECORD,
                actor=actor,
                reason=processor_id,
                details={"fields": sorted(values)},
                session=s,
            )
            return _row_dict(row)

    def records(self) -> list[dict[str, Any]]:
        with self.db.session() as s:
            rows = s.execute(
                sa.select(ProcessorContract).order_by(ProcessorContract.processor_id)
            ).scalars()
            return [_row_dict(row) for row in rows]

    def report(self, today: date | None = None) -> list[Finding]:
        """What is missing or overdue, per processor of the manifest."""
        today = today or date.today()
        with self.db.session() as s:
            rows = {r.processor_id: r for r in s.execute(sa.select(ProcessorContract)).scalars()}
        out: list[Finding] = []
        for processor in self.manifest.processors:
            pid, row = processor.id, rows.get(processor.id)
            safeguard = processor.transfer_safeguard
            expected = "art28_dpa" if processor.is_processor else "art26_arrangement"
            if row is None:
                out.append(Finding(pid, "no_contract", f"no {KINDS[expected]} recorded"))
            else:
                if row.signed_on is None:
                    out.append(Finding(pid, "not_signed", "the contract has no date"))
                if row.review_on is None:
                    out.append(Finding(pid, "no_review_date", "the contract has no review date"))
                elif row.review_on < today:
                    out.append(Finding(pid, "review_overdue", f"review was due {row.review_on}"))
            uses_scc = (row is not None and row.scc_module is not None) or (
                safeguard is Safeguard.SCC
            )
            if safeguard is Safeguard.SCC and (row is None or row.scc_module is None):
                out.append(
                    Finding(pid, "no_scc_module", "the policy names SCCs; no module is recorded")
                )
            if uses_scc and (row is None or row.tia_on is None):
                out.append(
                    Finding(
                        pid,
                        "scc_without_tia",
                        "a transfer on SCCs needs a transfer impact assessment (Schrems II)",
                    )
                )
            if safeguard is Safeguard.DPF:
                checked = row.dpf_checked_on if row is not None else None
                if checked is None or today - checked > DPF_RECHECK:
                    out.append(
                        Finding(pid, "dpf_unchecked", "check the DPF list for its certification")
                    )
        known = {p.id for p in self.manifest.processors}
        out.extend(
            Finding(pid, "not_in_policy", "a contract for a processor the policy no longer names")
            for pid in sorted(set(rows) - known)
        )
        return out
