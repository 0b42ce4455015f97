"""Records of processing activities (GDPR Art. 30(1)), generated from the manifest.

One row per processing activity: a channel (how the data comes in) crossed with each purpose
it serves. Each row carries the fields of Art. 30(1)(a)-(g): the controller with its
representative and DPO, the purpose and its legal basis, the categories of data subjects and
of personal data, the recipients, the third-country transfers with their safeguards, the
retention, and the security measures. Written as CSV, XLSX (openpyxl) or JSON.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from privacyops.policy.adequacy import adequacy
from privacyops.policy.dpf import dpf_list
from privacyops.policy.schema import (
    Channel,
    EntityRole,
    Manifest,
    Purpose,
    RecipientRole,
    Safeguard,
    TransferImpactAssessment,
)

__all__ = ["COLUMNS", "RopaRow", "build_ropa", "ropa_csv", "ropa_json", "write_ropa_xlsx"]


@dataclass(frozen=True)
class RopaRow:
    """One processing activity with the fields of GDPR Art. 30(1)."""

    version: str
    activity_id: str
    activity: str
    controller: str  # Art. 30(1)(a)
    representative: str  # Art. 30(1)(a), Art. 27
    dpo: str  # Art. 30(1)(a)
    purpose: str  # Art. 30(1)(b)
    legal_basis: str  # Art. 6(1), 13(1)(c)-(d): not required by Art. 30, asked by every DPA
    data_subjects: str  # Art. 30(1)(c)
    data_categories: str  # Art. 30(1)(c)
    recipients: str  # Art. 30(1)(d)
    transfers: str  # Art. 30(1)(e)
    retention: str  # Art. 30(1)(f)
    security_measures: str  # Art. 30(1)(g)


# Column headings, in order, with the article each implements.
COLUMNS: dict[str, str] = {
    "version": "Policy version",
    "activity_id": "Activity id",
    "activity": "Processing activity",
    "controller": "Controller(s) and contact (Art. 30(1)(a))",
    "representative": "Representative (Art. 30(1)(a), 27)",
    "dpo": "Data protection officer (Art. 30(1)(a))",
    "purpose": "Purpose of processing (Art. 30(1)(b))",
    "legal_basis": "Legal basis (Art. 6(1))",
    "data_subjects": "Categories of data subjects (Art. 30(1)(c))",
    "data_categories": "Categories of personal data (Art. 30(1)(c))",
    "recipients": "Categories of recipients (Art. 30(1)(d))",
    "transfers": "Third-country transfers and safeguards (Art. 30(1)(e), 49(1))",
    "retention": "Time limits for erasure (Art. 30(1)(f))",
    "security_measures": "Security measures (Art. 30(1)(g), 32(1))",
}

_SEP = "; "

_SAFEGUARD_TEXT = {
    "adequacy": "adequacy decision (Art. 45)",
    "scc": "standard contractual clauses (Art. 46(2)(c))",
    "bcr": "binding corporate rules (Art. 47)",
    "dpf": "EU-US Data Privacy Framework (adequacy decision of 10 July 2023)",
    "privacy_shield": "EU-US Privacy Shield, invalid since 16 July 2020 (CJEU C-311/18)",
    "processor_terms": "the provider's own terms and privacy policy (not an Art. 46 safeguard)",
    "none": "none",
    "unknown": "not stated",
}


def _entity_line(m: Manifest, role: EntityRole) -> str:
    out = []
    for e in m.entities_with(role):
        parts = [e.legal_name, e.country]
        if e.address:
            parts.append(e.address)
        if e.contact.email:
            parts.append(e.contact.email)
        if e.contact.phone:
            parts.append(e.contact.phone)
        out.append(", ".join(parts))
    return _SEP.join(out)


def _basis(p: Purpose) -> str:
    if p.legal_basis is None:
        return "not stated"
    text = p.legal_basis.value.replace("_", " ")
    if p.legitimate_interest:
        text += f" ({p.legitimate_interest})"
    if p.consent_mechanism:
        text += f" (consent: {p.consent_mechanism.value.replace('_', ' ')})"
    return text


_ROLE_TEXT = {
    RecipientRole.PROCESSOR: "processor",
    RecipientRole.INDEPENDENT_CONTROLLER: "independent controller",
    RecipientRole.JOINT_CONTROLLER: "joint controller",
    RecipientRole.RECIPIENT: "recipient",
}


def _role(role: RecipientRole, arrangement: str | None) -> str:
    text = _ROLE_TEXT[role]
    if role is RecipientRole.JOINT_CONTROLLER and not arrangement:
        text += ", no Art. 26 arrangement described"
    return text


def _third_parties(m: Manifest, c: Channel) -> list[str]:
    """The channel's processors, then the cloud services that store all collected data."""
    return list(dict.fromkeys([*c.processors, *m.storage_processors]))


