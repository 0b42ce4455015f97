"""The database: engine, sessions, migrations.

The embedded default is a SQLite file under ``data_dir`` (WAL journal, foreign keys on, a busy
timeout so concurrent writers wait instead of failing); PostgreSQL is reached by URL through
psycopg 3 (``postgresql+psycopg://user:pass@host/db``).

Subjects' data keys live in a *key store* kept apart from the registry (see
:mod:`privacyops.store.keys`): for the embedded default a second SQLite file next to the
database, so that a copy or backup of the database holds no key.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from privacyops.errors import ConfigurationError

if TYPE_CHECKING:
    from privacyops.settings import Settings
    from privacyops.store.keys import KeyRing, KeyStore

__all__ = ["MIGRATIONS_DIR", "Database", "load_models", "open_database"]

log = logging.getLogger(__name__)

#: The Alembic script directory shipped inside the package.
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# PostgreSQL advisory lock key that serialises concurrent ``upgrade()`` calls ("pops-mig").
_MIGRATION_LOCK = 0x706F70732D6D6967
SQLITE_BUSY_TIMEOUT_MS = 30_000


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


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN")


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
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
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
        """A session whose transaction commits when the block ends and rolls back on error."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

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
        with self.engine.begin() as conn:
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
    return db
