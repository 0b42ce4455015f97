"""Replace spans of a text with ``[LABEL]`` tags, and say what kind was removed (never what)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from privacyops.text.detect import Span

__all__ = ["redact", "redaction_report"]


def redact(text: str, spans: Iterable[Span]) -> str:
    """``text`` with every span replaced by its ``[LABEL]`` tag; overlapping spans merge into
    the first one's tag."""
    out: list[str] = []
    at = 0
    for span in sorted(spans):
        if span.end <= at:
            continue
        start = max(span.start, at)
        out.append(text[at:start])
        if start == span.start:
            out.append(f"[{span.label}]")
        at = span.end
    out.append(text[at:])
    return "".join(out)


def redaction_report(spans: Iterable[Span]) -> dict[str, int]:
    """How many spans of each label were removed."""
    return dict(sorted(Counter(s.label for s in spans).items()))
