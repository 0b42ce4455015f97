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
import secrets
from typing import Any

import pikepdf
from fpdf import FPDF

from privacyops.rights import pdffont
from privacyops.rights.exports import ExportBundle, attachments

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
    """The access answer's lines (:mod:`privacyops.rights.answer`), as the person reads them:
    the PDF says what the attached JSON, CSV and HTML say."""
    if bundle.answer is None:
        raise ValueError("an access PDF needs the access answer")
    doc = _Doc()
    doc.set_title(bundle.answer.title)
    doc.set_creator("privacyops")
    doc.add_page()
    sizes = {"title": (16, 3.0), "section": (13, 2.0), "part": (11, 1.5)}
    for block in bundle.answer.blocks:
        if block.kind in sizes:
            if block.kind == "section":
                doc.ln(2)
            size, gap = sizes[block.kind]
            doc.text_line(block.text, size=size, gap=gap)
        elif block.label:
            doc.text_line(f"{block.label}: {block.text}", size=9, gap=0.8)
        else:
            doc.text_line(block.text, size=10, gap=1.5)
    return bytes(doc.output())


def encrypted_pdf(bundle: ExportBundle, password: str) -> bytes:
    """The access answer as a PDF encrypted with AES-256 (R6), JSON and CSV attached."""
    plain = pdffont.rendered(lambda: _pdf_text(bundle))
    with pikepdf.open(io.BytesIO(plain)) as pdf:
        for name, (content, media) in attachments(bundle).items():
            pdf.attachments[name] = pikepdf.AttachedFileSpec(pdf, content, mime_type=media)
        out = io.BytesIO()
        pdf.save(
            out,
            encryption=pikepdf.Encryption(
                owner=secrets.token_urlsafe(24), user=password, aes=True, R=6
            ),
        )
        return out.getvalue()
