"""What the register commands (``breach``, ``dpia``, ``contracts``) share: the configured
database and the policy in force, opened inside the command (start-up stays light)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from privacyops.policy.schema import Manifest
    from privacyops.settings import Settings
    from privacyops.store import Database


@contextmanager
def open_registers() -> Iterator[tuple[Database, Manifest, Settings]]:
    """The configured database (disposed on exit), the manifest in force and the settings."""
    from privacyops.policy import load_configured_policy
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    settings = get_settings()
    manifest = load_configured_policy(settings).current
    db = open_database(settings)
    try:
        yield db, manifest, settings
    finally:
        db.dispose()
