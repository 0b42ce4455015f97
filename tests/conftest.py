"""Shared fixtures. Storage tests run on SQLite and, when PRIVACYOPS_TEST_POSTGRES_URL is set
(``make test`` sets it), on PostgreSQL too: use the ``db_url`` fixture."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from privacyops.settings import Settings, reset_settings

PG_URL = os.environ.get("PRIVACYOPS_TEST_POSTGRES_URL")


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own data dir and no settings leak between tests."""
    monkeypatch.setenv("PRIVACYOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PRIVACYOPS_CONFIG_FILE", raising=False)
    monkeypatch.delenv("PRIVACYOPS_DATABASE_URL", raising=False)
    reset_settings()
    yield
    reset_settings()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def _db_params() -> list[object]:
    params: list[object] = ["sqlite"]
    params.append(
        pytest.param("postgresql", marks=pytest.mark.postgres)
        if PG_URL
        else pytest.param(
            "postgresql",
            marks=pytest.mark.skip(
                reason="PRIVACYOPS_TEST_POSTGRES_URL not set (make test sets it)"
            ),
        )
    )
    return params


@pytest.fixture(params=_db_params())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite'}"
        return
    assert PG_URL is not None
    import uuid

    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[Any]:
        """Messages sent to ``address``, oldest first."""
        return [m for m in self.messages if m["To"] == address]

    def body(self, message: Any) -> str:
        return str(message.get_content())


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """A local SMTP server; settings point at it with ``smtp_port=smtp_server.port``."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()
