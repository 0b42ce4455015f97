"""Load connector files: a ``dataset:`` file is a SQL connector, a ``connector:`` file is an
HTTP, manual or e-mail connector (its ``type``)."""

from __future__ import annotations

import os
from pathlib import Path

from privacyops.connectors._yaml import problem, read_located
from privacyops.connectors.base import Connector
from privacyops.connectors.dataset import parse_dataset
from privacyops.connectors.http import HTTPConnector, HTTPConnectorFile
from privacyops.connectors.lint import lint_dataset, raise_for_problems
from privacyops.connectors.manual import ManualConnector, ManualConnectorFile
from privacyops.connectors.sql import SQLConnector
from privacyops.errors import ConfigurationError, InvalidInput
from privacyops.settings import Settings
from privacyops.store import Database

__all__ = ["KINDS", "load_connector_file", "load_connectors"]

KINDS = ("http", "manual", "email")


def load_connector_file(path: Path, settings: Settings, db: Database | None = None) -> Connector:
    """The connector a file describes (SQL datasets are linted first: an error stops here).

    Raises:
        InvalidInput: the file is not valid (with ``file:line`` details).
        ConfigurationError: the file names no database, or a secret it needs is missing.
    """
    doc = read_located(path)
    data = doc.data
    if isinstance(data, dict) and "dataset" in data:
        parsed = parse_dataset(doc)
        raise_for_problems(parsed, lint_dataset(parsed))
        ds = parsed.dataset
        url = ds.connection.url if ds.connection else None
        if ds.connection and ds.connection.url_env:
            url = os.environ.get(ds.connection.url_env)
        if not url:
            raise ConfigurationError(f"Dataset {path} names no database (connection.url_env).")
        salt = settings.connector_hash_salt
        return SQLConnector(ds, url, salt=salt.get_secret_value().encode("utf-8") if salt else None)
    if isinstance(data, dict) and isinstance(data.get("connector"), dict):
        kind = data["connector"].get("type", "http")
        if kind == "http":
            spec = doc.validate(HTTPConnectorFile, what="Connector file").connector
            return HTTPConnector(
                spec,
                timeout=settings.connector_timeout_seconds,
                retries=settings.connector_retries,
            )
        if kind in ("manual", "email"):
            manual = doc.validate(ManualConnectorFile, what="Connector file").connector
            if db is None:
                raise ConfigurationError(
                    f"{path}: {kind} connectors keep their tasks in the database; open it first."
                )
            return ManualConnector(manual, db, settings)
        raise InvalidInput(
            f"{path}: connector type {kind!r} is not one of {', '.join(KINDS)}.",
            details=[problem(doc, ("connector", "type"), "unknown connector type")],
        )
    raise InvalidInput(f"{path} is neither a dataset: nor a connector: file.")


def load_connectors(settings: Settings, db: Database | None = None) -> list[Connector]:
    """Every connector of ``PRIVACYOPS_CONNECTORS_DIR`` (*.yml, *.yaml), sorted by file name."""
    folder = settings.connectors_dir
    if folder is None:
        return []
    files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
    return [load_connector_file(p, settings, db) for p in files]
