"""``privacyops serve``: the whole service on the embedded default, with no configuration.

On start it creates ``data_dir``, the SQLite database (migrated to the latest schema), the
master key file, loads the policy (the embedded seed unless configured), creates the first
admin when there is no staff account yet (a random password printed once), prints the URLs
and runs uvicorn until interrupted; once uvicorn accepts connections it starts the background
scheduler (request steps, the daily retention sweep, clean-ups).

Start-up is kept short (``python -m bench startup`` measures it to the first ``/healthz``): the
command imports the web stack only when it runs, and what the first request does not need (the
scheduler's first pass, the argon2 dummy hash of the login check) waits until uvicorn accepts
connections instead of competing with start-up for the CPU.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    import uvicorn

    from privacyops.settings import Settings
    from privacyops.store import Database

__all__ = ["after_start", "bootstrap_admin", "serve"]

console = Console(soft_wrap=True)
log = logging.getLogger(__name__)


def bootstrap_admin(db: Database, settings: Settings) -> str | None:
    """Create the first admin when no staff account exists; returns its one-time password.

    Scaled out, several web processes start at once: the one that loses the race to create it
    (the e-mail is unique) leaves it to the winner, which prints the password."""
    import sqlalchemy as sa

    from privacyops.accounts import StaffUser, create_user

    try:
        with db.session() as session:
            if session.scalar(sa.select(sa.func.count()).select_from(StaffUser)):
                return None
            password = secrets.token_urlsafe(15)
            create_user(session, settings.initial_admin_email, password, "admin")
            return password
    except sa.exc.IntegrityError:
        return None  # another web process created it at the same moment


def after_start(server: uvicorn.Server, *actions: Callable[[], object]) -> threading.Thread:
    """Run ``actions`` in a thread once ``server`` accepts connections (not if it stops first)."""

    def wait_then_run() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        for action in actions:
            if server.should_exit:
                return
            action()

    thread = threading.Thread(target=wait_then_run, name="privacyops-after-start", daemon=True)
    thread.start()
    return thread


def serve(
    host: str | None = typer.Option(None, help="Listen address (default: settings.host)."),
    port: int | None = typer.Option(None, help="Port (default: settings.port)."),
) -> None:
    """Start the service: privacy center, dashboard, JSON API and background jobs."""
    started = time.perf_counter()
    import uvicorn

    from privacyops.accounts.service import prepare_password_checks
    from privacyops.jobs import JobContext, Scheduler, default_jobs
    from privacyops.jobs.dispatch import use_scheduler
    from privacyops.policy.loader import load_configured_policy
    from privacyops.settings import get_settings
    from privacyops.store import open_database
    from privacyops.web.app import create_app

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
        use_scheduler(scheduler.wake)  # a verified request runs at once, not at the tick

    base = f"http://{settings.host}:{settings.port}"
    console.print(f"[bold]privacyops[/bold] on {base}  (policy {policy.current.version.id})")
    console.print(f"  privacy center   {base}/privacy")
    console.print(f"  staff dashboard  {base}/dashboard   (log in at {base}/login)")
    console.print(f"  JSON API         {base}/api/docs   (OpenAPI: {base}/openapi.json)")
    console.print(f"  data             {settings.data_dir}")
    if settings.effective_mail_transport == "outbox":
        console.print(
            "  mail             mail is not sent: no SMTP server configured; "
            f"read it at {base}/dashboard/outbox",
            highlight=False,
        )
    else:
        console.print(f"  mail             SMTP {settings.smtp_host}:{settings.smtp_port}")
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
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            access_log=False,  # paths can carry request references; metrics count requests
            server_header=False,
            ws="none",  # no WebSocket routes: do not import a WebSocket library
        )
    )
    # The argon2 dummy hash (~0.1-0.4 s of CPU) and the scheduler's first pass wait until the
    # first request can be answered.
    after_start(
        server, prepare_password_checks, *([scheduler.start] if settings.runner_enabled else [])
    )
    try:
        server.run()
    finally:
        use_scheduler(None)
        scheduler.stop()
        db.dispose()
