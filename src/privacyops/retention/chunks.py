"""One chunk of a sweep in SQL: pick the expired records of a group, delete or anonymise them
in one statement, and crypto-shred the subjects left with nothing.

A chunk is two statements of set-based SQL: one picks the chunk and deletes or anonymises it,
returning the records' subjects (``DELETE/UPDATE ... RETURNING``); one marks those subjects left
without any record erased, returning them (``UPDATE ... RETURNING``; on PostgreSQL it also
deletes their identities and, when the keys are a table of the same database, their keys). A
key store with a database of its own commits the keys' destruction before the chunk commits,
so no committed erasure ever has a live key. No record becomes an ORM object: PostgreSQL
returns one row of sums per chunk, SQLite the ids and subject ids.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal, _TraverseInternalsType

from privacyops.policy.retention_rules import EffectiveRule
from privacyops.store.db import Database
from privacyops.store.keys import subject_keys
from privacyops.store.models import (
    DataSubject,
    Identity,
    LegalHold,
    PersonalDataRecord,
    ProcessingRestriction,
)

__all__ = [
    "KEEPING_GROUNDS",
    "active_hold_terms",
    "active_holds",
    "apply_chunk",
    "erase_orphans",
    "holds_table",
    "keeping_restriction_terms",
    "keeping_restrictions",
    "not_kept",
    "records_table",
    "restrictions_table",
]

#: Restriction grounds under which expired data is kept, not erased (Art. 18(1)(b) and (c)).
KEEPING_GROUNDS = ("legal_claims", "unlawful_processing")

records_table = cast(sa.Table, PersonalDataRecord.__table__)
_subjects = cast(sa.Table, DataSubject.__table__)
_identities = cast(sa.Table, Identity.__table__)
holds_table = cast(sa.Table, LegalHold.__table__)
restrictions_table = cast(sa.Table, ProcessingRestriction.__table__)


def among(db: Database, column: sa.ColumnElement[Any], ids: list[int]) -> sa.ColumnElement[bool]:
    """``column IN ids`` as ONE bound parameter (a chunk has thousands of ids): a PostgreSQL
    array, or a JSON list SQLite unpacks with ``json_each``."""
    if db.dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(ids), type_=ARRAY(sa.BigInteger)))
    values = sa.func.json_each(sa.bindparam(None, json.dumps(list(ids)), type_=sa.Text))
    return column.in_(sa.select(values.table_valued("value").c.value))


class _ArrayOf(sa.ColumnElement[Any]):
    """PostgreSQL's ``ARRAY(subquery)``: the rows of a one-column subquery as one array."""

    inherit_cache = True
    # the type SQLAlchemy's traversal protocol declares (a list, as in SQLAlchemy's own
    # elements), so not a ClassVar
    _traverse_internals: _TraverseInternalsType = [  # noqa: RUF012 - see above
        ("query", InternalTraversal.dp_clauseelement)
    ]

    def __init__(self, query: sa.Select[Any]) -> None:
        self.query = query


@compiles(_ArrayOf, "postgresql")
def _compile_array_of(element: _ArrayOf, compiler: SQLCompiler, **kw: Any) -> str:
    return f"ARRAY({compiler.process(element.query, **kw)})"


def active_hold_terms(moment: datetime) -> list[sa.ColumnElement[bool]]:
    return [
        holds_table.c.lifted_at.is_(None),
        sa.or_(holds_table.c.until.is_(None), holds_table.c.until > moment),
    ]


def not_kept(moment: datetime) -> sa.ColumnElement[bool]:
    """The record is not kept past ``moment`` by an erasure's Art. 17(3) exception."""
    return sa.or_(records_table.c.keep_until.is_(None), records_table.c.keep_until <= moment)


def keeping_restriction_terms() -> list[sa.ColumnElement[bool]]:
    return [
        restrictions_table.c.lifted_at.is_(None),
        restrictions_table.c.ground.in_(KEEPING_GROUNDS),
    ]


def active_holds(moment: datetime) -> sa.Select[Any]:
    return sa.select(holds_table.c.subject_id).where(*active_hold_terms(moment))


def keeping_restrictions() -> sa.Select[Any]:
    return sa.select(restrictions_table.c.subject_id).where(*keeping_restriction_terms())


