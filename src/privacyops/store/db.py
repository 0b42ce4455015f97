"""The database: engine, sessions, migrations.

The embedded default is a SQLite file under ``data_dir`` (WAL journal, foreign keys on, a busy
timeout so concurrent writers wait instead of failing); PostgreSQL is reached by URL through
psycopg 3 (``postgresql+psycopg://user:pass@host/db``).

One write discipline: every transaction that may write is a *write transaction*
(:meth:`Database.session`, :meth:`Database.begin`, or any connection of
:attr:`Database.write_engine`). On SQLite it starts with ``BEGIN IMMEDIATE`` (SQLAlchemy's
documented pysqlite recipe): it takes the database's write lock when it begins, so it waits its
turn under the busy timeout instead of failing with "database is locked" when a read inside it
later turns into a write. Read-only work uses :meth:`Database.read_session` (a deferred
``BEGIN``; WAL readers never wait). On PostgreSQL, :meth:`Database.run_write` retries a unit of
work a bounded number of times on serialisation failures and deadlocks.

Subjects' data keys live in a *key store* kept apart from the registry (see
:mod:`privacyops.store.keys`): for the embedded default a second SQLite file next to the
database, so that a copy or backup of the database holds no key.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from privacyops.errors import ConfigurationError

if TYPE_CHECKING:
    from privacyops.settings import Settings
    from privacyops.store.keys import KeyRing, KeyStore

__all__ = [
    "MIGRATIONS_DIR",
    "WRITE_OPTION",
    "Database",
    "NestedWrite",
    "is_retryable",
    "is_write_connection",
    "load_models",
    "open_database",
    "writing",
]

T = TypeVar("T")

log = logging.getLogger(__name__)

#: The Alembic script directory shipped inside the package.
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# PostgreSQL advisory lock key that serialises concurrent ``upgrade()`` calls ("pops-mig").
_MIGRATION_LOCK = 0x706F70732D6D6967
SQLITE_BUSY_TIMEOUT_MS = 30_000

#: Execution option marking a write connection (SQLite: ``BEGIN IMMEDIATE``).
WRITE_OPTION = "privacyops_write"
#: PostgreSQL SQLSTATEs a write may be retried on: serialization_failure, deadlock_detected.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
#: Attempts of :meth:`Database.run_write` (the first one included).
WRITE_ATTEMPTS = 4


def load_models() -> None:
    """Import every ``privacyops.<package>.models`` module so ``Base.metadata`` knows all tables.

    Domains add tables by creating ``models.py`` (or a ``models`` package) in their own package;
    nothing has to be registered here.
    """
    import privacyops

    for info in sorted(pkgutil.iter_modules(privacyops.__path__), key=lambda m: m.name):
        if not info.ispkg:
            continue
        folder = Path(privacyops.__path__[0]) / info.name
        if (folder / "models.py").is_file() or (folder / "models" / "__init__.py").is_file():
            importlib.import_module(f"privacyops.{info.name}.models")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (SAVEPOINT works).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: no corruption, durable at ckpt
    # Deleted rows are overwritten with zeros, not left readable in free pages (erasure).
    cursor.execute("PRAGMA secure_delete = ON")
    # 32 MB of page cache (default 2 MB): index lookups in a registry of millions stay in memory.
    cursor.execute("PRAGMA cache_size = -32768")
    cursor.close()


#: Page cache of a key store's own SQLite database: its rows are small and read by primary key,
#: so its hot part is the B-tree's inner pages; a sweep that destroys keys by the hundred
#: thousand would otherwise fill a registry-sized cache, and the process's memory with it.
KEY_STORE_CACHE_KIB = 8192


def _key_store_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA cache_size = -{KEY_STORE_CACHE_KIB}")
    cursor.close()


class NestedWrite(RuntimeError):
    """A write transaction opened while this thread holds one on the same SQLite database:
    it would wait for a lock its own thread holds (a self-deadlock until the busy timeout)."""


_writing = threading.local()


def _held() -> dict[int, weakref.ref[sa.Connection]]:
    """This thread's open write transactions: database (pool) -> the connection holding it."""
    held: dict[int, weakref.ref[sa.Connection]] | None = getattr(_writing, "held", None)
    if held is None:
        held = _writing.held = {}
    return held


def _sqlite_begin(conn: sa.Connection) -> None:
    # pysqlite recipe: the driver's own BEGIN is off (isolation_level=None, see the pragmas);
    # a write connection takes the write lock now, a read one when (if ever) it writes
    if not is_write_connection(conn):
        conn.exec_driver_sql("BEGIN")
        return
    database = id(conn.engine.pool)
    holder = _held().get(database)
    holding = holder() if holder is not None else None
    if holding is not None and holding is not conn and holding.in_transaction():
        raise NestedWrite(
            "A write transaction was opened inside another one on the same SQLite database: "
            "pass the session (or connection) down instead."
        )
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    _held()[database] = weakref.ref(conn)


def _sqlite_end(conn: sa.Connection) -> None:
    held = _held()
    database = id(conn.engine.pool)
    holder = held.get(database)
    if holder is not None and holder() is conn:
        del held[database]


def writing(engine: Engine) -> Engine:
    """``engine`` whose connections begin write transactions (same pool, same events)."""
    return engine.execution_options(**{WRITE_OPTION: True})


def is_write_connection(conn: sa.Connection) -> bool:
    """Whether ``conn`` came from a write engine (see :func:`writing`)."""
    return bool(conn.get_execution_options().get(WRITE_OPTION))


