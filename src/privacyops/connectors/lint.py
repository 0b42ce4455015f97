"""Lint a dataset before anything runs: against itself, the data-category taxonomy, the
policy's declared categories and, when given, the live database. Every problem names its
``file:line``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from privacyops.connectors.dataset import ParsedDataset
from privacyops.connectors.graph import edges, reference_cycles, traversal_rank
from privacyops.errors import DependencyUnavailable, InvalidInput
from privacyops.policy import Manifest

__all__ = [
    "LintProblem",
    "known_categories",
    "lint_dataset",
    "policy_categories",
    "raise_for_problems",
]


@dataclass(frozen=True)
class LintProblem:
    """One finding. Errors stop access and erasure; warnings are worth a look."""

    severity: Literal["error", "warning"]
    where: str
    loc: tuple[str | int, ...]
    msg: str

    def to_detail(self) -> dict[str, Any]:
        file, _, line = self.where.rpartition(":")
        return {
            "loc": list(self.loc),
            "msg": self.msg,
            "severity": self.severity,
            "file": file if line.isdigit() else self.where,
            "line": int(line) if line.isdigit() else None,
            "where": self.where,
        }

    def __str__(self) -> str:
        return f"{self.where}: {self.severity}: {self.msg}"


@lru_cache(maxsize=1)
def known_categories() -> frozenset[str]:
    """The fideslang default taxonomy's data category keys."""
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return frozenset(c.fides_key for c in DEFAULT_TAXONOMY.data_category)


def _declared(key: str, declared: Iterable[str]) -> bool:
    # system.* keys describe the system's own data (keys, timestamps), not a person's.
    if key == "system" or key.startswith("system."):
        return True
    return any(key == d or key.startswith(d + ".") for d in declared)


def policy_categories(manifest: Manifest) -> set[str]:
    """The fideslang keys of the data categories a policy version declares."""
    return {c.fides_key for c in manifest.data_categories if c.fides_key}


def lint_dataset(
    parsed: ParsedDataset,
    *,
    engine: Engine | str | None = None,
    declared_categories: Iterable[str] | None = None,
) -> list[LintProblem]:
    """All problems of a dataset, errors first.

    Args:
        parsed: the dataset as loaded by ``load_dataset``.
        engine: the live database to compare with (tables, columns, keys); skipped when None.
        declared_categories: the categories the policy declares; every field category must be
            one of them or below one. When None, only the fideslang taxonomy is checked.
    """
    ds = parsed.dataset
    problems: list[LintProblem] = []

    def add(sev: Literal["error", "warning"], loc: tuple[str | int, ...], msg: str) -> None:
        problems.append(LintProblem(sev, parsed.where(loc), loc, msg))

    for name, n in Counter(c.name for c in ds.collections).items():
        if n > 1:
            add("error", parsed.loc_of_collection(name), f"collection {name} is declared twice")
    taxonomy = known_categories()
    declared = list(declared_categories) if declared_categories is not None else None
    for c in ds.collections:
        cloc = parsed.loc_of_collection(c.name)
        for fname, n in Counter(f.name for f in c.fields).items():
            if n > 1:
                add("error", cloc, f"field {c.name}.{fname} is declared twice")
        if c.timestamp and c.field(c.timestamp) is None:
            add(
                "error", (*cloc, "timestamp"), f"timestamp {c.timestamp} is not a field of {c.name}"
            )
        for f in c.fields:
            floc = parsed.loc_of_field(c.name, f.name)
            for key in f.categories:
                if key not in taxonomy:
                    add(
                        "error",
                        (*floc, "categories"),
                        f"{c.name}.{f.name}: unknown data category {key}",
                    )
                elif declared is not None and not _declared(key, declared):
                    add(
                        "error",
                        (*floc, "categories"),
                        f"{c.name}.{f.name}: data category {key} is not declared by the policy",
                    )
            for ref in f.references:
                target = ds.collection(ref.collection)
                if target is None:
                    add(
                        "error",
                        (*floc, "references"),
                        f"{c.name}.{f.name} references unknown collection {ref.collection}",
                    )
                elif target.field(ref.field) is None:
                    add(
                        "error",
                        (*floc, "references"),
                        f"{c.name}.{f.name} references unknown field {ref.collection}.{ref.field}",
                    )
        if c.erases and not c.primary_key:
            add("error", cloc, f"{c.name} is erased but declares no primary_key field")
        if c.deletes_rows and c.masked_fields:
            add(
                "warning",
                cloc,
                f"{c.name}: rows are deleted, so the field masks of this collection never run",
            )

    for cycle in reference_cycles(ds):
        add(
            "error",
            parsed.loc_of_collection(cycle[0]),
            "reference cycle " + " -> ".join(cycle) + " (erasure cannot order it)",
        )

    all_edges = edges(ds)
    referenced = {(e.target, e.target_field) for e in all_edges}
    for e in all_edges:
        src, tgt = ds.collection(e.source), ds.collection(e.target)
        if src is None or tgt is None:
            continue
        sfield = src.field(e.source_field)
        if (
            tgt.deletes_rows
            and not src.deletes_rows
            and not (sfield and sfield.masking and sfield.masking.strategy == "nullify")
        ):
            add(
                "error",
                parsed.loc_of_field(e.source, e.source_field),
                f"{e.target} rows are deleted but {e.source}.{e.source_field} still references "
                f"them: delete {e.source} rows too, or nullify {e.source}.{e.source_field}",
            )
    for c in ds.collections:
        for f in c.fields:
            if (
                f.masking
                and f.masking.strategy != "delete_row"
                and (f.primary_key or (c.name, f.name) in referenced)
            ):
                add(
                    "error",
                    (*parsed.loc_of_field(c.name, f.name), "masking"),
                    f"{c.name}.{f.name} is a key other rows point to; masking it would break "
                    "the links (delete the row instead)",
                )

    if not ds.identity_types:
        add(
            "error",
            ("dataset", "collections"),
            "no field is an identity: access and erasure have nowhere to start",
        )
    else:
        rank = traversal_rank(ds)
        for c in ds.collections:
            personal = any(k.startswith("user") for f in c.fields for k in f.categories)
            if c.name not in rank and (personal or c.erases):
                add(
                    "error",
                    parsed.loc_of_collection(c.name),
                    f"{c.name} holds personal data but no identity field or reference path "
                    "reaches it",
                )

    if engine is not None:
        problems.extend(_lint_live(parsed, engine))
    problems.sort(key=lambda p: (p.severity != "error", p.where))
    return problems


