"""The in-process runner: a daemon thread that runs each registered pass every few seconds."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from privacyops.rights.factory import build_service
from privacyops.rights.runner import tick
from privacyops.settings import Settings
from privacyops.store import Database, open_database

__all__ = ["BackgroundRunner", "lifespan", "rights_pass"]

log = logging.getLogger(__name__)

Pass = Callable[[], object]


class BackgroundRunner:
    """Runs ``passes`` one after the other every ``interval`` seconds until stopped.

    A pass that raises is logged and the loop goes on: one failing unit of work must not stop
    the others (each pass keeps its own state in the database and resumes next time).
    """

    def __init__(self, passes: Sequence[tuple[str, Pass]], *, interval: float = 2.0) -> None:
        self.passes = list(passes)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self.passes)
        return f"BackgroundRunner([{names}], interval={self.interval})"

    def run_once(self) -> None:
        """Run every pass once, in order."""
        for name, work in self.passes:
            try:
                work()
            except Exception as exc:  # keep the loop alive; the pass resumes next time
                log.error("background pass %s failed: %s", name, type(exc).__name__)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="privacyops-jobs", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop after its current pass and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def rights_pass(settings: Settings, db: Database) -> Pass:
    """The pass that runs data-subject requests' steps and sends queued messages."""
    service = build_service(settings, db=db)
    return lambda: tick(service)


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """FastAPI lifespan: run the background passes while the app serves, when the
    ``runner_enabled`` setting is on and no Celery broker takes the work."""
    settings: Settings = app.state.settings
    runner: BackgroundRunner | None = None
    if settings.runner_enabled and not settings.celery_broker_url:
        db: Database | None = getattr(app.state, "db", None)
        if db is None:
            db = open_database(settings)
            app.state.db = db
        runner = BackgroundRunner([("rights", rights_pass(settings, db))])
        runner.start()
    try:
        yield
    finally:
        if runner is not None:
            runner.stop()
