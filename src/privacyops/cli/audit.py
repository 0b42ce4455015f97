"""``privacyops audit``: verify the hash chain, show the latest events."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="The hash-chained audit log.",
    no_args_is_help=True,
)
console = Console()


@app.command()
def verify(
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Recompute the hash chain; name the first changed, missing, inserted or reordered event.

    Exits 0 when the chain is intact and 1 when it is broken.
    """
    from privacyops.audit import AuditLog
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    db = open_database(get_settings())
    try:
        log = AuditLog(db)
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True
        ) as bar:
            task = bar.add_task("verifying audit chain", total=None)
            result = log.verify(
                progress=lambda n: bar.update(task, description=f"verified {n:,} events")
            )
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    elif result.ok:
        console.print(
            f"[green]audit chain intact[/green]: {result.events_checked:,} events, "
            f"head {result.head_seq} {result.head_hash}"
        )
    else:
        console.print(
            f"[red]audit chain broken[/red] at event {result.first_broken_seq}: {result.problem}"
        )
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def tail(
    limit: int = typer.Option(20, "-n", "--limit", min=1, help="How many events."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
) -> None:
    """Show the latest events, oldest first."""
    from privacyops.audit import AuditLog
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    db = open_database(get_settings())
    try:
        events = AuditLog(db).tail(limit)
    finally:
        db.dispose()
    if as_json:
        for e in events:
            typer.echo(
                json.dumps(
                    {
                        "seq": e.seq,
                        "ts": e.ts,
                        "actor": e.actor,
                        "action": e.action,
                        "subject_ref": e.subject_ref,
                        "reason": e.reason,
                        "details": json.loads(e.details),
                        "hash": e.hash,
                    }
                )
            )
        return
    table = Table("seq", "time (UTC)", "actor", "action", "subject", "reason")
    for e in events:
        table.add_row(str(e.seq), e.ts, e.actor, e.action, e.subject_ref or "", e.reason or "")
    console.print(table)