def is_retryable(exc: BaseException) -> bool:
    """Whether ``exc`` is a PostgreSQL serialisation failure or deadlock (safe to retry)."""
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    return getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def create_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine configured the privacyops way for SQLite (pragmas) or PostgreSQL (psycopg)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            kwargs.setdefault("poolclass", StaticPool)
            kwargs.setdefault("connect_args", {"check_same_thread": False})
        else:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "commit", _sqlite_end)
        event.listen(engine, "rollback", _sqlite_end)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(parsed, **kwargs)
    raise ConfigurationError(
        f"Unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://."
    )


def default_key_store_url(url: str | URL) -> str | None:
    """Where subject keys live when no key store URL is configured.

    A SQLite file database keeps them in ``<name>.keys.sqlite`` beside it; any other database
    keeps them in its own ``subject_keys`` table (``None``: use the database's engine).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(str(parsed.database))
        return f"sqlite:///{path.with_name(path.stem + '.keys.sqlite')}"
    return None


class Database:
    """One database: its engine, a session factory, migrations and the subject key store.

    Args:
        url: SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://...``).
        master_key: the 32-byte master key that wraps subjects' data keys; needed only to
            encrypt or decrypt personal data (see :attr:`keyring`).
        key_store_url: where subjects' wrapped keys live (default: :func:`default_key_store_url`).
        **engine_kwargs: passed to :func:`sqlalchemy.create_engine`.

    Example::

        db = Database("sqlite:///data/privacyops.sqlite")
        db.upgrade()
        with db.session() as session:
            session.add(thing)   # committed when the block ends, rolled back on error
    """

    def __init__(
        self,
        url: str | URL,
        *,
        master_key: bytes | None = None,
        key_store_url: str | URL | None = None,
        **engine_kwargs: Any,
    ) -> None:
        self.url: URL = make_url(url)
        self.engine: Engine = create_engine(self.url, **engine_kwargs)
        #: The same engine whose transactions are write transactions (see the module's doc).
        self.write_engine: Engine = writing(self.engine)
        self._sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._master_key = master_key
        self._key_store_url = key_store_url or default_key_store_url(self.url)
        self._key_store: KeyStore | None = None
        self._keyring: KeyRing | None = None

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A write session: its transaction commits when the block ends, rolls back on error.

        On SQLite it holds the write lock from its first statement to its end: keep it short,
        and never open a second write (another session, another connection) inside it.
        """
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reading only (a deferred transaction, rolled back at the end)."""
        with self._read_sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    def begin(self) -> AbstractContextManager[sa.Connection]:
        """A write transaction on a plain connection (``with db.begin() as conn: ...``)."""
        return self.write_engine.begin()

    def run_write(self, work: Callable[[Session], T], *, attempts: int = WRITE_ATTEMPTS) -> T:
        """Run ``work`` in a write session, again (up to ``attempts`` times in all, after a
        short random pause) when PostgreSQL aborts it for a serialisation failure or deadlock.

        ``work`` must do nothing outside the session it is given (it may run more than once).
        """
        for attempt in range(1, attempts + 1):
            try:
                with self.session() as session:
                    return work(session)
            except sa.exc.DBAPIError as exc:
                if attempt == attempts or not is_retryable(exc):
                    raise
                log.info("write retried (%s, attempt %d)", type(exc.orig).__name__, attempt)
                time.sleep(random.uniform(0.005, 0.02) * attempt)  # jitter, not a secret
        raise AssertionError("unreachable")  # pragma: no cover

    def upgrade(self) -> None:
        """Bring the schema to the latest revision of every branch (Alembic ``heads``).

        Safe to call at every start: on PostgreSQL concurrent callers wait for each other.
        Also creates the key store's table when missing.
        """
        from alembic import command
        from alembic.config import Config

        load_models()
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            config.attributes["connection"] = conn
            command.upgrade(config, "heads")
        self.key_store.create_schema()

    @property
    def key_store(self) -> KeyStore:
        """The store of subjects' wrapped data keys (kept apart from the registry)."""
        if self._key_store is None:
            from privacyops.store.keys import KeyStore

            engine = create_engine(self._key_store_url) if self._key_store_url is not None else None
            if engine is not None and engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _key_store_pragmas)
            self._key_store = KeyStore(engine or self.engine, owned=engine is not None)
        return self._key_store

    @property
    def keyring(self) -> KeyRing:
        """The master-key operations (wrap/unwrap data keys, blind indexes).

        Raises:
            ConfigurationError: the database was opened without a master key.
        """
        if self._keyring is None:
            if self._master_key is None:
                raise ConfigurationError(
                    "No master key: open the database with open_database(settings) or pass "
                    "master_key= to Database()."
                )
            from privacyops.store.keys import KeyRing

            self._keyring = KeyRing(self._master_key)
        return self._keyring

    def dispose(self) -> None:
        """Close every pooled connection (of the database and of a separate key store)."""
        self.engine.dispose()
        if self._key_store is not None:
            self._key_store.dispose()


def open_database(settings: Settings, *, upgrade: bool = True) -> Database:
    """Open the database the settings name, with its master key, migrated to the latest schema.

    For the embedded default this creates ``data_dir``, the SQLite file, its key store file and,
    on first use, the master key file (see :func:`privacyops.store.keys.load_master_key`).
    """
    from privacyops.store.keys import load_master_key

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(
        settings.effective_database_url,
        master_key=load_master_key(settings),
        key_store_url=settings.key_store_url,
    )
    if upgrade:
        db.upgrade()
    from privacyops.store.mailbox import attach_local_outbox

    attach_local_outbox(db, settings.effective_database_url)
    return db
