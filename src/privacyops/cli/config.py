"""``privacyops config``: the settings in force, checked."""

from __future__ import annotations

import json

import typer

app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="The settings in force.",
    no_args_is_help=True,
)


@app.command()
def check(
    as_json: bool = typer.Option(False, "--json", help="Print the settings as JSON."),
) -> None:
    """Read and check every setting; print the effective values (secrets masked).

    Exits 0 when every setting is valid, 2 naming each bad one otherwise.
    """
    from privacyops.settings import effective_settings, load_settings

    rows = effective_settings(load_settings())
    if as_json:
        typer.echo(json.dumps(dict(rows), indent=2))
        return
    width = max(len(name) for name, _ in rows)
    for name, shown in rows:
        typer.echo(f"{name.ljust(width)}  {shown}")
    typer.echo("settings are valid")
