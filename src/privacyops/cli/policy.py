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
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from privacyops.errors import InvalidInput, ManifestInvalid, NotFound

if TYPE_CHECKING:
    from privacyops.policy import Manifest, PolicyBook
    from privacyops.policy.lint import Finding

app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="The policy manifest: lint, records of processing, render, diff.",
)

out_console = Console(highlight=False, soft_wrap=True, emoji=False)


class LintFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def load_book(path: Path | None) -> PolicyBook:
    """The book at ``path`` (a file or a folder of versions), else the configured one."""
    from privacyops.policy import load_configured_policy, load_policy_book
    from privacyops.settings import get_settings

    if path is not None:
        return load_policy_book(path)
    return load_configured_policy(get_settings())


def _json_error(exc: ManifestInvalid) -> None:
    sys.stdout.write(json.dumps(exc.to_dict(), indent=2) + "\n")
    raise typer.Exit(exc.exit_code)


_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


def _shown(location: str) -> str:
    """A location relative to the working directory when it lies under it."""
    cwd = str(Path.cwd()) + "/"
    return location.removeprefix(cwd)


def _print_finding(f: Finding) -> None:
    out_console.print(
        f"{escape(_shown(f.location))}: [{_STYLE[f.severity.value]}]{f.severity.value}[/] "
        f"[bold]{f.rule}[/] ({escape(f.article)})"
    )
    out_console.print(f"    {escape(f.where)}: {escape(f.reason)}")
    if f.waiver is not None:
        w = f.waiver
        out_console.print(
            f"    [bold]waived[/] by {escape(w.by)} on {w.date.isoformat()}: {escape(w.reason)}"
        )


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
    from privacyops.policy.lint import Severity, lint_book

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
            "waived": sum(1 for f in findings if f.waived),
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
            waived = sum(1 for f in mine if f.waived)
            if waived:
                summary += f"; {waived} waived by the DPO"
            out_console.print(f"  {len(mine)} findings ({summary})" if mine else "  clean")
    # A waived finding is shown but does not fail the lint: the DPO has answered it.
    if any(not f.waived for f in findings):
        raise typer.Exit(1)


# --- render and diff ---------------------------------------------------------------------------


class RenderFormat(StrEnum):
    HTML = "html"
    MD = "md"


def _version(book: PolicyBook, version: str | None) -> Manifest:
    if version is None:
        return book.current
    try:
        return book.get(version)
    except KeyError:
        known = ", ".join(m.version.id for m in book.versions)
        raise NotFound(f"no policy version '{version}' (versions: {known})") from None


def _manifest_arg(spec: str, policy: Path | None) -> Manifest:
    """A manifest named by a path (a file, or a folder of one version) or a version id."""
    from privacyops.policy import load_manifest, load_policy_book

    path = Path(spec)
    if path.exists():
        if path.is_dir():
            book = load_policy_book(path)
            if len(book.versions) != 1:
                known = ", ".join(m.version.id for m in book.versions)
                raise InvalidInput(
                    f"{path}: holds {len(book.versions)} versions ({known}); name one by its "
                    "file or by its id with --policy"
                )
            return book.current
        return load_manifest(path)
    return _version(load_book(policy), spec)


@app.command()
def render(
    version: str | None = typer.Option(
        None, "--version", "-v", help="Version id to render (default: the current one)."
    ),
    output_format: RenderFormat = typer.Option(RenderFormat.HTML, "--format", help="html or md."),
    policy: Path | None = typer.Option(
        None, "--policy", help="A manifest file or a folder of versions (default: configured)."
    ),
    notes: bool = typer.Option(
        False, "--notes", help="Append the manifest's notes (vague or contradictory text)."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file instead of standard output."
    ),
) -> None:
    """The human-readable policy (all twelve sections and contacts) generated from the manifest."""
    from privacyops.policy.render import render_policy

    manifest = _version(load_book(policy), version)
    text = render_policy(manifest, output_format.value, include_notes=notes)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        out_console.print(f"wrote {escape(str(output))}")


@app.command()
def diff(
    old: str = typer.Argument(..., help="The older version: a manifest file or a version id."),
    new: str = typer.Argument(..., help="The newer version: a manifest file or a version id."),
    output_format: LintFormat = typer.Option(LintFormat.TEXT, "--format", help="text or json."),
    policy: Path | None = typer.Option(
        None, "--policy", help="Book that version ids refer to (default: the configured policy)."
    ),
) -> None:
    """What changed between two versions: entities and roles, processors, purposes and bases,
    channels, retention (old and new rule), recipients, transfers, rights. Not a text diff."""
    from privacyops.policy.diff import diff_manifests

    result = diff_manifests(_manifest_arg(old, policy), _manifest_arg(new, policy))
    if output_format is LintFormat.JSON:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(result.to_text())


class RopaFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"


@app.command()
def ropa(
    version: str | None = typer.Option(
        None, "--version", "-v", help="Version id (default: the current one)."
    ),
    output_format: RopaFormat = typer.Option(RopaFormat.CSV, "--format", help="csv, xlsx or json."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="File to write (default: stdout; required for xlsx)."
    ),
    policy: Path | None = typer.Option(
        None, "--policy", help="A manifest file or a folder of versions (default: configured)."
    ),
) -> None:
    """GDPR Art. 30(1) records of processing, one row per channel and purpose.

    Columns: controller, representative and DPO; purpose and legal basis; data subjects; data
    categories; recipients; third-country transfers and safeguards; retention; security.
    """
    from privacyops.policy.ropa import build_ropa, ropa_csv, ropa_json, write_ropa_xlsx

    if output_format is RopaFormat.XLSX and output is None:
        raise typer.BadParameter("xlsx is binary: give a file", param_hint="--output")
    manifest = _version(load_book(policy), version)
    rows = build_ropa(manifest)
    if output_format is RopaFormat.XLSX and output is not None:
        write_ropa_xlsx(rows, output)
    else:
        text = ropa_csv(rows) if output_format is RopaFormat.CSV else ropa_json(rows) + "\n"
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
    if output is not None:
        typer.echo(
            f"{len(rows)} processing activities of {manifest.version.id} -> {output}", err=True
        )
