"""The declarative base every privacyops table derives from, and shared column types.

Each domain keeps its tables in its own package (``privacyops/<domain>/models.py``) as
subclasses of :class:`Base`; the Alembic environment finds them all (see
:func:`privacyops.store.db.load_models`). Constraint names follow :data:`NAMING_CONVENTION` so
migrations name them the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

__all__ = ["NAMING_CONVENTION", "Base", "BigIntPK", "UTCDateTime", "utcnow"]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of all privacyops tables (one ``MetaData`` with the naming convention)."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


#: An auto-incrementing 64-bit primary key that is still SQLite's fast ``INTEGER PRIMARY KEY``.
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only kind of time privacyops stores)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    PostgreSQL keeps ``timestamptz``; SQLite keeps the naive UTC text, which sorts and compares
    correctly. A naive value given by a caller is taken to be UTC already.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            msg = f"expected a datetime, got {type(value).__name__}"
            raise TypeError(msg)
        moment: datetime = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
        if dialect.name == "sqlite":
            moment = moment.replace(tzinfo=None)
        return moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: object = datetime.fromisoformat(value) if isinstance(value, str) else value
        if not isinstance(moment, datetime):
            msg = f"expected a datetime from the database, got {type(moment).__name__}"
            raise TypeError(msg)
        aware: datetime = (
            moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        )
        return aware
