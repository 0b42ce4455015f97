"""The one YAML reader: plain data plus where each node stands, so every error can point at it.

:func:`parse_yaml` builds plain Python data (dicts, lists, scalars) from YAML text and a
:class:`SourceMap` from each path into the data — ``("processors", 3, "country")`` — to the
line and column of its key and of its value. The policy loader uses it to turn a pydantic error
or a reference problem into ``file:line:column`` and the lint to place findings; the connector
and dataset files (:mod:`privacyops.connectors.loader`) are read with it too.

It refuses what ``yaml.safe_load`` silently accepts and a file we read must not contain: a key
given twice in one mapping (the second would win unseen), recursive aliases, and alias
expansions that blow up the document (a "billion laughs").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["Loc", "Position", "SourceMap", "YamlProblem", "dotted", "parse_yaml"]

Loc = tuple[str | int, ...]

# libyaml's parser when available (several times faster); same nodes, same marks.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVED: dict[tuple[str, tuple[bool, bool]], str] = {}


class _Loader(_Base):  # type: ignore[valid-type,misc]  # a class picked at import time
    """The safe loader, remembering how each plain scalar resolved.

    Resolving a scalar's implicit tag (is ``yes`` a bool, ``2021-09-01`` a date?) runs a
    dozen regular expressions in Python for every node; the same keys and values recur
    thousands of times in a large manifest. Safe to cache: the safe resolver has no path
    resolvers, so the tag depends on the value and the implicit flags only.
    """

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not ScalarNode:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = _RESOLVED.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(_RESOLVED) < 200_000:
                _RESOLVED[key] = tag
        return tag


_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_STR_TAG = "tag:yaml.org,2002:str"
# Without aliases a document cannot hold more nodes than characters; beyond that (plus some
# slack) aliases are multiplying it.
NODE_SLACK = 10_000
MAX_DEPTH = 100


class Position(NamedTuple):
    """A place in a file, both numbers counted from 1 as editors show them."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


def _position(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1)


@dataclass
class SourceMap:
    """Where each part of a parsed YAML document came from."""

    file: str
    values: dict[Loc, Position] = field(default_factory=dict)
    keys: dict[Loc, Position] = field(default_factory=dict)

    def locate(self, loc: Loc, *, key: bool = False) -> Position:
        """The position of ``loc`` (its key when ``key``), else of its nearest known parent.

        A missing field has no position of its own; the mapping that lacks it has.
        """
        if key and loc in self.keys:
            return self.keys[loc]
        for end in range(len(loc), -1, -1):
            found = self.values.get(loc[:end])
            if found is not None:
                return found
        return Position(1, 1)


class YamlProblem(Exception):
    """The YAML text cannot become manifest data; ``position`` says where."""

    def __init__(self, message: str, position: Position | None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def dotted(loc: Loc) -> str:
    """``("processors", 3, "country")`` -> ``processors[3].country``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, smap: SourceMap, max_nodes: int) -> None:
        self.loader = loader
        self.smap = smap
        self.count = 0
        self.max_nodes = max_nodes
        self.active: set[int] = set()

    def build(self, node: Node, loc: Loc) -> Any:
        self.count += 1
        if self.count > self.max_nodes:
            raise YamlProblem(
                f"more than {self.max_nodes:,} YAML nodes: aliases expand it beyond its size",
                _position(node.start_mark),
            )
        if len(loc) > MAX_DEPTH:
            raise YamlProblem(f"nested deeper than {MAX_DEPTH} levels", _position(node.start_mark))
        self.smap.values.setdefault(loc, _position(node.start_mark))
        if isinstance(node, ScalarNode):
            if node.tag == _STR_TAG:  # most of a manifest; what SafeConstructor would return
                return node.value
            return self.loader.construct_object(node, deep=True)
        if id(node) in self.active:
            raise YamlProblem("an alias refers to its own ancestor", _position(node.start_mark))
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                if node.tag != _SEQ_TAG:
                    raise YamlProblem(f"unsupported tag {node.tag!r}", _position(node.start_mark))
                return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self._mapping(node, loc)
            raise YamlProblem("unsupported YAML node", _position(node.start_mark))
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: MappingNode, loc: Loc) -> dict[Any, Any]:
        if node.tag != _MAP_TAG:
            raise YamlProblem(f"unsupported tag {node.tag!r}", _position(node.start_mark))
        self.loader.flatten_mapping(node)  # YAML merge keys (<<), as safe_load does
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise YamlProblem(
                    "a mapping key must be a plain value", _position(key_node.start_mark)
                )
            key = (
                key_node.value
                if key_node.tag == _STR_TAG
                else self.loader.construct_object(key_node, deep=True)
            )
            if key in out:
                first = self.smap.keys.get((*loc, key))
                where = f" (first at line {first.line})" if first else ""
                raise YamlProblem(f"duplicate key {key!r}{where}", _position(key_node.start_mark))
            self.smap.keys[(*loc, key)] = _position(key_node.start_mark)
            out[key] = self.build(value_node, (*loc, key))
        return out


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain data and its source map.

    Raises:
        YamlProblem: the text is not YAML, has several documents, a duplicate key, an
            unsupported tag, or an alias bomb.
    """
    smap = SourceMap(file)
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = ": ".join(p for p in (exc.context, exc.problem) if p) or "not valid YAML"
            raise YamlProblem(problem, _position(mark) if mark else None) from None
        except yaml.YAMLError as exc:
            raise YamlProblem(str(exc).splitlines()[0], None) from None
        if node is None:
            return None, smap
        try:
            return _Builder(loader, smap, len(text) + NODE_SLACK).build(node, ()), smap
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = ": ".join(p for p in (exc.context, exc.problem) if p) or "not valid YAML"
            raise YamlProblem(problem, _position(mark) if mark else None) from None
        except RecursionError:
            raise YamlProblem("nested too deeply", None) from None
    finally:
        loader.dispose()