def apply_chunk(
    db: Database,
    conn: sa.Connection,
    rule: EffectiveRule | None,
    pick: sa.Select[Any],
    now: datetime,
) -> tuple[int, int, int, list[int]]:
    """Delete or anonymise (as ``rule`` says; no rule: delete) the chunk ``pick`` selects, in
    one statement; returns how many records, the first and last id, and their subjects (sorted,
    distinct)."""
    if db.dialect == "postgresql":
        # the picked rows' physical addresses: the change reaches them by a TID scan
        # instead of an index probe per row (a row another transaction updates in between
        # moves to a new address and is left for the next run, never changed unchecked)
        ctid: sa.ColumnElement[Any] = sa.literal_column("ctid")
        chosen = ctid == sa.any_(_ArrayOf(pick.with_only_columns(ctid)))
    else:
        chosen = records_table.c.id.in_(pick.scalar_subquery())
    if rule is None or rule.deletes:
        change: Any = sa.delete(records_table).where(chosen)
    else:
        # Anonymise: what identified the person (payload, source) goes, the statistics stay.
        change = (
            sa.update(records_table)
            .where(chosen)
            .values(
                payload_sealed=None,
                source_system=None,
                last_contact_at=None,
                last_event_registration_at=None,
                last_service_delivery_at=None,
                anonymised_at=now,
                updated_at=now,
            )
        )
    change = change.returning(records_table.c.id, records_table.c.subject_id)
    if db.dialect == "postgresql":
        # the rows never come to Python: the server sums them up in the same statement
        gone = change.cte("gone")
        row = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.min(gone.c.id),
                sa.func.max(gone.c.id),
                sa.func.array_agg(sa.distinct(gone.c.subject_id)),
            )
        ).one()
        return int(row[0]), int(row[1] or 0), int(row[2] or 0), sorted(row[3] or [])
    rows = conn.execute(change).all()
    if not rows:
        return 0, 0, 0, []
    ids = [r[0] for r in rows]
    return len(ids), min(ids), max(ids), sorted({r[1] for r in rows})


def erase_orphans(
    db: Database, conn: sa.Connection, candidates: list[int], now: datetime
) -> list[str]:
    """Crypto-shred the candidates left without any record that is not anonymised: key
    destroyed, identities deleted, subject marked erased; returns their public ids."""
    if not candidates:
        return []
    keys = db.key_store
    erase = (
        sa.update(_subjects)
        .where(
            among(db, _subjects.c.id, candidates),
            _subjects.c.erased_at.is_(None),
            ~sa.exists().where(
                records_table.c.subject_id == _subjects.c.id,
                records_table.c.anonymised_at.is_(None),
            ),
        )
        .values(erased_at=now)
        .returning(_subjects.c.id, _subjects.c.public_id)
    )
    if db.dialect == "postgresql":
        # one statement: mark erased, delete identities and (when the keys are a table of
        # this database) the keys, atomically in this transaction
        erased = erase.cte("erased")
        query = sa.select(erased.c.public_id).add_cte(
            sa.delete(_identities)
            .where(_identities.c.subject_id.in_(sa.select(erased.c.id)))
            .cte("identities_gone")
        )
        if keys.shared:
            query = query.add_cte(
                sa.delete(subject_keys)
                .where(subject_keys.c.public_id.in_(sa.select(erased.c.public_id)))
                .cte("keys_gone")
            )
        public_ids = [str(p) for p in conn.execute(query).scalars()]
        if not keys.shared:
            # Crypto-shredding: the keys' own database commits before this transaction
            keys.destroy(public_ids, purge=False)
        return public_ids
    rows = conn.execute(erase).all()
    if not rows:
        return []
    public_ids = [str(r[1]) for r in rows]
    # Crypto-shredding: the keys go first (their own database commits before this
    # transaction does); from here every copy of their data is ciphertext.
    if keys.shared:
        keys.destroy(public_ids, purge=False, connection=conn)
    else:
        keys.destroy(public_ids, purge=False)
    conn.execute(
        sa.delete(_identities).where(among(db, _identities.c.subject_id, [r[0] for r in rows]))
    )
    return public_ids
