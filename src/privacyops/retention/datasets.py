"""Retention in connected SQL databases: rows of a dataset collection whose ``timestamp``
column is past the retention period are deleted or masked with the dataset's strategies.

A dataset follows the retention rule of the policy channel it belongs to: its ``system`` (or,
failing that, its ``name``) must be a channel id of the manifest in force (``customer``,
``event``...); otherwise it is reported and left alone. Rows whose timestamp is null or not a
date are reported ("age unknown"), never touched.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from privacyops.audit import AuditLog, NewEvent
from privacyops.audit import actions as audit_actions
from privacyops.connectors import SQLConnector
from privacyops.connectors.dataset import Collection
from privacyops.connectors.masking import strategy_for
from privacyops.policy.retention_rules import EffectiveRule, resolve_rule
from privacyops.policy.schema import PolicyBook

__all__ = ["DatasetReport", "sweep_datasets"]


@dataclass
class DatasetReport:
    """What one collection of a connected database held and what the sweep did to it."""

    connector: str
    collection: str
    rule: str | None
    problem: str | None = None
    expired: int = 0
    erased: int = 0
    action: str = ""
    undetermined: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _channel_rule(connector: SQLConnector, book: PolicyBook) -> EffectiveRule | str:
    current = book.current
    ids = {c.id for c in current.channels}
    for name in (connector.dataset.system, connector.dataset.name):
        if not name:
            continue
        slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        if slug in ids:
            rule = resolve_rule(book, slug, current.version.id).rule
            if rule is not None:
                return rule
    return (
        f"dataset {connector.dataset.name}: its system/name is not a channel of policy "
        f"{current.version.id} ({', '.join(sorted(ids))}), so no retention rule applies"
    )


def _table(c: Collection) -> sa.TableClause:
    return sa.table(c.name, *(sa.column(f.name) for f in c.fields), schema=c.schema_name)


def _expiry(
    conn: sa.Connection, c: Collection, table: sa.TableClause, cutoff: datetime
) -> tuple[sa.ColumnElement[bool] | None, sa.ColumnElement[bool] | None, str | None]:
    """(expired condition, not-a-date condition, problem) for a collection's timestamp."""
    column = table.c[c.timestamp or ""]
    naive = cutoff.astimezone(UTC).replace(tzinfo=None)
    if conn.dialect.name == "sqlite":
        text = naive.strftime("%Y-%m-%d %H:%M:%S")
        day = sa.func.julianday(column)
        return day <= sa.func.julianday(text), sa.and_(column.is_not(None), day.is_(None)), None
    inspected = {
        col["name"]: col["type"]
        for col in sa.inspect(conn).get_columns(c.name, schema=c.schema_name)
    }
    kind = inspected.get(c.timestamp or "")
    if not isinstance(kind, sa.DateTime | sa.Date):
        return (
            None,
            None,
            (f"{c.name}.{c.timestamp} is not a date/time column ({kind}): ages unknown"),
        )
    aware = isinstance(kind, sa.DateTime) and bool(kind.timezone)
    bound = sa.bindparam("cutoff", cutoff if aware else naive, type_=kind)
    return column <= bound, None, None


def sweep_datasets(
    connectors: list[SQLConnector],
    book: PolicyBook,
    *,
    as_of: datetime,
    dry_run: bool = False,
    audit: AuditLog | None = None,
    actor: str = "job:retention",
    chunk_size: int = 1000,
) -> list[DatasetReport]:
    """Apply retention to every collection with a ``timestamp`` of every SQL connector."""
    reports: list[DatasetReport] = []
    for connector in connectors:
        found = _channel_rule(connector, book)
        for c in connector.dataset.collections:
            if not c.timestamp:
                continue
            if isinstance(found, str):
                reports.append(DatasetReport(connector.name, c.name, None, found))
                continue
            report = DatasetReport(connector.name, c.name, found.describe())
            reports.append(report)
            _sweep_collection(connector, c, found, report, as_of, dry_run, chunk_size)
            if audit is not None and report.erased:
                audit.append_many(
                    [
                        NewEvent(
                            audit_actions.RETENTION_BATCH,
                            actor=actor,
                            reason=found.describe(),
                            details={
                                "connector": connector.name,
                                "collection": c.name,
                                "action": report.action,
                                "rows": report.erased,
                                "as_of": as_of,
                            },
                        )
                    ]
                )
    return reports


