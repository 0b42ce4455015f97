"""``privacyops policy ...``: lint, records of processing (and render, diff) of the manifest.

Every command reads the configured policy book (``PRIVACYOPS_POLICY_PATH``, default the
embedded seed policy) unless given a path. A manifest that does not load exits with code 2
and one line per problem, ``file:line:column: path: message``.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from privacyops.errors import ManifestInvalid
from privacyops.policy import PolicyBook, load_configured_policy, load_policy_book
from privacyops.policy.lint import Finding, Severity, lint_book
from privacyops.settings import get_settings

app = typer.Typer(help="The policy manifest: lint, records of processing, render, diff.")

out_console = Console(highlight=False, soft_wrap=True, emoji=False)


class LintFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def load_book(path: Path | None) -> PolicyBook:
    """The book at ``path`` (a file or a folder of versions), else the configured one."""
    if path is not None:
        return load_policy_book(path)
    return load_configured_policy(get_settings())


def _json_error(exc: ManifestInvalid) -> None:
    sys.stdout.write(json.dumps(exc.to_dict(), indent=2) + "\n")
    raise typer.Exit(exc.exit_code)


_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _print_finding(f: Finding) -> None:
    out_console.print(
        f"{escape(f.location)}: [{_STYLE[f.severity]}]{f.severity.value}[/] "
        f"[bold]{f.rule}[/] ({escape(f.article)})"
    )
    out_console.print(f"    {escape(f.where)}: {escape(f.reason)}")


@app.command()
def lint(
    path: Path | None = typer.Argument(
        None, help="A manifest file or a folder of versions (default: the configured policy)."
    ),
    output_format: LintFormat = typer.Option(LintFormat.TEXT, "--format", help="text or json."),
) -> None:
    """Check the manifest: schema errors first (exit 2), then compliance findings (exit 1).

    Each finding names its rule, severity, location, reason and GDPR article. Exit 0 when
    every version is clean.
    """
    try:
        book = load_book(path)
    except ManifestInvalid as exc:
        if output_format is LintFormat.JSON:
            _json_error(exc)
        raise
    findings = lint_book(book)
    if output_format is LintFormat.JSON:
        body = {
            "versions": [m.version.id for m in book.versions],
            "count": len(findings),
            "findings": [f.to_dict() for f in findings],
        }
        sys.stdout.write(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    else:
        for m in book.versions:
            mine = [f for f in findings if f.version == m.version.id]
            out_console.print(f"[bold]{escape(m.version.id)}[/] {escape(m.version.label)}")
            for f in mine:
                _print_finding(f)
            counts = {s: sum(1 for f in mine if f.severity is s) for s in Severity}
            summary = ", ".join(f"{s.value}: {n}" for s, n in counts.items())
            out_console.print(f"  {len(mine)} findings ({summary})" if mine else "  clean")
    if findings:
        raise typer.Exit(1)