def _recipients(m: Manifest, c: Channel) -> list[str]:
    """Each processor and recipient of the channel with its role in law (Art. 30(1)(d))."""
    out = []
    for pid in _third_parties(m, c):
        p = m.processor(pid)
        out.append(f"{p.name} ({_role(p.role, p.arrangement)})")
    listed = set(_third_parties(m, c))
    for r in m.recipients:
        if r.id not in c.recipients or (r.processors and set(r.processors) <= listed):
            continue  # a category of the processors already named
        role = _role(r.role, r.arrangement) if r.role else r.kind.value.replace("_", " ")
        out.append(f"{r.name} ({role})")
    return out


def _tia(tia: TransferImpactAssessment | None, safeguard: Safeguard | None) -> str:
    if safeguard not in (Safeguard.SCC, Safeguard.BCR):
        return ""
    if tia is None:
        return "; no transfer impact assessment on record"
    return (
        f"; transfer impact assessment of {tia.date.isoformat()}: "
        f"{tia.outcome.value.replace('_', ' ')}"
    )


def _dpf(legal_entity: str | None, country: str) -> str:
    if country != "US":
        return ""
    listed = dpf_list()
    found = listed.find(legal_entity)
    return f"; {found.cite(listed.as_of)}" if found else ""


def _transfers(m: Manifest, c: Channel) -> str:
    """Where each third party of the channel, and each group transfer, takes the data, and on
    which safeguard (Art. 30(1)(e)): every third party is named, a missing country said so."""
    data = adequacy()
    out: list[str] = []
    seen: set[tuple[str, str]] = set()

    def add(who: str, country: str, safeguard: str) -> None:
        if (who, country) not in seen:
            seen.add((who, country))
            out.append(f"{who} ({country}): {safeguard}")

    def stated(s: Safeguard | None) -> str:
        return _SAFEGUARD_TEXT[s.value] if s is not None else "no safeguard stated"

    by_processor = {t.importer_processor: t for t in m.transfers if t.importer_processor}
    for pid in _third_parties(m, c):
        p = m.processor(pid)
        t = by_processor.get(pid)
        if t is not None:
            add(
                p.name,
                t.destination,
                _SAFEGUARD_TEXT[t.safeguard.value]
                + _tia(t.tia, t.safeguard)
                + _dpf(p.legal_entity, t.destination),
            )
            continue
        places = list(dict.fromkeys(x for x in (p.country, *p.data_locations) if x))
        if not places:
            add(p.name, "country not stated", stated(p.transfer_safeguard))
        for country in places:
            if data.in_eea(country):
                add(p.name, country, "within the EEA, no transfer")
            elif p.transfer_safeguard is not None:
                add(
                    p.name,
                    country,
                    stated(p.transfer_safeguard)
                    + _tia(p.tia, p.transfer_safeguard)
                    + _dpf(p.legal_entity, country),
                )
            elif data.decision_for(country) is not None:
                add(p.name, country, "adequacy decision" + _dpf(p.legal_entity, country))
            else:
                add(p.name, country, "no safeguard stated")
    for r in m.recipients:
        if r.id in c.recipients and not r.processors:
            add(r.name, r.country or "country not stated", "no safeguard stated")
    for t in m.transfers:
        if t.importer_processor:
            continue
        who = t.id
        if t.importer_entity:
            who = next(e.legal_name for e in m.entities if e.id == t.importer_entity)
        add(who, t.destination, _SAFEGUARD_TEXT[t.safeguard.value] + _tia(t.tia, t.safeguard))
    return _SEP.join(out) if out else "none"


