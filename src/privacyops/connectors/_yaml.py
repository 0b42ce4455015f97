"""Connector and dataset files: YAML read by :mod:`privacyops.yamlfile` (line numbers and its
guards), validated so that every error says ``file:line``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from privacyops.errors import InvalidInput
from privacyops.yamlfile import Loc, YamlProblem, parse_yaml

__all__ = ["Located", "load_located", "problem"]

M = TypeVar("M", bound=BaseModel)


class Located:
    """A parsed YAML document plus the line of every mapping key and sequence item."""

    def __init__(self, data: Any, lines: dict[Loc, int], source: str) -> None:
        self.data = data
        self.lines = lines
        self.source = source

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest enclosing value that has one."""
        loc = tuple(loc)
        while True:
            if loc in self.lines:
                return self.lines[loc]
            if not loc:
                return None
            loc = loc[:-1]

    def where(self, loc: Loc) -> str:
        line = self.line_of(loc)
        return f"{self.source}:{line}" if line is not None else self.source

    def validate(self, model: type[M], *, what: str) -> M:
        """Validate the document as ``model``; raise InvalidInput with one located item per
        problem."""
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            details = []
            for err in exc.errors(include_url=False, include_input=False):
                loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
                details.append(problem(self, loc, err["msg"]))
            raise InvalidInput(f"{what} {self.source} is not valid.", details=details) from None


def problem(doc: Located, loc: Loc, msg: str) -> dict[str, Any]:
    """One ``details`` item: loc, msg, file, line and a printable ``where``."""
    line = doc.line_of(loc)
    return {
        "loc": list(loc),
        "msg": msg,
        "file": doc.source,
        "line": line,
        "where": doc.where(loc),
    }


def load_located(text: str, source: str) -> Located:
    """Parse ``text`` (one YAML document) keeping line numbers; ``source`` names it in errors.

    Read by :func:`privacyops.yamlfile.parse_yaml`, with its guards: a key given twice in one
    mapping, a recursive alias or an alias bomb is refused at its line.

    Raises:
        InvalidInput: the text is not YAML, or is refused by a guard.
    """
    try:
        data, smap = parse_yaml(text, source)
    except YamlProblem as exc:
        line = exc.position.line if exc.position is not None else None
        raise InvalidInput(
            f"{source} is not valid YAML.",
            details=[
                {
                    "loc": [],
                    "msg": exc.message,
                    "file": source,
                    "line": line,
                    "where": f"{source}:{line}" if line else source,
                }
            ],
        ) from None
    # a mapping key's line is the key's; anything else (a list item, the document) its own
    lines: dict[Loc, int] = {loc: pos.line for loc, pos in smap.values.items()}
    lines.update({loc: pos.line for loc, pos in smap.keys.items()})
    return Located(data, lines, source)


def read_located(path: Path) -> Located:
    """Read and parse a YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise InvalidInput(f"Cannot read {path}.") from None
    return load_located(text, str(path))