def _lint_live(parsed: ParsedDataset, engine: Engine | str) -> list[LintProblem]:
    own = isinstance(engine, str)
    eng = sa.create_engine(engine) if isinstance(engine, str) else engine
    problems: list[LintProblem] = []

    def add(sev: Literal["error", "warning"], loc: tuple[str | int, ...], msg: str) -> None:
        problems.append(LintProblem(sev, parsed.where(loc), loc, msg))

    try:
        inspector = sa.inspect(eng)
        tables_by_schema: dict[str | None, set[str]] = {}
        for c in parsed.dataset.collections:
            cloc = parsed.loc_of_collection(c.name)
            if c.schema_name not in tables_by_schema:
                tables_by_schema[c.schema_name] = set(
                    inspector.get_table_names(schema=c.schema_name)
                )
            if c.name not in tables_by_schema[c.schema_name]:
                add("error", cloc, f"table {c.name} does not exist in the database")
                continue
            columns = {col["name"] for col in inspector.get_columns(c.name, schema=c.schema_name)}
            for f in c.fields:
                if f.name not in columns:
                    add(
                        "error",
                        parsed.loc_of_field(c.name, f.name),
                        f"column {c.name}.{f.name} does not exist in the database",
                    )
            db_pk = (
                inspector.get_pk_constraint(c.name, schema=c.schema_name).get("constrained_columns")
                or []
            )
            if c.primary_key and db_pk and sorted(c.primary_key) != sorted(db_pk):
                add(
                    "warning",
                    cloc,
                    f"{c.name}: primary_key fields {c.primary_key} differ from the "
                    f"database's {db_pk}",
                )
            declared_refs = {
                (f.name, r.collection, r.field) for f in c.fields for r in f.references
            }
            names = {x.name for x in parsed.dataset.collections}
            for fk in inspector.get_foreign_keys(c.name, schema=c.schema_name):
                target = fk.get("referred_table")
                for col, ref_col in zip(
                    fk.get("constrained_columns", []),
                    fk.get("referred_columns", []),
                    strict=False,
                ):
                    if target in names and (col, target, ref_col) not in declared_refs:
                        add(
                            "warning",
                            parsed.loc_of_field(c.name, col),
                            f"the database's foreign key {c.name}.{col} -> {target}.{ref_col} "
                            "is not declared as a reference",
                        )
    except sa.exc.OperationalError:
        raise DependencyUnavailable("The database to lint against did not answer.") from None
    finally:
        if own:
            eng.dispose()
    return problems


def raise_for_problems(parsed: ParsedDataset, problems: list[LintProblem]) -> None:
    """Raise InvalidInput listing the problems when any is an error."""
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InvalidInput(
            f"Dataset {parsed.doc.source} has {len(errors)} error(s).",
            details=[p.to_detail() for p in problems],
        )
