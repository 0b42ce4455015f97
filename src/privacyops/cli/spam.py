"""``privacyops spam``: the spam and swindler gate (policy §8): review the quarantine, manage
blocklists and rules."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from privacyops.cli.intake import cli_actor, open_service

app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="Spam and swindler gate: quarantine review, blocklists, rules.",
    no_args_is_help=True,
)
console = Console()


def _table(rows: list[dict[str, Any]], columns: list[str], title: str) -> None:
    if not rows:
        console.print(f"no {title.lower()}")
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(
            *(
                json.dumps(v) if isinstance(v, list) else str(v or "")
                for v in (row[c] for c in columns)
            )
        )
    console.print(table)


@app.command("list")
def list_(
    status: str = typer.Option("pending", "--status", help="pending, released, rejected or all."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Quarantined submissions waiting for review (without their content)."""
    with open_service() as service:
        items = service.quarantined(None if status == "all" else status)
    if as_json:
        typer.echo(json.dumps(items, indent=2))
        return
    _table(items, ["id", "channel", "status", "matched", "received_at"], "Quarantine")


@app.command()
def show(quarantine_id: str = typer.Argument(..., help="Quarantine id.")) -> None:
    """Show a pending submission's content for review (the reading is audited)."""
    with open_service() as service:
        item = service.show_quarantined(quarantine_id, actor=cli_actor())
    typer.echo(json.dumps(item, indent=2, ensure_ascii=False))


@app.command()
def release(
    quarantine_id: str = typer.Argument(..., help="Quarantine id."),
    note: str | None = typer.Option(None, "--note", help="Why (no personal data)."),
) -> None:
    """Judge a quarantined submission legitimate: store it as a normal submission."""
    with open_service() as service:
        result = service.release(quarantine_id, actor=cli_actor(), note=note)
    typer.echo(json.dumps(result.to_dict(), indent=2))


@app.command()
def reject(
    quarantine_id: str = typer.Argument(..., help="Quarantine id."),
    block: bool = typer.Option(
        False, "--block", help="Also blocklist the sender's e-mail address and accounts."
    ),
    note: str | None = typer.Option(None, "--note", help="Why (no personal data)."),
) -> None:
    """Judge a quarantined submission spam: its content is discarded."""
    with open_service() as service:
        blocks = service.reject(quarantine_id, actor=cli_actor(), note=note, block_sender=block)
    console.print(
        "rejected" + (f"; blocklist entries added: {', '.join(map(str, blocks))}" if blocks else "")
    )


@app.command()
def block(
    kind: str = typer.Argument(..., help="account, email, domain or ip_range."),
    value: str = typer.Argument(..., help="What to block (an IP range as CIDR)."),
    note: str | None = typer.Option(None, "--note", help="Why (no personal data)."),
) -> None:
    """Add a blocklist entry: matching submissions are quarantined."""
    from privacyops.intake import spam

    with open_service() as service, service.db.session() as session:
        entry = spam.add_block(
            session, service.audit, service.db.keyring, kind, value, actor=cli_actor(), note=note
        )
        console.print(f"blocklist entry {entry.id}: {entry.kind} {entry.display}")


@app.command()
def unblock(entry_id: int = typer.Argument(..., help="Blocklist entry id.")) -> None:
    """Remove a blocklist entry."""
    from privacyops.intake import spam

    with open_service() as service, service.db.session() as session:
        spam.remove_block(session, service.audit, entry_id, actor=cli_actor())
    console.print(f"blocklist entry {entry_id} removed")


@app.command()
def blocklist(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The blocklist (e-mail addresses and accounts shown masked)."""
    from privacyops.intake import spam

    with open_service() as service, service.db.session() as session:
        rows = spam.list_blocks(session)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    _table(rows, ["id", "kind", "value", "note", "created_by"], "Blocklist")


@app.command()
def rule(
    kind: str = typer.Argument(..., help="keyword or regex."),
    pattern: str = typer.Argument(..., help="The word(s) or regular expression."),
    note: str | None = typer.Option(None, "--note", help="Why."),
) -> None:
    """Add a keyword or regex rule (case-insensitive): matching submissions are quarantined."""
    from privacyops.intake import spam

    with open_service() as service, service.db.session() as session:
        added = spam.add_rule(session, service.audit, kind, pattern, actor=cli_actor(), note=note)
        console.print(f"rule {added.id}: {added.kind} {added.pattern!r}", highlight=False)


@app.command()
def unrule(rule_id: int = typer.Argument(..., help="Rule id.")) -> None:
    """Remove a rule."""
    from privacyops.intake import spam

    with open_service() as service, service.db.session() as session:
        spam.remove_rule(session, service.audit, rule_id, actor=cli_actor())
    console.print(f"rule {rule_id} removed")


@app.command()
def rules(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The keyword and regex rules."""
    from privacyops.intake import spam

    with open_service() as service, service.db.session() as session:
        rows = spam.list_rules(session)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    _table(rows, ["id", "kind", "pattern", "active", "note"], "Rules")
