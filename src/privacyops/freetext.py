"""Free text and free-form JSON from outside, checked the same way everywhere.

Intake's fields (:mod:`privacyops.intake.fields`) and the free-form ``details`` of a rights
request use these rules: text is NFC-normalised; control characters other than tab and line
breaks are refused (the usual carriers of log and terminal injection; PostgreSQL refuses NUL),
and so are lone surrogates (they cannot be encoded, stored or shown); free-form JSON is bounded
in nesting depth, number of items and size.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from privacyops.errors import InvalidInput, PayloadTooLarge

__all__ = [
    "CONTROL",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "ONE_LINE_CONTROL",
    "SURROGATE",
    "check_free_json",
    "text_problem",
]

#: Control characters refused in multi-line text (tab and line breaks are allowed).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Control characters refused in one-line text.
ONE_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: A UTF-16 surrogate code point: in a Python string only ever a lone (invalid) one.
SURROGATE = re.compile(r"[\ud800-\udfff]")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
#: Deepest nesting of objects and lists accepted in free-form JSON (the top object is 1).
MAX_DEPTH = 4
#: Most keys and items (all levels together) accepted in free-form JSON.
MAX_ITEMS = 200


def text_problem(text: str, *, one_line: bool = False) -> str | None:
    """What is wrong with ``text`` (never quoting it), or ``None``."""
    if SURROGATE.search(text):
        return "contains invalid characters"
    if (ONE_LINE_CONTROL if one_line else CONTROL).search(text):
        return "contains control characters"
    return None


def check_free_json(
    value: Any, *, max_bytes: int, max_depth: int = MAX_DEPTH, max_items: int = MAX_ITEMS
) -> Any:
    """``value`` (decoded JSON) with every string NFC-normalised, or a clear refusal.

    Raises:
        InvalidInput: too deep, too many items, a non-text key, or text with control
            characters or lone surrogates (``details`` names where, never the value).
        PayloadTooLarge: over ``max_bytes`` as compact JSON.
    """
    items = 0

    def walk(node: Any, loc: list[str | int], depth: int) -> Any:
        nonlocal items
        if isinstance(node, dict | list):
            if depth >= max_depth:
                raise _refuse(loc, f"nested more than {max_depth} levels deep")
            items += len(node)
            if items > max_items:
                raise _refuse(loc, f"more than {max_items} items in all")
            if isinstance(node, list):
                return [walk(v, [*loc, i], depth + 1) for i, v in enumerate(node)]
            out: dict[str, Any] = {}
            for key, v in node.items():
                if not isinstance(key, str) or text_problem(key, one_line=True):
                    raise _refuse(loc, "a key is not plain text")
                name = key if _NAME.fullmatch(key) else "*"  # never echo what may be data
                out[unicodedata.normalize("NFC", key)] = walk(v, [*loc, name], depth + 1)
            return out
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                raise _refuse(loc, problem)
            return unicodedata.normalize("NFC", node)
        if node is None or isinstance(node, bool | int | float):
            return node
        raise _refuse(loc, "not a JSON value")

    clean = walk(value, [], 0)
    if len(json.dumps(clean, separators=(",", ":")).encode()) > max_bytes:
        raise PayloadTooLarge(f"At most {max_bytes} bytes of details are accepted.")
    return clean


def _refuse(loc: list[str | int], msg: str) -> InvalidInput:
    return InvalidInput(
        "The details are not plain text in a simple structure.",
        details=[{"loc": ["details", *loc], "msg": msg}],
    )
