"""The layer order of docs/architecture.md, read from the source with ``ast``.

A module may import its own package and the layers below its own; ``connectors`` (and
``text``) only the few named in ``ONLY``. Every ``import`` counts, at module level or inside a
function, under ``TYPE_CHECKING`` or not. Where the code breaks the order today the edge is
listed in ``KNOWN_VIOLATIONS``, which may only shrink: a new violation fails, and so does a
listed one that is gone (delete its line).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = SRC / "privacyops"

#: Bottom to top; a layer may import the layers before it. ``infra`` is every top-level module
#: of ``privacyops`` (settings, errors, shared counts and the other one-of-each pieces).
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"infra"}),
    frozenset({"policy"}),
    frozenset({"store"}),
    frozenset({"audit"}),
    frozenset({"accounts", "intake", "consent", "registers"}),
    frozenset({"connectors"}),
    frozenset({"text"}),
    frozenset({"rights"}),
    frozenset({"retention"}),
    frozenset({"processor"}),
    frozenset({"jobs"}),
    frozenset({"web"}),
    frozenset({"cli"}),
    frozenset({"__main__"}),
)

#: Layers that may import fewer than everything below them: connectors are told what to do
#: and report back, so they see the policy, never the store, the audit log, rights or consent.
ONLY: dict[str, frozenset[str]] = {
    "connectors": frozenset({"infra", "policy"}),
    "text": frozenset({"infra", "policy", "connectors"}),
}

#: (importing module, imported layer) pairs that break the order today. Only shrink this.
KNOWN_VIOLATIONS: frozenset[tuple[str, str]] = frozenset(
    {
        # Manual and e-mail connectors keep their tasks in the privacyops database
        # (connector_tasks, sealed briefs under the master key) and audit each act; moving the
        # task store out of connectors/ (rights or a task package writing it, the connector
        # handing back what to record) is the next step of issue 14 item 3.
        ("privacyops.connectors.manual", "audit"),
        ("privacyops.connectors.manual", "store"),
        ("privacyops.connectors.tasks", "audit"),  # the task store, split from manual.py
        ("privacyops.connectors.tasks", "store"),
        ("privacyops.connectors.models", "store"),
        ("privacyops.connectors.loader", "store"),  # hands the Database to ManualConnector
    }
)


#: Tables: a domain package reads and writes its own tables (its ``models``) and calls another
#: package's functions for the rest; only the store's registry tables are shared below.
#: (importing module, package whose models it imports) pairs that break this today.
KNOWN_TABLE_USES: frozenset[tuple[str, str]] = frozenset(
    {
        # Reads only: hands back the ConnectorTask that connectors' complete_task returns.
        ("privacyops.rights.tasks", "connectors"),
    }
)

#: Layers whose modules may read any package's tables (they show and drive everything).
EDGE = frozenset({"jobs", "web", "cli", "__main__"})


def layer_of(module: str) -> str:
    """``privacyops.rights.runner`` -> ``rights``; top-level modules -> ``infra``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "infra"  # privacyops/__init__.py
    name = parts[1]
    if name == "__main__":
        return name
    return name if (ROOT / name).is_dir() else "infra"


def rank(layer: str) -> int:
    for i, members in enumerate(LAYERS):
        if layer in members:
            return i
    raise KeyError(layer)


def allowed(importer: str, imported: str) -> bool:
    if importer == imported:
        return True
    if importer in ONLY:
        return imported in ONLY[importer]
    return rank(imported) < rank(importer)


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def imports(module: str, path: Path) -> Iterator[str]:
    """Every ``privacyops`` module ``path`` imports, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                yield ".".join([*base, *([node.module] if node.module else [])])
            elif node.module:
                yield node.module


def violations() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for module, path in modules():
        importer = layer_of(module)
        for target in imports(module, path):
            if target != "privacyops" and not target.startswith("privacyops."):
                continue
            imported = layer_of(target)
            if not allowed(importer, imported):
                found.add((module, imported))
    return found


def table_uses() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for module, path in modules():
        importer = layer_of(module)
        if importer in EDGE:
            continue
        for target in imports(module, path):
            owner = layer_of(target) if target.startswith("privacyops.") else None
            if owner and target.endswith(".models") and owner not in (importer, "store"):
                found.add((module, owner))
    return found


def test_no_new_use_of_another_package_s_tables() -> None:
    new = table_uses() - KNOWN_TABLE_USES
    assert new == set(), "call the owning package instead of using its tables"
    gone = KNOWN_TABLE_USES - table_uses()
    assert gone == set(), "fixed: delete these from KNOWN_TABLE_USES"


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    known = set().union(*LAYERS)
    assert packages - known == set(), "add the new package to LAYERS and docs/architecture.md"


def test_no_new_layer_violation() -> None:
    new = violations() - KNOWN_VIOLATIONS
    assert new == set(), "these imports reach up or sideways (docs/architecture.md)"


def test_known_violations_only_shrink() -> None:
    gone = KNOWN_VIOLATIONS - violations()
    assert gone == set(), "fixed: delete these from KNOWN_VIOLATIONS"


@pytest.mark.parametrize(
    ("importer", "imported", "ok"),
    [
        ("rights", "connectors", True),
        ("connectors", "rights", False),
        ("connectors", "store", False),
        ("connectors", "policy", True),
        ("policy", "infra", True),
        ("infra", "policy", False),
        ("consent", "intake", False),
        ("retention", "web", False),
        ("cli", "web", True),
    ],
)
def test_the_rule(importer: str, imported: str, ok: bool) -> None:
    assert allowed(importer, imported) is ok


def test_an_upward_import_is_found(tmp_path: Path) -> None:
    """The reader sees imports inside functions and under TYPE_CHECKING too."""
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from privacyops.rights.models import RightsRequest\n"
        "def f():\n    import privacyops.web.app\n"
        "from . import base\n",
        encoding="utf-8",
    )
    found = set(imports("privacyops.connectors.sample", source))
    assert found == {
        "typing",
        "privacyops.rights.models",
        "privacyops.web.app",
        "privacyops.connectors",
    }
