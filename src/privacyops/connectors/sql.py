"""SQL connector: finds, returns and erases a person's rows in any database SQLAlchemy reaches.

Access walks the dataset's reference graph from the person's identities, one set-based query
per collection (``WHERE field IN (…)`` with bound parameters), visiting collections in
dependency order and following references both ways until no new key turns up. Erasure does
the same walk inside one transaction, then masks fields (one ``UPDATE … WHERE key IN`` for
constant masks, one batched statement for per-row masks) and deletes rows children-first, the
order foreign keys require.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from privacyops.connectors.base import ConnectorResult, Identities, normalise_identities
from privacyops.connectors.dataset import Collection, Dataset
from privacyops.connectors.graph import edges, erasure_order, traversal_rank
from privacyops.connectors.masking import strategy_for
from privacyops.errors import (
    ConfigurationError,
    Conflict,
    DependencyUnavailable,
    InvalidInput,
)

__all__ = ["SQLConnector", "make_engine"]

# Bound parameters per statement: well under SQLite's 32,766 and PostgreSQL's 65,535.
_MAX_PARAMS = 2000

RowKey = tuple[Any, ...]


def make_engine(url: str) -> Engine:
    """An engine for a connected database. SQLite gets ``PRAGMA foreign_keys=ON`` so that it
    enforces the same constraints erasure must respect elsewhere.

    No pre-ping (it would cost a round trip per request): a connection the server dropped
    fails one call with ``DependencyUnavailable``, SQLAlchemy then discards the pool, and the
    caller's retry gets a fresh connection; connections are recycled after 30 minutes.
    """
    engine = sa.create_engine(url, pool_recycle=1800)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _fk_on(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    return engine


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class SQLConnector:
    """Access and erasure over one database described by a dataset.

    Args:
        dataset: the validated dataset (``load_dataset(...).dataset``); lint it first.
        engine: an engine or URL of the database.
        salt: key of the ``hash`` masking strategy; required only when a field uses it.
        name: the connector's name in results; default the dataset's ``system`` or ``name``.
    """

    kind = "sql"

    def __init__(
        self,
        dataset: Dataset,
        engine: Engine | str,
        *,
        salt: bytes | None = None,
        name: str | None = None,
    ) -> None:
        self.dataset = dataset
        self.engine = make_engine(engine) if isinstance(engine, str) else engine
        self.salt = salt
        self.name = name or dataset.system or dataset.name
        self._tables = {c.name: self._table(c) for c in dataset.collections}
        self._edges = edges(dataset)
        self._rank = traversal_rank(dataset)
        self._erase_order = erasure_order(dataset)
        self._collections = {c.name: c for c in dataset.collections}
        self._identity_types: dict[tuple[str, str], type] | None = None
        if salt is None and any(
            f.masking and f.masking.strategy == "hash"
            for c in dataset.collections
            for f in c.fields
        ):
            raise ConfigurationError(
                f"Dataset {dataset.name} masks with 'hash' but no salt is configured "
                "(PRIVACYOPS_CONNECTOR_HASH_SALT)."
            )

    def __repr__(self) -> str:
        return f"<SQLConnector {self.name} dialect={self.engine.dialect.name}>"

    @staticmethod
    def _table(c: Collection) -> sa.TableClause:
        return sa.table(c.name, *(sa.column(f.name) for f in c.fields), schema=c.schema_name)

    # --- public API ---------------------------------------------------------------------

    def access(
        self,
        identities: Identities,
        *,
        request_ref: str | None = None,
        subject_ref: str | None = None,
        session: Session | None = None,
    ) -> ConnectorResult:
        """Every declared field of every row reachable from ``identities``."""
        with self._connect() as conn:
            found = self._traverse(conn, identities)
        records = {
            name: [{k: _jsonable(v) for k, v in row.items()} for row in rows.values()]
            for name, rows in found.items()
            if rows
        }
        total = sum(len(v) for v in records.values())
        return ConnectorResult(
            connector=self.name,
            kind=self.kind,
            action="access",
            records=records,
            note=f"{total} record(s) in {len(records)} table(s).",
        )

    def erase(
        self,
        identities: Identities,
        *,
        request_ref: str | None = None,
        subject_ref: str | None = None,
        session: Session | None = None,
    ) -> ConnectorResult:
        """Mask or delete, in one transaction, the rows reachable from ``identities``."""
        affected: dict[str, int] = {}
        with self._connect(begin=True) as conn:
            found = self._traverse(conn, identities)
            for name in self._erase_order:
                rows = found.get(name)
                collection = self._collections[name]
                if not rows or not collection.erases:
                    continue
                affected[name] = self._erase_collection(conn, collection, rows)
        total = sum(affected.values())
        return ConnectorResult(
            connector=self.name,
            kind=self.kind,
            action="erasure",
            affected=affected,
            note=f"{total} record(s) erased in {len(affected)} table(s).",
        )

    def rectify(
        self,
        identities: Identities,
        changes: Mapping[str, str],
        *,
        request_ref: str | None = None,
        subject_ref: str | None = None,
        session: Session | None = None,
    ) -> ConnectorResult:
        """Write corrected values (GDPR Art. 16), in one transaction, into the rows reachable
        from ``identities``: ``changes`` maps a data category (``user.name``) to its corrected
        value, and every declared field of that category gets it. Key and reference fields are
        never changed (they tie the rows together)."""
        affected: dict[str, int] = {}
        with self._connect(begin=True) as conn:
            found = self._traverse(conn, identities)
            for name, rows in found.items():
                collection = self._collections[name]
                values = self._corrections(collection, changes)
                if rows and values:
                    affected[name] = self._update_rows(conn, collection, rows, values)
        total = sum(affected.values())
        return ConnectorResult(
            connector=self.name,
            kind=self.kind,
            action="rectification",
            affected=affected,
            note=f"{total} record(s) corrected in {len(affected)} table(s).",
        )

    @staticmethod
    def _corrections(collection: Collection, changes: Mapping[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for f in collection.fields:
            if f.primary_key or f.references:
                continue
            for category in f.categories:
                if category in changes:
                    out[f.name] = changes[category]
                    break
        return out

    def _update_rows(
        self,
        conn: Connection,
        collection: Collection,
        rows: dict[RowKey, dict[str, Any]],
        values: dict[str, str],
    ) -> int:
        self._need_primary_key(collection, "rectification")
        table = self._tables[collection.name]
        keys = list(rows)
        try:
            for chunk in _chunks(keys, 1000):
                conn.execute(
                    sa.update(table).where(self._key_clause(collection, chunk)).values(**values)
                )
        except sa.exc.IntegrityError:
            raise Conflict(
                f"The correction in {collection.name} of {self.name} was refused by a database "
                "constraint."
            ) from None
        except sa.exc.OperationalError:
            raise DependencyUnavailable(f"The database of {self.name} did not answer.") from None
        except sa.exc.DBAPIError:
            raise InvalidInput(
                f"{self.name} refused a corrected value for {collection.name} (wrong type or "
                "too long)."
            ) from None
        return len(keys)

    # --- traversal ----------------------------------------------------------------------

    def _connect(self, *, begin: bool = False) -> Any:
        try:
            if begin:
                return self.engine.begin()
            if self.engine.dialect.name == "postgresql":
                # Access only reads. Under READ COMMITTED every statement takes its own
                # snapshot anyway, so autocommit changes nothing but saves the BEGIN and
                # ROLLBACK round trips.
                return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            return self.engine.connect()
        except sa.exc.OperationalError:
            raise DependencyUnavailable(f"The database of {self.name} did not answer.") from None

    def _identity_python_types(self, conn: Connection) -> dict[tuple[str, str], type]:
        """Python types of the identity columns, read once from the database, so that an
        identity given as text ("42") is compared with an integer column as an integer."""
        if self._identity_types is None:
            types: dict[tuple[str, str], type] = {}
            inspector = sa.inspect(conn)
            for c in self.dataset.collections:
                wanted = {f.name for f in c.fields if f.identity}
                if not wanted:
                    continue
                try:
                    columns = inspector.get_columns(c.name, schema=c.schema_name)
                except sa.exc.NoSuchTableError:
                    continue
                for col in columns:
                    if col["name"] in wanted:
                        try:
                            types[(c.name, col["name"])] = col["type"].python_type
                        except NotImplementedError:
                            types[(c.name, col["name"])] = str
            self._identity_types = types
        return self._identity_types

    def _row_key(self, collection: Collection, row: dict[str, Any]) -> RowKey:
        pk = collection.primary_key
        if pk:
            return tuple(row[k] for k in pk)
        return tuple(_hashable(v) for v in row.values())

    def _traverse(
        self, conn: Connection, identities: Identities
    ) -> dict[str, dict[RowKey, dict[str, Any]]]:
        ids = normalise_identities(identities)
        found: dict[str, dict[RowKey, dict[str, Any]]] = {c: {} for c in self._collections}
        covered: dict[tuple[str, str], set[Any]] = defaultdict(set)
        pending: dict[tuple[str, str], set[Any]] = defaultdict(set)
        types = self._identity_python_types(conn) if ids else {}
        for c in self.dataset.collections:
            for f in c.fields:
                if f.identity and f.identity in ids:
                    wanted = types.get((c.name, f.name), str)
                    for value in ids[f.identity]:
                        if wanted is int:
                            if value.strip().lstrip("-").isdigit():
                                pending[(c.name, f.name)].add(int(value))
                        else:
                            pending[(c.name, f.name)].add(value)
        while pending:
            name = min({c for c, _ in pending}, key=lambda c: (self._rank.get(c, 1 << 30), c))
            collection = self._collections[name]
            conditions: dict[str, list[Any]] = {}
            for key in [k for k in pending if k[0] == name]:
                values = pending.pop(key) - covered[key]
                covered[key].update(values)
                if values:
                    conditions[key[1]] = list(values)
            if not conditions:
                continue
            new_rows = []
            for row in self._select(conn, collection, conditions):
                key = self._row_key(collection, row)
                if key not in found[name]:
                    found[name][key] = row
                    new_rows.append(row)
            if not new_rows:
                continue
            pk = collection.primary_key
            if len(pk) == 1:  # a unique key: every row with these values is already found
                covered[(name, pk[0])].update(r[pk[0]] for r in new_rows)
            for e in self._edges:
                for here, there, there_field, here_field in (
                    (e.source, e.target, e.target_field, e.source_field),
                    (e.target, e.source, e.source_field, e.target_field),
                ):
                    if here != name:
                        continue
                    values = {
                        _hashable(r[here_field]) for r in new_rows if r[here_field] is not None
                    }
                    values -= covered[(there, there_field)]
                    if values:
                        pending[(there, there_field)].update(values)
        return found

    def _select(
        self, conn: Connection, collection: Collection, conditions: dict[str, list[Any]]
    ) -> Iterable[dict[str, Any]]:
        table = self._tables[collection.name]
        pieces = [(f, chunk) for f, vals in conditions.items() for chunk in _chunks(vals, 1000)]
        batch: list[tuple[str, list[Any]]] = []
        size = 0
        for piece in [*pieces, None]:
            if piece is not None and size + len(piece[1]) <= _MAX_PARAMS:
                batch.append(piece)
                size += len(piece[1])
                continue
            if batch:
                where = sa.or_(*(table.c[f].in_(vals) for f, vals in batch))
                stmt = sa.select(*table.c).where(where)
                try:
                    result = conn.execute(stmt)
                except sa.exc.OperationalError:
                    raise DependencyUnavailable(
                        f"The database of {self.name} did not answer."
                    ) from None
                except sa.exc.DBAPIError:
                    raise ConfigurationError(
                        f"Dataset {self.dataset.name} does not match its database "
                        f"(table {collection.name}); run `privacyops dataset lint`."
                    ) from None
                yield from (dict(r._mapping) for r in result)
            if piece is not None:
                batch, size = [piece], len(piece[1])

    # --- erasure ------------------------------------------------------------------------

    def _need_primary_key(self, collection: Collection, act: str) -> None:
        """Rows are changed by their primary key: a collection without one cannot be."""
        if not collection.primary_key:
            raise ConfigurationError(
                f"Collection {collection.name} of dataset {self.dataset.name} has no primary "
                f"key field; {act} needs one."
            )

    def _key_clause(self, collection: Collection, keys: list[RowKey]) -> Any:
        table = self._tables[collection.name]
        pk = collection.primary_key
        if len(pk) == 1:
            return table.c[pk[0]].in_([k[0] for k in keys])
        return sa.tuple_(*(table.c[k] for k in pk)).in_(keys)

    def _erase_collection(
        self, conn: Connection, collection: Collection, rows: dict[RowKey, dict[str, Any]]
    ) -> int:
        self._need_primary_key(collection, "erasure")
        table = self._tables[collection.name]
        keys = list(rows)
        count = 0
        try:
            if collection.deletes_rows:
                for chunk in _chunks(keys, 1000):
                    conn.execute(sa.delete(table).where(self._key_clause(collection, chunk)))
                    count += len(chunk)
                return count
            salt = self.salt or b""
            strategies = {
                f.name: strategy_for(f.masking, salt)
                for f in collection.masked_fields
                if f.masking is not None
            }
            constant = {n: s.mask(None) for n, s in strategies.items() if s.constant}
            per_row = {n: s for n, s in strategies.items() if not s.constant}
            if constant:
                for chunk in _chunks(keys, 1000):
                    conn.execute(
                        sa.update(table)
                        .where(self._key_clause(collection, chunk))
                        .values(**constant)
                    )
            if per_row:
                pk = collection.primary_key
                stmt = (
                    sa.update(table)
                    .where(*(table.c[k] == sa.bindparam(f"k_{k}") for k in pk))
                    .values({n: sa.bindparam(f"v_{n}") for n in per_row})
                )
                params = [
                    {
                        **{f"k_{k}": row[k] for k in pk},
                        **{f"v_{n}": s.mask(row[n]) for n, s in per_row.items()},
                    }
                    for row in rows.values()
                ]
                conn.execute(stmt, params)
            return len(keys)
        except sa.exc.IntegrityError:
            raise Conflict(
                f"Erasure in {collection.name} of {self.name} was refused by a database "
                "constraint (a table not in the dataset still references these rows)."
            ) from None
        except sa.exc.OperationalError:
            raise DependencyUnavailable(f"The database of {self.name} did not answer.") from None
