"""The access answer as a PDF encrypted with AES-256 (pikepdf, PDF 2.0 security handler R6),
the JSON and CSV bundle attached inside it. Imported by :func:`privacyops.rights.exports.
encrypted_pdf` on the first PDF, so the service starts without loading fpdf2 and pikepdf.

Rendering mechanics (:mod:`privacyops.rights.pdffont`): the font is parsed once per process,
not once per PDF, and most answers use a pre-made subset of it (Latin, Greek, Cyrillic); an
answer with a character outside it is rendered again with the whole font. A line that fits is
written as one cell, without the line breaker.
"""

from __future__ import annotations

import io
import json
import secrets
from typing import Any

import pikepdf
from fpdf import FPDF

from privacyops.rights import pdffont
from privacyops.rights.exports import ExportBundle, render_csv, render_json

__all__ = ["encrypted_pdf"]


class _Doc(FPDF):
    def __init__(self) -> None:
        super().__init__()
        font = pdffont.body_font(self)
        self.unicode = font is not None
        if font is not None:
            self.fonts["body"] = font
            self.family = "body"
        else:  # core font: Latin-1 only
            self.family = "helvetica"

    def text_line(self, text: str, size: int = 10, gap: float = 1.5) -> None:
        if not self.unicode:
            text = text.encode("latin-1", "replace").decode("latin-1")
        self.set_font(self.family, size=size)
        if "\n" not in text and self.get_string_width(text) <= self.epw:
            self.cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        else:
            self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(gap)

    def output(self, *args: Any, **kwargs: Any) -> Any:
        pdffont.check_glyphs(self.fonts.get("body"))
        return super().output(*args, **kwargs)


def _pdf_text(bundle: ExportBundle) -> bytes:
    doc = _Doc()
    doc.set_title(f"Your personal data held by {bundle.controller}")
    doc.set_creator("privacyops")
    doc.add_page()
    doc.text_line(f"Your personal data held by {bundle.controller}", size=16, gap=3)
    doc.text_line(
        f"Request {bundle.request_ref}; generated {bundle.generated_at:%Y-%m-%d %H:%M} UTC. "
        "GDPR Art. 15: the data, the purposes and legal basis of processing, where it came "
        "from, who receives it, how long it is kept and where it is transferred. The same "
        "content is attached to this file as data.json and data.csv.",
        size=9,
        gap=4,
    )
    if not bundle.parts and not any(r.total for r in bundle.connectors):
        doc.text_line("We hold no personal data linked to the identity you confirmed.")
    for number, part in enumerate(bundle.parts, start=1):
        doc.text_line(f"Part {number}: {part['source']['channel']}", size=12)
        for key, value in part["data"].items():
            doc.text_line(f"{key}: {value}", size=10, gap=0.5)
        purposes = ", ".join(f"{p['name']} ({p['legal_basis']})" for p in part["purposes"])
        recipients = ", ".join(r["name"] for r in part["recipients"]) or "none named"
        transfers = (
            ", ".join(f"{t['destination']} ({t['safeguard']})" for t in part["transfers"]) or "none"
        )
        for label, value in (
            ("Collected", f"{part['collected_at'][:10]} (policy {part['policy_version']})"),
            ("Purposes", purposes or "-"),
            ("Legal basis", part["legal_basis"]),
            ("Source", part["source"]["system"] or part["source"]["channel"]),
            ("Recipients", recipients),
            ("Retention", part["retention"] or "as stated in the policy"),
            ("Transfers", transfers),
        ):
            doc.text_line(f"{label}: {value}", size=8, gap=0.3)
        doc.ln(3)
    for result in bundle.connectors:
        doc.text_line(f"Other system: {result.connector} ({result.status})", size=12)
        for collection, rows in result.records.items():
            for row in rows:
                doc.text_line(f"{collection}: {json.dumps(row, default=str)}", size=8)
    return bytes(doc.output())


def encrypted_pdf(bundle: ExportBundle, password: str) -> bytes:
    """The access answer as a PDF encrypted with AES-256 (R6), JSON and CSV attached."""
    plain = pdffont.rendered(lambda: _pdf_text(bundle))
    with pikepdf.open(io.BytesIO(plain)) as pdf:
        pdf.attachments["data.json"] = pikepdf.AttachedFileSpec(
            pdf, render_json(bundle), mime_type="application/json"
        )
        pdf.attachments["data.csv"] = pikepdf.AttachedFileSpec(
            pdf, render_csv(bundle), mime_type="text/csv"
        )
        out = io.BytesIO()
        pdf.save(
            out,
            encryption=pikepdf.Encryption(
                owner=secrets.token_urlsafe(24), user=password, aes=True, R=6
            ),
        )
        return out.getvalue()
