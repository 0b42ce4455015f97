"""``privacyops dataset``: draft and check the dataset files of SQL connectors."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from privacyops.errors import InvalidInput

app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="Draft and lint dataset files (what a SQL database holds about people).",
)
console = Console()


@app.command()
def generate(
    url: str = typer.Argument(..., help="SQLAlchemy URL of the database to read."),
    name: str = typer.Option("dataset", "--name", help="Name of the dataset."),
    schema: str | None = typer.Option(None, "--schema", help="Database schema to read."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file instead of standard output."
    ),
) -> None:
    """Draft a dataset file from a database's schema, guessing categories from column names."""
    from privacyops.connectors import generate_dataset

    text = generate_dataset(url, name=name, schema=schema)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}", highlight=False)


@app.command()
def lint(
    file: Path = typer.Argument(..., help="The dataset YAML file."),
    url: str | None = typer.Option(
        None, "--url", help="Also compare with this live database (tables, columns, keys)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the problems as JSON."),
    policy: bool = typer.Option(
        True,
        "--policy/--no-policy",
        help="Refuse data categories the policy in force does not declare "
        "(PRIVACYOPS_POLICY_PATH or the embedded default).",
    ),
) -> None:
    """Check a dataset file; exit 2 when it has errors (each with file:line)."""
    from privacyops.connectors import lint_dataset, load_dataset
    from privacyops.connectors.lint import policy_categories
    from privacyops.policy import load_configured_policy
    from privacyops.settings import get_settings

    parsed = load_dataset(file)
    declared = policy_categories(load_configured_policy(get_settings()).current) if policy else None
    problems = lint_dataset(parsed, engine=url, declared_categories=declared)
    errors = [p for p in problems if p.severity == "error"]
    if as_json:
        typer.echo(json.dumps([p.to_detail() for p in problems], indent=2))
    else:
        for p in problems:
            colour = "red" if p.severity == "error" else "yellow"
            console.print(
                f"{p.where}: [{colour}]{p.severity}[/{colour}]: {p.msg}",
                highlight=False,
                soft_wrap=True,
            )
        if not problems:
            console.print(f"{file}: ok", highlight=False)
    if errors:
        if as_json:
            raise typer.Exit(InvalidInput.exit_code)
        raise InvalidInput(f"Dataset {file} has {len(errors)} error(s).")
