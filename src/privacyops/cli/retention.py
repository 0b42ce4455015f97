"""``privacyops retention``: run the sweep, forecast expiries, replay erasures after a restore."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from privacyops.errors import InvalidInput

if TYPE_CHECKING:
    from privacyops.retention import RetentionReport

app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="Retention: delete or anonymise what has expired.",
    no_args_is_help=True,
)
# A report is read in files and CI logs as often as in a terminal: never narrower than that.
console = Console(width=max(Console().width, 140))


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{option} must be a date like 2031-12-31, not {value!r}.",
            details=[{"loc": [option], "msg": "YYYY-MM-DD"}],
        ) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _print_report(report: RetentionReport) -> None:
    title = "retention dry run (nothing changed)" if report.dry_run else "retention run"
    table = Table(
        "records (policy)",
        "rule",
        "held",
        "expired",
        "deleted",
        "anonymised",
        "kept: hold",
        "kept: restr.",
        "age unknown",
        "erased",
        title=f"{title}, as of {report.as_of:%Y-%m-%d %H:%M} UTC",
    )
    for g in report.groups:
        table.add_row(
            f"{g.channel} ({g.policy_version})",
            g.rule.split(": ", 1)[1] if g.rule else f"[red]none: {g.problem}[/red]",
            "-" if g.records is None else f"{g.records:,}",
            f"{g.expired:,}",
            f"{g.deleted:,}",
            f"{g.anonymised:,}",
            f"{g.kept_legal_hold:,}",
            f"{g.kept_restriction:,}",
            f"{g.undetermined:,}",
            f"{g.subjects_erased:,}",
        )
    console.print(table)
    if report.datasets:
        datasets = Table(
            "connected database", "collection", "rule", "expired", "erased", "age unknown"
        )
        for d in report.datasets:
            datasets.add_row(
                d.connector,
                d.collection,
                d.rule.split(": ", 1)[1] if d.rule else f"[red]none: {d.problem}[/red]",
                f"{d.expired:,}",
                f"{d.erased:,} ({d.action})" if d.erased else "0",
                f"{d.undetermined:,}",
            )
        console.print(datasets)
    if report.resumed:
        console.print(f"run {report.run_id} resumed where an interrupted run stopped")
    for note in report.notes:
        console.print(f"note: {note}")
    unknown = report.total("undetermined")
    if unknown:
        console.print(
            f"[yellow]{unknown:,} record(s) have no date for their rule's clock or no rule: "
            "they were kept and need a decision.[/yellow]"
        )


@app.command()
def run(
    dry_run: bool = typer.Option(False, "--dry-run", help="Count only; change nothing."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Judge expiry on this date (YYYY-MM-DD) instead of now."
    ),
    chunk_size: int | None = typer.Option(
        None, "--chunk-size", min=1, help="Records per transaction (default 10,000)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Delete or anonymise expired records and erase subjects left without any.

    Respects legal holds and restrictions kept for legal claims; resumes an interrupted run.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from privacyops.connectors import SQLConnector, load_connectors
    from privacyops.policy import load_configured_policy
    from privacyops.retention import sweep
    from privacyops.retention.sweep import DEFAULT_CHUNK
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    settings = get_settings()
    book = load_configured_policy(settings)
    db = open_database(settings)
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as bar:
            task = bar.add_task("sweeping", total=None)
            connectors = [c for c in load_connectors(settings, db) if isinstance(c, SQLConnector)]
            report = sweep(
                db,
                book,
                connectors=connectors,
                as_of=_moment(as_of, "--as-of"),
                dry_run=dry_run,
                actor="cli:retention",
                chunk_size=chunk_size or DEFAULT_CHUNK,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report)


@app.command("forecast")
def forecast_command(
    days: int = typer.Option(30, "--days", help="How many days ahead."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """What will expire in the next N days, per channel and data category."""
    from privacyops.policy import load_configured_policy
    from privacyops.retention import forecast
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    settings = get_settings()
    book = load_configured_policy(settings)
    db = open_database(settings)
    try:
        result = forecast(db, book, days=days)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    table = Table("channel", "records", "by data category", title=f"expiring in {days} days")
    for channel, count in sorted(result.by_channel.items()):
        per = result.by_category.get(channel, {})
        table.add_row(
            channel, f"{count:,}", ", ".join(f"{k} {v:,}" for k, v in sorted(per.items()))
        )
    console.print(table)
    for channel, count in sorted(result.undetermined.items()):
        console.print(f"[yellow]{channel}: {count:,} record(s) without a rule[/yellow]")
    if result.processors_own_retention:
        names = ", ".join(p["name"] for p in result.processors_own_retention)
        console.print(f"Retention set by the processors themselves (policy §2.4): {names}")


@app.command("replay")
def replay_command(
    since: str = typer.Option(..., "--since", help="Date (YYYY-MM-DD) of the restored backup."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """After restoring a backup: erase again what the audit log says was erased since DATE."""
    from privacyops.policy import load_configured_policy
    from privacyops.retention import replay
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    settings = get_settings()
    book = load_configured_policy(settings)
    db = open_database(settings)
    moment = _moment(since, "--since")
    if moment is None:  # pragma: no cover - typer requires the option
        raise InvalidInput("--since is required.")
    try:
        result = replay(db, book, since=moment, actor="cli:retention-replay")
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    console.print(
        f"{result.erasures_in_log:,} erased subject(s) in the audit log since {since}; "
        f"{result.subjects_erased_again:,} were back after the restore and are erased again."
    )
    _print_report(result.sweep)
