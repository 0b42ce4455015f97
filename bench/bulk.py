"""Filling large benchmark databases fast: raw bulk writes that bypass the ORM.

:func:`postgres_database` gives a scenario its own throw-away PostgreSQL schema when
``PRIVACYOPS_BENCH_POSTGRES_URL`` is set.

:func:`bulk` gives the driver's own cursor inside one transaction (SQLite ``executemany``,
PostgreSQL ``COPY``): the set-up of a scenario with millions of rows takes seconds to minutes
instead of the hour the Registry API would. Set-up only: nothing written here is measured.

:func:`fill_registry` writes whole registries this way, each subject exactly as
:meth:`privacyops.store.Registry.ingest_many` would store it (a random data key wrapped by the
master key in the key store, identities found by blind index and sealed, the record's payload
sealed, all under the subject's key); :func:`check_registry` then reads a sample back through
the Registry API, so a scenario proves the shortcut stored what the API would have.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from privacyops.identities import identifies, normalise_identity
from privacyops.store import Database, Registry, Submission, new_key, seal_many, utcnow

__all__ = [
    "IDENTITY_COLUMNS",
    "KEY_COLUMNS",
    "RECORD_COLUMNS",
    "SUBJECT_COLUMNS",
    "Bulk",
    "analyze",
    "bulk",
    "check_registry",
    "checkpoint",
    "fill_registry",
    "postgres_database",
]


class Bulk:
    """The driver cursor of one open transaction, with the helpers bulk writers need."""

    def __init__(self, cursor: Any, dialect: str) -> None:
        self.cursor = cursor
        self.sqlite = dialect == "sqlite"

    def ts(self, moment: datetime | None) -> object:
        """A timestamp as the column stores it (SQLite: naive UTC text, as ``UTCDateTime``)."""
        if moment is None or not self.sqlite:
            return moment
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        """Write rows (values in ``columns`` order; JSON columns as JSON text)."""
        names = ", ".join(columns)
        if self.sqlite:
            marks = ", ".join("?" for _ in columns)
            self.cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            return
        with self.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def max_id(self, table: str) -> int:
        """The largest ``id`` in a table (0 when empty)."""
        self.cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        return int(self.cursor.fetchone()[0])

    def sync_ids(self, *tables: str) -> None:
        """After explicit ids: move PostgreSQL's id sequences past them (SQLite needs nothing)."""
        if self.sqlite:
            return
        for table in tables:
            self.cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )


@contextmanager
def bulk(engine: Engine) -> Iterator[Bulk]:
    """A :class:`Bulk` writer in one transaction of ``engine`` (committed at the end)."""
    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        if raw is None:
            raise SystemExit("no database connection")
        cursor = raw.cursor()
        try:
            yield Bulk(cursor, engine.dialect.name)
        finally:
            cursor.close()


def postgres_database(master_key: bytes) -> Iterator[Database]:
    """A migrated :class:`Database` in a fresh schema of ``PRIVACYOPS_BENCH_POSTGRES_URL``,
    dropped afterwards; yields nothing when the variable is unset (``for db in ...:``)."""
    url = os.environ.get("PRIVACYOPS_BENCH_POSTGRES_URL")
    if not url:
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        db = Database(
            sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}),
            master_key=master_key,
        )
        db.upgrade()
        yield db
        db.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def analyze(db: Database) -> None:
    """PostgreSQL: ``VACUUM ANALYZE`` after a bulk fill, as autovacuum soon would (SQLite: none,
    as the embedded default never gathers statistics)."""
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


def checkpoint(db: Database) -> None:
    """Write the fill out before anything is timed, so that no measurement pays for it:
    PostgreSQL ``CHECKPOINT``; SQLite, the WAL of the database and the key store moved in."""
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("CHECKPOINT")
    for engine in dict.fromkeys((db.engine, db.key_store.engine)):
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


#: Columns of the registry tables, in the order the bulk writers give values.
SUBJECT_COLUMNS = ("id", "public_id", "created_at")
IDENTITY_COLUMNS = (
    "id",
    "subject_id",
    "kind",
    "blind_index",
    "value_sealed",
    "identifies",
    "created_at",
)
RECORD_COLUMNS = (
    "id",
    "subject_id",
    "channel",
    "data_categories",
    "purposes",
    "legal_basis",
    "policy_version",
    "collected_at",
    "last_contact_at",
    "last_event_registration_at",
    "last_service_delivery_at",
    "source_system",
    "payload_sealed",
    "updated_at",
)
KEY_COLUMNS = ("public_id", "wrapped_key", "created_at")


