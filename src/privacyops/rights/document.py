"""The access answer as rendered: its Markdown parsed (markdown-it-py) into :class:`Block`
rows, from which the PDF, the JSON, the CSV and the HTML page are all made, so that the four
say the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from privacyops.rights.texts import TEXT_ENV

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

__all__ = ["AccessAnswer", "Block", "to_blocks"]


@dataclass(frozen=True, slots=True)
class Block:
    """One line of the answer: a heading (``title``, ``section``, ``part``) or a text, with
    the section and part it is in and, for a labelled entry, its label."""

    kind: str
    section: str
    part: str
    label: str
    text: str

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "section": self.section,
            "part": self.part,
            "label": self.label,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class AccessAnswer:
    """The rendered answer: its Markdown, its blocks, the facts' parts and the receipt."""

    markdown: str
    blocks: list[Block]
    parts: list[dict[str, Any]]
    receipt: Mapping[str, Any] | None = None
    title: str = ""

    def document(self) -> dict[str, Any]:
        """The answer as nested JSON: sections, each with its texts and parts."""
        sections: list[dict[str, Any]] = []
        for block in self.blocks:
            if block.kind == "section":
                sections.append({"heading": block.text, "entries": [], "parts": []})
            elif block.kind == "part" and sections:
                sections[-1]["parts"].append({"heading": block.text, "entries": []})
            elif block.kind == "text" and sections:
                entry = {"label": block.label, "text": block.text}
                target = sections[-1]["parts"][-1] if block.part else sections[-1]
                target["entries"].append(entry)
        return {"title": self.title, "sections": sections}

    def html(self) -> str:
        """The answer as a standalone HTML page (readable at 390 px wide)."""
        body = _markdown().render(self.markdown)
        # markdown-it escapes every text (raw HTML is off): its output is safe markup
        return TEXT_ENV.get_template("access/answer.html.j2").render(
            title=self.title,
            body=Markup(body),  # noqa: S704
        )


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # only what the template writes (headings, lists, bold, escapes); raw HTML, links, code,
    # tables and the rest stay off: nothing in the document is ever markup, and the parse is
    # several times faster than full CommonMark
    return MarkdownIt("zero", {"html": False}).enable(
        ["heading", "list", "emphasis", "escape", "newline"]
    )


def _inline_text(token: Token) -> tuple[str, str]:
    """The plain text of an inline token, and its label when it starts with bold text."""
    children = list(token.children or [])
    while children and children[0].type == "text" and not children[0].content:
        children.pop(0)
    label = ""
    rest = children
    if len(children) >= 3 and children[0].type == "strong_open":
        end = next((i for i, c in enumerate(children) if c.type == "strong_close"), None)
        if end is not None:
            label = _join(children[1:end]).strip().rstrip(":")
            rest = children[end + 1 :]
    return label, " ".join(_join(rest).split())


def _join(tokens: Iterable[Token]) -> str:
    out = []
    for t in tokens:
        if t.type in ("text", "code_inline"):
            out.append(t.content)
        elif t.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif t.children:
            out.append(_join(t.children))
    return "".join(out)


def to_blocks(markdown: str) -> list[Block]:
    """The answer's lines: headings, and each paragraph or list item as one text."""
    blocks: list[Block] = []
    section = part = ""
    tokens = _markdown().parse(markdown)
    heading: str | None = None
    for token in tokens:
        if token.type == "heading_open":
            heading = token.tag
        elif token.type == "inline" and heading is not None:
            text = _inline_text(token)[1]
            if heading == "h1":
                blocks.append(Block("title", "", "", "", text))
            elif heading == "h2":
                section, part = text, ""
                blocks.append(Block("section", section, "", "", text))
            else:
                part = text
                blocks.append(Block("part", section, part, "", text))
            heading = None
        elif token.type == "inline":
            label, text = _inline_text(token)
            if text or label:
                blocks.append(Block("text", section, part, label, text))
    return blocks
