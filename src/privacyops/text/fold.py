"""Folding text for exact search: case folded, diacritics removed, every whitespace a space,
with a map from each folded character back to its offset in the text as given."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = ["fold", "fold_with_map"]

_WHITESPACE = str.maketrans(dict.fromkeys("\t\n\r\x0b\x0c\xa0", " "))


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    if char.isspace():
        return " "
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    # Letters NFKD leaves whole (ø, ł, æ, đ) still have a common ASCII spelling.
    return _EXTRA.get(base, base).casefold()


_EXTRA = {"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "æ": "ae", "Æ": "ae"}


def fold(text: str) -> str:
    """``text`` folded (no map): for patterns."""
    return fold_with_map(text)[0]


def fold_with_map(text: str) -> tuple[str, list[int] | None]:
    """The folded text and, where its length differs from the text's or a character moved,
    the offset in ``text`` of each folded character (``None``: the same offsets)."""
    if text.isascii():
        return text.translate(_WHITESPACE).lower(), None
    out: list[str] = []
    where: list[int] = []
    for i, char in enumerate(text):
        folded = _fold_char(char)
        out.append(folded)
        where.extend([i] * len(folded))
    return "".join(out), where
