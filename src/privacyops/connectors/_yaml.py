"""YAML loading that remembers where each value was written, so errors can say ``file:line``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from privacyops.errors import InvalidInput

__all__ = ["Located", "load_located", "problem"]

M = TypeVar("M", bound=BaseModel)

Loc = tuple[str | int, ...]


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


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> Any:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            child = (*loc, key) if isinstance(key, str | int) else loc
            lines[child] = key_node.start_mark.line + 1
            out[key] = _walk(value_node, child, lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            lines[(*loc, i)] = item.start_mark.line + 1
            items.append(_walk(item, (*loc, i), lines))
        return items
    return yaml.safe_load(yaml.serialize(node))


def load_located(text: str, source: str) -> Located:
    """Parse ``text`` (one YAML document) keeping line numbers; ``source`` names it in errors.

    Raises:
        InvalidInput: the text is not YAML.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        where = f"{source}:{line}" if line else source
        raise InvalidInput(
            f"{source} is not valid YAML.",
            details=[
                {
                    "loc": [],
                    "msg": str(getattr(exc, "problem", "syntax error")),
                    "file": source,
                    "line": line,
                    "where": where,
                }
            ],
        ) from None
    lines: dict[Loc, int] = {}
    data = _walk(node, (), lines) if node is not None else None
    return Located(data, lines, source)


def read_located(path: Path) -> Located:
    """Read and parse a YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise InvalidInput(f"Cannot read {path}.") from None
    return load_located(text, str(path))