def fill_registry(
    db: Database,
    count: int,
    submission: Callable[[int], Submission],
    *,
    batch: int = 50_000,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Store ``submission(i)`` for ``i`` in ``range(count)``, each as a new subject.

    The rows are those :meth:`Registry.ingest_many` writes for submissions whose identities are
    all new and distinct (the caller's promise: nothing is looked up or merged). One transaction
    per ``batch`` subjects; the wrapped keys go to the key store first, as the API does.
    """
    ring = db.keyring
    with bulk(db.engine) as out:
        subject_id = out.max_id("data_subjects")
        identity_id = out.max_id("identities")
        record_id = out.max_id("personal_data_records")
    for low in range(0, count, batch):
        keys: dict[str, bytes] = {}
        subjects: list[tuple[object, ...]] = []
        identities: list[tuple[object, ...]] = []
        records: list[tuple[object, ...]] = []
        with bulk(db.engine) as out:
            now = utcnow()
            stamp = out.ts(now)
            for i in range(low, min(low + batch, count)):
                given = submission(i)
                record = given.record
                public_id = secrets.token_hex(16)
                key = keys[public_id] = new_key()
                owner = public_id.encode()
                normal = [(x.kind, normalise_identity(x.kind, x.value)) for x in given.identities]
                payload = json.dumps(dict(record.payload), separators=(",", ":")).encode()
                sealed = seal_many(
                    key,
                    [(value.encode(), b"identity:" + owner) for _, value in normal]
                    + [(payload, b"record:" + owner)],
                )
                subject_id += 1
                record_id += 1
                subjects.append((subject_id, public_id, stamp))
                for (kind, value), value_sealed in zip(normal, sealed, strict=False):
                    identity_id += 1
                    index = ring.blind_index(kind, value)
                    identities.append(
                        (
                            identity_id,
                            subject_id,
                            kind,
                            index,
                            value_sealed,
                            identifies(kind),
                            stamp,
                        )
                    )
                records.append(
                    (
                        record_id,
                        subject_id,
                        record.channel,
                        json.dumps(list(record.data_categories)),
                        json.dumps(list(record.purposes)),
                        record.legal_basis,
                        record.policy_version,
                        out.ts(record.collected_at or now),
                        out.ts(record.last_contact_at),
                        out.ts(record.last_event_registration_at),
                        out.ts(record.last_service_delivery_at),
                        record.source_system,
                        sealed[-1],
                        stamp,
                    )
                )
            with bulk(db.key_store.engine) as key_out:
                key_out.insert(
                    "subject_keys",
                    KEY_COLUMNS,
                    [(p, w, key_out.ts(now)) for p, w in ring.wrap_many(keys).items()],
                )
            out.insert("data_subjects", SUBJECT_COLUMNS, subjects)
            out.insert("identities", IDENTITY_COLUMNS, identities)
            out.insert("personal_data_records", RECORD_COLUMNS, records)
            out.sync_ids("data_subjects", "identities", "personal_data_records")
        if progress is not None:
            progress(min(low + batch, count))
    analyze(db)
    checkpoint(db)


def check_registry(
    db: Database, count: int, submission: Callable[[int], Submission], *, sample: int = 200
) -> int:
    """Read ``sample`` random subjects of a :func:`fill_registry` back through the Registry API:
    each found by every identity, its identities and its record decrypted and equal to what
    ``submission(i)`` gave. Returns how many were checked.

    Raises:
        SystemExit: a subject is missing or reads back differently.
    """
    registry = Registry(db)
    rng = random.Random(4)
    inner = rng.sample(range(1, count - 1), max(0, min(sample, count) - 2))
    picks = sorted({0, count - 1, *inner})
    for i in picks:
        given = submission(i)
        found = {registry.find_subject(x.kind, x.value) for x in given.identities}
        subject = found.pop() if len(found) == 1 else None
        if subject is None:
            raise SystemExit(f"bulk-filled subject {i} is not found by its identities")
        expected = [(x.kind, normalise_identity(x.kind, x.value)) for x in given.identities]
        records = registry.records_for(subject)
        if (
            registry.identities_of(subject) != expected
            or len(records) != 1
            or records[0].payload != dict(given.record.payload)
            or records[0].channel != given.record.channel
            or records[0].data_categories != list(given.record.data_categories)
            or records[0].purposes != list(given.record.purposes)
        ):
            raise SystemExit(f"bulk-filled subject {i} does not read back as stored")
    return len(picks)
