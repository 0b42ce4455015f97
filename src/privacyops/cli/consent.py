"""``privacyops consent``: verify and export signed receipts, opt-in/opt-out statistics."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from privacyops.errors import InvalidInput

app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="Consent records: receipts and statistics.",
    no_args_is_help=True,
)
console = Console()


@app.command("verify-receipt")
def verify_receipt(
    file: Path = typer.Argument(..., help="A receipt JSON file, as exported."),
    public_key: str | None = typer.Option(
        None,
        "--public-key",
        help="Base64url of the Ed25519 public key to trust (from /api/v1/consent/receipt-key). "
        "Default: this installation's key, when it has one.",
    ),
) -> None:
    """Check a consent receipt's signature: exit 0 when it is intact and signed by the trusted
    key, 6 when it was altered or signed by another key."""
    from privacyops.consent.signing import KEY_FILE_NAME, load_signing_key, verify_document
    from privacyops.settings import get_settings

    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput(f"{file}: not a readable JSON file.") from None
    trusted = public_key
    source = "the key given with --public-key"
    settings = get_settings()
    if trusted is None and (settings.data_dir / KEY_FILE_NAME).exists():
        trusted = load_signing_key(settings, create=False).public_b64
        source = "this installation's key"
    if trusted is None:
        source = "the key embedded in the receipt (no trusted key given or installed)"
    payload, key_id = verify_document(document, trusted_public_key=trusted)
    history = payload.get("history") or []
    console.print(f"[green]valid[/green]: signed by key {key_id}, {source}", highlight=False)
    console.print(
        f"receipt {payload.get('consentReceiptID')} for {payload.get('piiPrincipalId')}: "
        f"{len(history)} record(s), issued {payload.get('issuedAt')}",
        highlight=False,
        markup=False,
    )


@app.command()
def receipt(
    visitor: str | None = typer.Option(None, "--visitor", help="Pseudonymous visitor id."),
    subject: str | None = typer.Option(None, "--subject", help="Data subject public id."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
) -> None:
    """Export a visitor's or data subject's consent history as a signed receipt."""
    from privacyops.consent.service import ConsentService
    from privacyops.settings import get_settings

    if bool(visitor) == bool(subject):
        raise InvalidInput("Give exactly one of --visitor and --subject.")
    service = ConsentService(get_settings())
    try:
        document = service.receipt(visitor_id=visitor, subject_id=subject)
    finally:
        service.close()
        service.db.dispose()
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"receipt written to {output}", highlight=False, markup=False)


@app.command()
def stats(
    days: int = typer.Option(30, "--days", min=1, max=400, help="How many days back."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Opt-in and opt-out rates per banner category per day (UTC)."""
    from privacyops.consent.service import ConsentService
    from privacyops.settings import get_settings

    service = ConsentService(get_settings())
    try:
        rates = service.stats(days=days)
    finally:
        service.db.dispose()
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in rates], indent=2))
        return
    table = Table(title=f"Consent rates, last {days} day(s)")
    for column in ("day", "category", "answers", "opt-in", "opt-out", "opt-in %", "gpc"):
        table.add_column(column, justify="right" if column not in ("day", "category") else "left")
    for r in rates:
        table.add_row(
            r.day.isoformat(),
            r.category,
            str(r.answers),
            str(r.opt_in),
            str(r.opt_out),
            f"{100 * r.opt_in_rate:.1f}",
            str(r.gpc),
        )
    console.print(table)
    if not rates:
        console.print("no consent recorded in this period")
