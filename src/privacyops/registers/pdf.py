"""The authority's notification as a PDF (fpdf2). Imported on the first PDF only, so the CLI
and the service start without loading fpdf2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpdf import FPDF

__all__ = ["notification_pdf"]

#: A Unicode font when the system has it (Debian's fonts-dejavu-core); else a core font.
_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

_SECTIONS = (
    ("nature", "Nature of the breach (Art. 33(3)(a))"),
    ("contact", "Contact for more information (Art. 33(3)(b))"),
    ("likely_consequences", "Likely consequences (Art. 33(3)(c))"),
    ("measures", "Measures taken or proposed (Art. 33(3)(d))"),
    ("risk_assessment", "Risk assessment"),
    ("timing", "Timing (Art. 33(1))"),
    ("phases", "Phases of this notification (Art. 33(4))"),
)


class _Doc(FPDF):
    def __init__(self) -> None:
        super().__init__()
        self.unicode = _FONT.is_file()
        if self.unicode:
            self.add_font("body", "", str(_FONT))
            self.family = "body"
        else:
            self.family = "helvetica"

    def line_of(self, text: str, size: int = 10, gap: float = 1.5) -> None:
        if not self.unicode:
            text = text.encode("latin-1", "replace").decode("latin-1")
        self.set_font(self.family, size=size)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(gap)


def _lines(value: Any, indent: str = "") -> list[str]:
    if value is None or value == [] or value == {}:
        return [f"{indent}to follow (Art. 33(4))"]
    if isinstance(value, dict):
        out: list[str] = []
        for key, item in value.items():
            label = key.replace("_", " ")
            if isinstance(item, dict | list) and item:
                out.append(f"{indent}{label}:")
                out.extend(_lines(item, indent + "    "))
            else:
                out.append(f"{indent}{label}: {'-' if item in (None, '') else item}")
        return out
    if isinstance(value, list):
        out = []
        for item in value:
            out.extend(_lines(item, indent) if isinstance(item, dict) else [f"{indent}- {item}"])
        return out
    return [f"{indent}{value}"]


def notification_pdf(draft: dict[str, Any]) -> bytes:
    """Render :func:`~privacyops.registers.notification.authority_notification`'s draft."""
    doc = _Doc()
    title = f"Personal data breach notification {draft['breach_ref']}"
    doc.set_title(title)
    doc.set_creator("privacyops")
    doc.add_page()
    doc.line_of(title, size=16, gap=3)
    authority = draft["authority"]
    doc.line_of(f"To: {authority.get('name')} ({authority.get('name_en')})", size=10, gap=0.5)
    doc.line_of(str(authority.get("address") or ""), size=9, gap=2)
    controller = draft["controller"]
    doc.line_of(
        f"From: {controller['legal_name']} ({controller['country']}), "
        f"for {controller['organization']}. Generated {draft['generated_at']}.",
        size=9,
        gap=4,
    )
    for key, heading in _SECTIONS:
        doc.line_of(heading, size=12, gap=1)
        for line in _lines(draft.get(key)):
            doc.line_of(line, size=9, gap=0.3)
        doc.ln(3)
    if draft["to_follow"]:
        doc.line_of(
            "To follow in a later phase: " + ", ".join(draft["to_follow"]).replace("_", " "),
            size=9,
        )
    return bytes(doc.output())
