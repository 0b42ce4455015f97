"""Exports for access (Art. 15) and portability (Art. 20): JSON, CSV and an encrypted PDF.

An access export is the answer of :mod:`privacyops.rights.answer`: each part of the data with
what the manifest version the record was collected under says, in words, and every other
Art. 15 item. It is a PDF encrypted with AES-256 (pikepdf, PDF 2.0 security handler R6) whose
password goes to the person by a separate channel, with the same answer attached inside it as
JSON (``data.json``), CSV (``answer.csv``, and the data alone in ``data.csv``), an HTML page
(``answer.html``) and the signed consent receipt (``consent-receipt.json``). A portability
export holds only the data the person provided under consent or contract, as a ZIP of JSON
and CSV (structured, machine-readable, GDPR Art. 20(1)).
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from privacyops.connectors import ConnectorResult
from privacyops.policy import PolicyBook
from privacyops.policy.schema import Manifest
from privacyops.rights.ports import RecordView

if TYPE_CHECKING:
    from privacyops.rights.document import AccessAnswer

__all__ = [
    "PORTABLE_BASES",
    "ExportBundle",
    "attachments",
    "describe_record",
    "encrypted_pdf",
    "new_password",
    "portable",
    "render_csv",
    "render_json",
    "zip_bundle",
]

#: Art. 20(1)(a): processing based on consent or on a contract.
PORTABLE_BASES = frozenset({"consent", "contract"})


def new_password() -> str:
    """A random export password, easy to type: four groups of five letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def _manifest_for(book: PolicyBook, version_id: str) -> Manifest:
    try:
        return book.get(version_id)
    except KeyError:
        return book.current


def describe_record(book: PolicyBook, record: RecordView) -> dict[str, Any]:
    """One part of an access answer: the data and what the policy version says about it."""
    manifest = _manifest_for(book, record.policy_version)
    try:
        channel = manifest.channel(record.channel)
    except KeyError:
        channel = None
    purposes = []
    for pid in record.purposes:
        try:
            p = manifest.purpose(pid)
            purposes.append(
                {"id": p.id, "name": p.name, "legal_basis": p.legal_basis or record.legal_basis}
            )
        except KeyError:
            purposes.append({"id": pid, "name": pid, "legal_basis": record.legal_basis})
    processor_ids = set(channel.processors) if channel else set()
    recipients = []
    if channel:
        for r in manifest.recipients:
            if r.id in channel.recipients:
                recipients.append({"name": r.name, "kind": r.kind.value})
        for pid in channel.processors:
            try:
                proc = manifest.processor(pid)
                recipients.append({"name": proc.name, "kind": proc.role.value})
            except KeyError:
                continue
    transfers = [
        {
            "destination": t.destination,
            "safeguard": t.safeguard.value,
            "description": t.description,
        }
        for t in manifest.transfers
        if t.importer_processor is None or t.importer_processor in processor_ids
    ]
    retention = channel.retention.describe() if channel and channel.retention else None
    return {
        "record": record.id,
        "data": dict(record.data),
        "categories": list(record.data_categories),
        "collected_at": record.collected_at.isoformat(),
        "policy_version": manifest.version.id,
        "source": {
            "channel": channel.name if channel else record.channel,
            "system": record.source_system,
        },
        "purposes": purposes,
        "legal_basis": record.legal_basis,
        "recipients": recipients,
        "retention": retention,
        "transfers": transfers,
    }


def portable(records: Sequence[RecordView]) -> list[RecordView]:
    """The records in Art. 20 scope: provided by the person under consent or contract."""
    return [r for r in records if r.legal_basis in PORTABLE_BASES]


@dataclass(frozen=True, slots=True)
class ExportBundle:
    """What an export contains, before rendering."""

    controller: str
    request_ref: str
    kind: str  # "access" | "portability"
    generated_at: datetime
    parts: list[dict[str, Any]]
    connectors: list[ConnectorResult]
    #: The access answer (Art. 15), in words; ``None`` for portability (data only).
    answer: AccessAnswer | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "controller": self.controller,
            "request": self.request_ref,
            "kind": self.kind,
            "generated_at": self.generated_at.isoformat(),
        }
        if self.answer is not None:
            out["answer"] = self.answer.document()
        out["parts"] = self.answer.parts if self.answer is not None else self.parts
        out["other_systems"] = [c.to_dict() for c in self.connectors]
        if self.answer is not None and self.answer.receipt is not None:
            out["consent_receipt"] = self.answer.receipt
        return out


def render_json(bundle: ExportBundle) -> bytes:
    return json.dumps(bundle.as_dict(), indent=2, ensure_ascii=False, default=str).encode()


def render_csv(bundle: ExportBundle) -> bytes:
    """One row per field of each part, with the part's basis, purposes and source."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["record", "field", "value", "source", "collected_at", "legal_basis", "purposes"]
    )
    for part in bundle.answer.parts if bundle.answer is not None else bundle.parts:
        purposes = "; ".join(p["name"] for p in part.get("purposes", []))
        for key, value in part["data"].items():
            writer.writerow(
                [
                    part["record"],
                    key,
                    value if isinstance(value, str) else json.dumps(value, ensure_ascii=False),
                    part["source"]["channel"],
                    part["collected_at"],
                    part["legal_basis"],
                    purposes,
                ]
            )
    for result in bundle.connectors:
        for collection, rows in result.records.items():
            for index, row in enumerate(rows):
                for key, value in row.items():
                    writer.writerow(
                        [
                            f"{result.connector}:{collection}:{index}",
                            key,
                            value,
                            result.connector,
                            "",
                            "",
                            "",
                        ]
                    )
    return out.getvalue().encode()


def render_answer_csv(bundle: ExportBundle) -> bytes:
    """The access answer, one row per line a person reads: section, part, label, text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "part", "label", "text"])
    for block in bundle.answer.blocks if bundle.answer is not None else []:
        if block.kind == "text":
            writer.writerow([block.section, block.part, block.label, block.text])
    return out.getvalue().encode()


def attachments(bundle: ExportBundle) -> dict[str, tuple[bytes, str]]:
    """The files of an export: name -> (content, media type)."""
    files = {
        "data.json": (render_json(bundle), "application/json"),
        "data.csv": (render_csv(bundle), "text/csv"),
    }
    if bundle.answer is not None:
        files["answer.csv"] = (render_answer_csv(bundle), "text/csv")
        files["answer.html"] = (bundle.answer.html().encode(), "text/html")
        if bundle.answer.receipt is not None:
            receipt = json.dumps(bundle.answer.receipt, indent=2, ensure_ascii=False)
            files["consent-receipt.json"] = (receipt.encode(), "application/json")
    return files


def zip_bundle(bundle: ExportBundle) -> bytes:
    """The export's files in one ZIP (portability; access without PDF)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (content, _media) in attachments(bundle).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def encrypted_pdf(bundle: ExportBundle, password: str) -> bytes:
    """The access answer as a PDF encrypted with AES-256 (R6), JSON and CSV attached.

    The PDF libraries (fpdf2, pikepdf) load on the first PDF, not with the service."""
    from privacyops.rights import pdf

    return pdf.encrypted_pdf(bundle, password)