def _retention(m: Manifest, c: Channel) -> str:
    r = c.retention
    if r is None:
        return "not stated"
    text = r.as_stated or r.describe()
    if r.processors_own_retention:
        names = ", ".join(m.processor(p).name for p in r.processors_own_retention)
        text += f"; data collected by {names}: their own retention"
    return text


def build_ropa(m: Manifest) -> list[RopaRow]:
    """The records of processing of one version, one row per channel and purpose."""
    controller = _entity_line(m, EntityRole.CONTROLLER) or _entity_line(
        m, EntityRole.JOINT_CONTROLLER
    )
    representative = _entity_line(m, EntityRole.EEA_REPRESENTATIVE) or "none named"
    dpo = f"{m.dpo.name}, {m.dpo.email}" if m.dpo else "none named"
    security = _SEP.join(m.security_measures) or "not stated"
    subjects = {s.id: s.name for s in m.data_subjects}
    categories = {c.id: c.name for c in m.data_categories}
    rows = []
    for c in m.channels:
        recipients = _recipients(m, c)
        transfers = _transfers(m, c)
        retention = _retention(m, c)
        purposes: list[str | None] = list(c.purposes) or [None]
        for pid in purposes:
            p = m.purpose(pid) if pid else None
            used = [
                cat for cat in c.categories if p is None or not p.categories or cat in p.categories
            ]
            unlisted = [cat for cat in (p.categories if p else []) if cat not in c.categories]
            category_text = [categories.get(x, x) for x in used]
            category_text += [
                f"{categories.get(x, x)} (not listed among the channel's data)" for x in unlisted
            ]
            rows.append(
                RopaRow(
                    version=m.version.id,
                    activity_id=f"{c.id}/{pid or '-'}",
                    activity=f"{c.name}: {p.name if p else 'no stated purpose'}",
                    controller=controller,
                    representative=representative,
                    dpo=dpo,
                    purpose=(p.description or p.name) if p else "not stated",
                    legal_basis=_basis(p) if p else "not stated",
                    data_subjects=_SEP.join(subjects.get(s, s) for s in c.data_subjects)
                    or "not stated",
                    data_categories=_SEP.join(category_text) or "none",
                    recipients=_SEP.join(dict.fromkeys(recipients)) or "none named",
                    transfers=transfers,
                    retention=retention,
                    security_measures=security,
                )
            )
    return rows


def ropa_csv(rows: list[RopaRow]) -> str:
    """CSV with a heading row (the :data:`COLUMNS` titles)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS.values())
    for row in rows:
        writer.writerow(getattr(row, f.name) for f in fields(RopaRow))
    return buf.getvalue()


def ropa_json(rows: list[RopaRow]) -> str:
    return json.dumps({"records": [asdict(r) for r in rows]}, indent=2, ensure_ascii=False)


def write_ropa_xlsx(rows: list[RopaRow], path: Path) -> None:
    """One sheet, a heading row in bold and frozen, wrapped text, a filter on every column."""
    wb = Workbook()
    ws = wb.active
    if ws is None:  # a new workbook always has a sheet; this satisfies the type checker
        ws = wb.create_sheet()
    ws.title = "Records of processing"
    ws.append(list(COLUMNS.values()))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        ws.append([getattr(row, f.name) for f in fields(RopaRow)])
    widths = {"version": 9, "activity_id": 28, "activity": 40}
    for i, key in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = widths.get(key, 48)
    for line in ws.iter_rows(min_row=2):
        for cell in line:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    wb.save(path)
