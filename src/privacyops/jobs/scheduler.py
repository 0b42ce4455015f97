"""The in-process scheduler of ``privacyops serve``: periodic jobs in one thread.

A :class:`Job` is a name, a function that does one bounded pass of work and says how much it
did, and when it is due: every ``every_seconds``, or once a day at ``daily_at_hour`` (UTC).
Each pass must be idempotent and resumable (the database holds the truth, DESIGN.md "Durable
work"), so a crash or restart between passes loses nothing, and the same function can run as a
Celery task when the service is scaled out.

The jobs themselves are declared once, in :mod:`privacyops.jobs.registry`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = ["Job", "JobRun", "Scheduler"]

log = logging.getLogger(__name__)

_ONE_DAY = timedelta(days=1)


@dataclass
class Job:
    """One periodic pass of work.

    Attributes:
        name: shown in logs and ``Scheduler.status()``.
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


class Scheduler:
    """Runs due jobs in a daemon thread, one pass at a time, until :meth:`stop`.

    :meth:`wake` runs a job at once instead of at its next turn (a verified request does not
    wait for the tick, which stays as the safety net). One failing job is logged (its error
    type only, never data) and retried at its next turn; it does not stop the others.
    """

    def __init__(self, jobs: list[Job], *, tick_seconds: float = 1.0) -> None:
        self.jobs = list(jobs)
        self.tick_seconds = tick_seconds
        self.last: dict[str, JobRun] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake = threading.Condition()
        self._woken: set[str] = set()

    def __repr__(self) -> str:
        return f"Scheduler({self.jobs!r})"

    def wake(self, name: str) -> None:
        """Run the job ``name`` at the thread's next turn, now rather than when it is due
        (several wakes during a pass make one more pass). Cheap and thread-safe: web request
        handlers call it."""
        with self._wake:
            self._woken.add(name)
            self._wake.notify()

    def _take_woken(self) -> set[str]:
        with self._wake:
            woken, self._woken = self._woken, set()
            return woken

    def run_due(
        self, now: datetime | None = None, *, also: frozenset[str] | set[str] = frozenset()
    ) -> dict[str, JobRun]:
        """Run every job that is due now, and those named in ``also`` (first), once; returns
        what ran."""
        now = now or datetime.now(UTC)
        ran: dict[str, JobRun] = {}
        for job in sorted(self.jobs, key=lambda j: j.name not in also):
            previous = self.last.get(job.name)
            if job.name not in also and not job.due(now, previous):
                continue
            handled, error = 0, None
            try:
                handled = job.run()
            except Exception as exc:  # a job's failure must not kill the thread
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
        self._thread = threading.Thread(target=self._loop, name="privacyops-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop after its current pass and wait for it."""
        self._stop.set()
        with self._wake:
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        """True while the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        woken: set[str] = set()
        while not self._stop.is_set():
            started = time.monotonic()
            self.run_due(also=woken)
            deadline = started + self.tick_seconds
            with self._wake:
                # sleep until the next tick, or until a job is woken (or the thread stopped)
                while not self._woken and not self._stop.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._wake.wait(left)
            woken = self._take_woken()

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
