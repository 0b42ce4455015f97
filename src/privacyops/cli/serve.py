"""``privacyops serve``: the whole service on the embedded default, with no configuration.

On start it creates ``data_dir``, the SQLite database (migrated to the latest schema), the
master key file, loads the policy (the embedded seed unless configured), creates the first
admin when there is no staff account yet (a random password printed once), starts the
background scheduler (request steps, the daily retention sweep, clean-ups), prints the URLs and
runs uvicorn until interrupted.
"""

from __future__ import annotations

import logging
import secrets
import time

import sqlalchemy as sa
import typer
import uvicorn
from rich.console import Console

from privacyops.accounts import StaffUser, create_user
from privacyops.jobs import JobContext, Scheduler, default_jobs
from privacyops.policy.loader import load_configured_policy
from privacyops.settings import Settings, get_settings
from privacyops.store import Database, open_database
from privacyops.web.app import create_app

__all__ = ["bootstrap_admin", "serve"]

console = Console(soft_wrap=True)
log = logging.getLogger(__name__)


def bootstrap_admin(db: Database, settings: Settings) -> str | None:
    """Create the first admin when no staff account exists; returns its one-time password."""
    with db.session() as session:
        if session.scalar(sa.select(sa.func.count()).select_from(StaffUser)):
            return None
        password = secrets.token_urlsafe(15)
        create_user(session, settings.initial_admin_email, password, "admin")
        return password


def serve(
    host: str | None = typer.Option(None, help="Listen address (default: settings.host)."),
    port: int | None = typer.Option(None, help="Port (default: settings.port)."),
) -> None:
    """Start the service: privacy center, dashboard, JSON API and background jobs."""
    started = time.perf_counter()
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = get_settings().model_copy(update=overrides) if overrides else get_settings()
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    db = open_database(settings)
    policy = load_configured_policy(settings)
    password = bootstrap_admin(db, settings)
    app = create_app(settings, db=db)
    app.state.policy = policy
    scheduler = Scheduler(default_jobs(JobContext(settings=settings, db=db, policy=policy)))
    app.state.scheduler = scheduler
    if settings.runner_enabled:
        scheduler.start()

    base = f"http://{settings.host}:{settings.port}"
    console.print(f"[bold]privacyops[/bold] on {base}  (policy {policy.current.version.id})")
    console.print(f"  privacy center   {base}/privacy")
    console.print(f"  staff dashboard  {base}/dashboard   (log in at {base}/login)")
    console.print(f"  JSON API         {base}/api/docs   (OpenAPI: {base}/openapi.json)")
    console.print(f"  data             {settings.data_dir}")
    if password is not None:
        console.print(
            f"  first admin      {settings.initial_admin_email} / [bold]{password}[/bold]"
            "   (shown once: note it now; add staff with `privacyops admin create`)",
            highlight=False,
        )
    else:
        console.print("  log in with a staff account (`privacyops admin create` adds one)")
    jobs = ", ".join(job.name for job in scheduler.jobs) or "none"
    console.print(
        f"  background jobs  {jobs}" + ("" if settings.runner_enabled else " (disabled)"),
        highlight=False,
    )
    console.print(f"  ready in {time.perf_counter() - started:.2f} s", highlight=False)
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            access_log=False,  # paths can carry request references; metrics count requests
            server_header=False,
        )
    finally:
        scheduler.stop()
        db.dispose()
