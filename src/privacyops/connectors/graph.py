"""The reference graph of a dataset: which collection links to which, in what order to visit
them from a person's identities, and in what order erasure must touch them."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from privacyops.connectors.dataset import Dataset

__all__ = ["Edge", "edges", "erasure_order", "reference_cycles", "traversal_rank"]


@dataclass(frozen=True)
class Edge:
    """``source.source_field`` holds values of ``target.target_field`` (source references
    target, as a foreign key does: target rows must outlive source rows)."""

    source: str
    source_field: str
    target: str
    target_field: str


def edges(dataset: Dataset) -> list[Edge]:
    """Every declared reference whose ends both exist in the dataset."""
    names = {c.name for c in dataset.collections}
    out = []
    for c in dataset.collections:
        for f in c.fields:
            for ref in f.references:
                if ref.collection in names:
                    out.append(Edge(c.name, f.name, ref.collection, ref.field))
    return out


def reference_cycles(dataset: Dataset) -> list[list[str]]:
    """Cycles of the directed reference graph (a collection that, through references, refers
    back to itself). Erasure cannot order such collections, so lint refuses them."""
    graph: dict[str, set[str]] = {c.name: set() for c in dataset.collections}
    for e in edges(dataset):
        graph[e.source].add(e.target)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    return cycles


def traversal_rank(dataset: Dataset, identity_types: set[str] | None = None) -> dict[str, int]:
    """Distance of each reachable collection from a collection holding an identity field.

    References are followed both ways (a customer leads to its orders, an order to its
    address). Collections missing from the answer cannot be reached from any identity.
    """
    starts = [
        c.name
        for c in dataset.collections
        if any(
            f.identity and (identity_types is None or f.identity in identity_types)
            for f in c.fields
        )
    ]
    neighbours: dict[str, set[str]] = {c.name: set() for c in dataset.collections}
    for e in edges(dataset):
        neighbours[e.source].add(e.target)
        neighbours[e.target].add(e.source)
    rank = dict.fromkeys(starts, 0)
    queue = deque(starts)
    while queue:
        node = queue.popleft()
        for nxt in sorted(neighbours[node]):
            if nxt not in rank:
                rank[nxt] = rank[node] + 1
                queue.append(nxt)
    return rank


def erasure_order(dataset: Dataset) -> list[str]:
    """Collections ordered so that a referencing collection comes before the one it
    references (order lines, then orders, then customer): the order in which rows can be
    deleted without breaking a foreign key. Assumes no reference cycle (lint refuses them)."""
    referenced_by: dict[str, set[str]] = {c.name: set() for c in dataset.collections}
    for e in edges(dataset):
        if e.source != e.target:
            referenced_by[e.target].add(e.source)
    order: list[str] = []
    done: set[str] = set()

    def place(node: str, seen: frozenset[str]) -> None:
        if node in done or node in seen:
            return
        for child in sorted(referenced_by[node]):
            place(child, seen | {node})
        done.add(node)
        order.append(node)

    for c in dataset.collections:
        place(c.name, frozenset())
    return order
