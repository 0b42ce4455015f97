"""``privacyops worker`` and ``privacyops beat``: the background jobs on Celery workers, for a
scaled-out deployment (several web processes, ``PRIVACYOPS_RUNNER_ENABLED=false`` in each).

``worker`` runs the tasks of :mod:`privacyops.jobs.celery_app` — one per job of the registry
(:data:`privacyops.jobs.registry.JOBS`) and ``privacyops.rights.process``, which the web
processes send the moment a request becomes runnable. ``beat`` sends each job's periodic pass
from the same registry: run exactly one beat per deployment (``worker --beat`` embeds it in a
worker, for a single-worker set-up). Both need ``PRIVACYOPS_CELERY_BROKER_URL`` (Redis) and the
``scale`` extra (``pip install 'privacyops[scale]'``); ``deploy/`` has systemd units, a Procfile
and a compose file that use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from celery import Celery

    from privacyops.settings import Settings

__all__ = ["beat", "worker"]


def _celery_app() -> tuple[Celery, Settings]:
    from privacyops.errors import ConfigurationError, DependencyUnavailable
    from privacyops.settings import get_settings

    settings = get_settings()
    if not settings.celery_broker_url:
        raise ConfigurationError(
            "Set PRIVACYOPS_CELERY_BROKER_URL (for example redis://127.0.0.1:6379/0) "
            "to run workers."
        )
    try:
        from privacyops.jobs.celery_app import app
    except ImportError:
        raise DependencyUnavailable(
            "Celery is not installed: pip install 'privacyops[scale]'."
        ) from None
    return app, settings


def worker(
    concurrency: int | None = typer.Option(
        None, help="Processes running tasks (default: one per CPU core)."
    ),
    beat: bool = typer.Option(
        False, "--beat", help="Also run the beat in this worker (one per deployment)."
    ),
    loglevel: str = typer.Option("INFO", help="Celery's log level."),
) -> None:
    """Run a Celery worker for the background jobs and request steps (scaled out)."""
    app, settings = _celery_app()
    argv = ["worker", f"--loglevel={loglevel}"]
    if concurrency is not None:
        argv.append(f"--concurrency={concurrency}")
    if beat:
        argv += ["--beat", f"--schedule={settings.data_dir / 'celerybeat-schedule'}"]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app.worker_main(argv)


def beat(loglevel: str = typer.Option("INFO", help="Celery's log level.")) -> None:
    """Run the Celery beat: each background job's periodic pass (one beat per deployment)."""
    app, settings = _celery_app()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app.start(
        [
            "beat",
            f"--loglevel={loglevel}",
            f"--schedule={settings.data_dir / 'celerybeat-schedule'}",
        ]
    )
