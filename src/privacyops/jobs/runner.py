<<<<<<< HEAD
"""The in-process runner: a daemon thread that runs each registered pass every few seconds."""
=======
"""The in-process background runner of ``privacyops serve``: periodic jobs in one thread.

A :class:`Job` is a name, a function that does one bounded pass of work and says how much it
did, and when it is due: every ``every_seconds``, or once a day at ``daily_at_hour`` (UTC).
Each pass must be idempotent and resumable (the database holds the truth, DESIGN.md "Durable
work"), so a crash or restart between passes loses nothing, and the same function can run as a
Celery task when the service is scaled out.

Domain packages plug in by adding a builder to :mod:`privacyops.jobs.defaults`.
"""
>>>>>>> main

from __future__ import annotations

import logging
import threading
<<<<<<< HEAD
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
=======
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = ["Job", "JobRun", "Runner"]

log = logging.getLogger(__name__)

_ONE_DAY = timedelta(days=1)


@dataclass
class Job:
    """One periodic pass of work.

    Attributes:
        name: shown in logs and ``Runner.status()``.
        run: does one pass; returns how many items it handled (0 when idle).
        every_seconds: run this often (from the end of the previous pass).
        daily_at_hour: or run once a UTC day, at the first tick at/after this hour.
    """

    name: str
    run: Callable[[], int]
    every_seconds: float | None = None
    daily_at_hour: int | None = None

    def __post_init__(self) -> None:
        if (self.every_seconds is None) == (self.daily_at_hour is None):
            raise ValueError(f"job {self.name!r}: give exactly one of every_seconds/daily_at_hour")

    def __repr__(self) -> str:
        when = (
            f"every {self.every_seconds:g}s"
            if self.every_seconds is not None
            else f"daily at {self.daily_at_hour:02d}:00 UTC"
        )
        return f"Job({self.name!r}, {when})"

    def due(self, now: datetime, last: JobRun | None) -> bool:
        """True when the job should run at ``now`` given its last run."""
        if self.every_seconds is not None:
            return last is None or (now - last.finished_at).total_seconds() >= self.every_seconds
        hour = self.daily_at_hour or 0
        return now.hour >= hour and (last is None or last.finished_at.date() < now.date())


@dataclass
class JobRun:
    """The outcome of a job's last pass."""

    finished_at: datetime
    handled: int = 0
    error: str | None = None
    runs: int = field(default=1)


class Runner:
    """Runs due jobs in a daemon thread, one pass at a time, until :meth:`stop`.

    One failing job is logged (its error type only, never data) and retried at its next turn;
    it does not stop the others.
    """

    def __init__(self, jobs: list[Job], *, tick_seconds: float = 1.0) -> None:
        self.jobs = list(jobs)
        self.tick_seconds = tick_seconds
        self.last: dict[str, JobRun] = {}
>>>>>>> main
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
<<<<<<< HEAD
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
=======
        return f"Runner({self.jobs!r})"

    def run_due(self, now: datetime | None = None) -> dict[str, JobRun]:
        """Run every job that is due now, once; returns what ran."""
        now = now or datetime.now(UTC)
        ran: dict[str, JobRun] = {}
        for job in self.jobs:
            previous = self.last.get(job.name)
            if not job.due(now, previous):
                continue
            handled, error = 0, None
            try:
                handled = job.run()
            except Exception as exc:  # a job's failure must not kill the runner thread
                error = type(exc).__name__
                log.error("job %s failed: %s", job.name, error, exc_info=exc)
            runs = previous.runs + 1 if previous else 1
            # A failed daily job is retried at its next tick, not tomorrow.
            finished = now if error is None or job.every_seconds is not None else now - _ONE_DAY
            result = JobRun(finished_at=finished, handled=handled, error=error, runs=runs)
            self.last[job.name] = ran[job.name] = result
        return ran

    def start(self) -> None:
        """Start the background thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="privacyops-runner", daemon=True)
        self._thread.start()
>>>>>>> main

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop after its current pass and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

<<<<<<< HEAD

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
=======
    @property
    def running(self) -> bool:
        """True while the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.run_due()
            self._stop.wait(max(0.0, self.tick_seconds - (time.monotonic() - started)))

    def status(self) -> list[dict[str, object]]:
        """Each job with its last run (for the dashboard and ``/healthz``)."""
        out: list[dict[str, object]] = []
        for job in self.jobs:
            last = self.last.get(job.name)
            out.append(
                {
                    "name": job.name,
                    "schedule": repr(job),
                    "last_finished_at": last.finished_at.isoformat() if last else None,
                    "last_handled": last.handled if last else None,
                    "last_error": last.error if last else None,
                }
            )
        return out
>>>>>>> main
