"""The access answer's PDF: the font is parsed once per process, and an answer with a character
outside the pre-cut common scripts is rendered with the whole font, so no letter is lost."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pikepdf
import pytest

from privacyops.rights import pdf, pdffont
from privacyops.rights.document import AccessAnswer, Block
from privacyops.rights.exports import ExportBundle

pytestmark = pytest.mark.skipif(not pdffont.FONT.is_file(), reason="fonts-dejavu-core missing")


def bundle(name: str) -> ExportBundle:
    part = {
        "record": "rec-1",
        "source": {"channel": "web_form", "system": "website"},
        "data": {"name": name, "email": "person@example.com"},
        "purposes": [{"name": "answer-request", "legal_basis": "consent"}],
        "recipients": [],
        "transfers": [],
        "collected_at": "2026-01-01T00:00:00",
        "policy_version": "v3",
        "legal_basis": "consent",
        "retention": "",
    }
    title = "Your personal data held by Example Ltd"
    answer = AccessAnswer(
        markdown=f"# {title}\n\nName: {name}\n",
        blocks=[
            Block("title", "", "", "", title),
            Block("entry", "Your data", "web_form", "Name", name),
        ],
        parts=[part],
        title=title,
    )
    return ExportBundle(
        "Example Ltd", "r-1", "access", datetime.now(UTC), [part], [], answer=answer
    )


def characters_in(content: bytes, password: str) -> set[str]:
    """Every character the PDF's embedded font maps (its ToUnicode table)."""
    found: set[str] = set()
    with pikepdf.open(io.BytesIO(content), password=password) as opened:
        for page in opened.pages:
            for font in page.Resources.Font.values():
                cmap = font.get("/ToUnicode")
                if cmap is None:
                    continue
                text = cmap.read_bytes().decode("latin-1")
                for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
                    found |= {chr(int(h, 16)) for h in re.findall(r"<\w+>\s*<(\w+)>", block)}
    return found


@pytest.mark.parametrize(
    "name",
    [
        "Åsa Øberg-Ελένη Москвина",  # Latin, Greek, Cyrillic: the pre-cut font
        "Անի Գևորգյան",  # Armenian: outside it, rendered again with the whole font
    ],
)
def test_every_letter_of_the_name_is_in_the_pdf(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    content = pdf.encrypted_pdf(bundle(name), "pass-word-1")
    assert set(name.replace(" ", "")) <= characters_in(content, "pass-word-1")
    assert "missing the following glyphs" not in caplog.text
    with pikepdf.open(io.BytesIO(content), password="pass-word-1") as opened:
        assert opened.encryption.R == 6
        assert {"data.csv", "data.json", "answer.csv", "answer.html"} <= set(opened.attachments)
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(content))


def test_the_font_is_parsed_once_and_each_document_gets_its_own_tables() -> None:
    first = pdffont.body_font(pdf._Doc())
    second = pdffont.body_font(pdf._Doc())
    assert first is not None
    assert second is not None
    assert first.cw is second.cw  # the parsed metrics are shared
    assert first.ttfont is not second.ttfont  # the subsetter cuts each document's own
    assert first.subset is not second.subset