def _sweep_collection(
    connector: SQLConnector,
    c: Collection,
    rule: EffectiveRule,
    report: DatasetReport,
    as_of: datetime,
    dry_run: bool,
    chunk_size: int,
) -> None:
    table = _table(c)
    cutoff = rule.cutoff(as_of)
    with connector.engine.connect() as conn:
        expired, not_a_date, problem = _expiry(conn, c, table, cutoff)
        ts = table.c[c.timestamp or ""]
        unknown = ts.is_(None) if not_a_date is None else sa.or_(ts.is_(None), not_a_date)
        report.undetermined = int(
            conn.execute(sa.select(sa.func.count()).select_from(table).where(unknown)).scalar_one()
        )
        if expired is None:
            report.problem = problem
            report.undetermined = int(
                conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            )
            return
        report.expired = int(
            conn.execute(sa.select(sa.func.count()).select_from(table).where(expired)).scalar_one()
        )
    if dry_run or not report.expired or not c.erases:
        if not c.erases:
            report.problem = f"{c.name} declares no masking: expired rows kept"
        return
    pk = [table.c[k] for k in c.primary_key]
    if not pk:
        report.problem = f"{c.name} has no primary key field: expired rows kept"
        return
    key = pk[0] if len(pk) == 1 else sa.tuple_(*pk)
    if c.deletes_rows:
        report.action = "delete_row"
        while True:
            with connector.engine.begin() as conn:
                batch = sa.select(*pk).where(expired).limit(chunk_size)
                if len(pk) == 1:
                    batch_rows = conn.execute(batch).scalars().all()
                    done = conn.execute(sa.delete(table).where(pk[0].in_(batch_rows))).rowcount
                else:
                    keys = [tuple(r) for r in conn.execute(batch).all()]
                    done = conn.execute(sa.delete(table).where(key.in_(keys))).rowcount
            report.erased += done
            if done < chunk_size:
                return
    report.action = "mask"
    strategies = {
        f.name: strategy_for(f.masking, connector.salt or b"")
        for f in c.masked_fields
        if f.masking is not None
    }
    constant = {n: s.mask(None) for n, s in strategies.items() if s.constant}
    per_row = {n: s for n, s in strategies.items() if not s.constant}
    # Rows already masked are left alone (idempotent), judged by the constant strategies.
    pending = [
        table.c[n].is_not(None) if v is None else table.c[n].is_distinct_from(v)
        for n, v in constant.items()
    ]
    todo = sa.and_(expired, sa.or_(*pending)) if pending else expired
    after: Any = None
    while True:
        with connector.engine.begin() as conn:
            query = sa.select(*pk, *(table.c[n] for n in per_row)).where(todo)
            if not pending:  # nothing shows a row is done: walk the keys once instead
                if after is not None:
                    query = query.where(key > after)
                query = query.order_by(*pk)
            rows = conn.execute(query.limit(chunk_size)).all()
            if not rows:
                return
            for row in rows:
                values: dict[str, Any] = dict(constant)
                for offset, (name, strategy) in enumerate(per_row.items()):
                    values[name] = strategy.mask(row[len(pk) + offset])
                where = [col == row[i] for i, col in enumerate(pk)]
                conn.execute(sa.update(table).where(*where).values(**values))
        report.erased += len(rows)
        after = rows[-1][0] if len(pk) == 1 else sa.tuple_(*rows[-1][: len(pk)])
        if len(rows) < chunk_size:
            return
