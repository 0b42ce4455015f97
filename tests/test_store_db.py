"""The store's database: sessions, SQLite pragmas, migrations equal to the models."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from privacyops.errors import ConfigurationError
from privacyops.settings import Settings
from privacyops.store import Base, Database, load_models, open_database
from privacyops.store.db import KEY_STORE_CACHE_KIB, MIGRATIONS_DIR
from privacyops.store.models import DataSubject


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url, master_key=b"k" * 32)
    database.upgrade()
    yield database
    database.dispose()


def test_session_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    with db.session() as session:
        session.add(DataSubject(public_id="a" * 32))

    def failing_unit_of_work() -> None:
        with db.session() as session:
            session.add(DataSubject(public_id="b" * 32))
            session.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing_unit_of_work()
    with db.session() as session:
        ids = session.scalars(sa.select(DataSubject.public_id)).all()
    assert ids == ["a" * 32]


def test_upgrade_is_idempotent(db: Database) -> None:
    db.upgrade()
    with db.engine.connect() as conn:
        heads = {r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    assert heads == set(script.get_heads())


# Databases spell a generated column's expression their own way when reflected; Alembic warns
# that it cannot compare them. The expression is checked by test_audit (verify reads it).
@pytest.mark.filterwarnings("ignore:Computed default on audit_events.line")
def test_migrations_produce_the_schema_of_the_models(db: Database) -> None:
    load_models()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                # the key store lives beside the registry on PostgreSQL, outside Base.metadata
                "include_name": lambda name, kind, _parent: (
                    not (kind == "table" and name in {"subject_keys", "alembic_version"})
                ),
            },
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    db.dispose()


def test_a_sqlite_key_store_keeps_a_small_page_cache(tmp_path: Path) -> None:
    """The registry caches 32 MiB of pages; the key store's own file far less, so that a sweep
    destroying hundreds of thousands of keys does not grow the process by a registry cache."""
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -32768
    with db.key_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -KEY_STORE_CACHE_KIB
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    db.dispose()


def test_open_database_creates_data_dir_key_file_and_schema(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    db = open_database(settings)
    key_file = settings.effective_master_key_file
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "BACK IT UP" in caplog.text
    assert (settings.data_dir / "privacyops.sqlite").is_file()
    assert (settings.data_dir / "privacyops.keys.sqlite").is_file()
    first = db.keyring.blind_index("email", "a@example.com")
    db.dispose()
    # the second start reuses the same key: identities are still found
    again = open_database(settings)
    assert again.keyring.blind_index("email", "a@example.com") == first
    again.dispose()


def test_database_without_master_key_refuses_crypto(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with pytest.raises(ConfigurationError):
        _ = db.keyring


@pytest.mark.parametrize("bad", ["not base64!", "c2hvcnQ="])
def test_malformed_master_key_is_a_configuration_error(tmp_path: Path, bad: str) -> None:
    settings = Settings(data_dir=tmp_path / "d", master_key=bad)
    with pytest.raises(ConfigurationError, match="master key"):
        open_database(settings)
