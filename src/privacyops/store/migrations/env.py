"""Alembic environment: runs on the connection :meth:`privacyops.store.Database.upgrade` gives.

Target metadata is :class:`privacyops.store.Base`'s, after importing every domain's models.
To write a new revision for your domain (one file, ``down_revision = "0001_registry"``,
``branch_labels = ("<domain>",)``), see ``docs/store.md``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from privacyops.store.base import Base
from privacyops.store.db import create_engine, load_models

load_models()
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given: Connection | None = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:  # `alembic -x url=...` from a checkout, when writing a revision
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///data/privacyops.sqlite")
    with create_engine(url).begin() as conn:
        _run(conn)
