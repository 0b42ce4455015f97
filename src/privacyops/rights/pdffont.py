"""The PDF answer's font, parsed once per process instead of once per PDF.

fpdf2 parses a TrueType font (about 6,000 glyphs for DejaVu Sans) on every ``add_font`` and
subsets it on every ``output``: most of the time of a small PDF. Here the font is parsed once
into a template that each document copies (the parsed metrics are shared, read-only; what a
document changes — the glyphs it uses, the table the subsetter cuts — is its own), and the
glyph tables a document subsets come from a pre-cut font of the common scripts (Latin, Greek,
Cyrillic, punctuation, currency: ~120 KB instead of 740 KB). A document with a character
outside it is rendered again with the whole font (:func:`rendered`), so nothing is lost.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools import subset as ftsubset
from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

__all__ = ["body_font", "check_glyphs", "rendered"]

#: A Unicode font when the system has it (Debian's fonts-dejavu-core); else a core font.
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

#: The code points of the pre-cut font: Latin (with Extended-A/B and IPA), Greek, Cyrillic,
#: general punctuation, currency signs, letter-like symbols.
COMMON = (
    (0x20, 0x2B0),
    (0x370, 0x530),
    (0x2000, 0x2070),
    (0x20A0, 0x20C0),
    (0x2100, 0x2150),
)

#: Set while a document is rendered again with the whole font.
_whole: ContextVar[bool] = ContextVar("privacyops_pdf_whole_font", default=False)


class OutsideCommonFont(Exception):
    """The document uses a glyph the pre-cut font lacks: render it with the whole font."""


@dataclass(frozen=True)
class _Face:
    data: bytes  # the font file, subset per document from these bytes
    template: TTFFont  # parsed once; copied per document
    common: bool  # the pre-cut font (a miss means: render again with the whole font)


def _template(data: bytes) -> TTFFont:
    return TTFFont(FPDF(), io.BytesIO(data), "body", "")  # type: ignore[arg-type]  # fontTools reads a file object


@cache
def _face(whole: bool) -> _Face | None:
    if not FONT.is_file():
        return None
    data = FONT.read_bytes()
    if not whole:
        options = ftsubset.Options(glyph_names=True, notdef_outline=True, recommended_glyphs=True)
        options.drop_tables += ["GPOS", "GSUB", "GDEF", "MATH", "hdmx", "FFTM"]
        font = ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False)
        subsetter = ftsubset.Subsetter(options)
        subsetter.populate(unicodes=[c for start, end in COMMON for c in range(start, end)])
        subsetter.subset(font)
        out = io.BytesIO()
        font.save(out)
        data = out.getvalue()
    return _Face(data, _template(data), common=not whole)


def body_font(doc: FPDF) -> TTFFont | None:
    """A copy of the parsed font for ``doc`` (None when the system has no Unicode font)."""
    face = _face(_whole.get())
    if face is None:
        return None
    font = copy.copy(face.template)
    font.i = len(doc.fonts) + 1
    # the subsetter cuts the tables it is given: each document gets its own, read lazily
    font.ttfont = ttLib.TTFont(io.BytesIO(face.data), recalcTimestamp=False, lazy=True)
    font.subset = SubsetMap(font)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    return font


def check_glyphs(font: object) -> None:
    """Before output: raise :class:`OutsideCommonFont` when the pre-cut font missed a glyph."""
    if isinstance(font, TTFFont) and font.missing_glyphs and not _whole.get():
        raise OutsideCommonFont


def rendered(render: Callable[[], bytes]) -> bytes:
    """``render()``, again with the whole font when the pre-cut one lacked a character."""
    try:
        return render()
    except OutsideCommonFont:
        token = _whole.set(True)
        try:
            return render()
        finally:
            _whole.reset(token)
