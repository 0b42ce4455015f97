"""The root Typer application and the one place that turns errors into exit codes.

Start-up cost matters here: ``privacyops --help`` builds every sub-command, so the modules of
``privacyops.cli`` import only Typer, Rich and the standard library at their top, and import
the domain packages (SQLAlchemy, FastAPI, the policy models, ...) inside the command that uses
them. ``tests/test_cli_startup.py`` keeps it that way; ``python -m bench startup`` measures it.
"""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.text import Text

from privacyops import __version__
from privacyops.cli import (
    admin,
    audit,
    breach,
    config,
    connectors,
    consent,
    contracts,
    dataset,
    dpia,
    intake,
    policy,
    request,
    retention,
    serve,
    spam,
    text,
    worker,
)
from privacyops.errors import PrivacyOpsError

app = typer.Typer(
    # Plain Click help and errors: Typer's Rich formatting imports Markdown, Pygments and
    # tracebacks (~0.1 s of CPU on every --help). Every sub-app sets this too.
    rich_markup_mode=None,
    name="privacyops",
    help="Runs a company's privacy policy: policy as code, consent, rights, retention, audit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

err_console = Console(stderr=True, emoji=False)


@app.command()
def version() -> None:
    """Print the privacyops version."""
    typer.echo(__version__)


# Sub-command groups, one line each.
app.add_typer(audit.app, name="audit")
app.add_typer(dataset.app, name="dataset")
app.add_typer(admin.app, name="admin")
app.add_typer(policy.app, name="policy")
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.command("beat")(worker.beat)
app.add_typer(intake.app, name="intake")
app.add_typer(spam.app, name="spam")
app.add_typer(retention.app, name="retention")
app.add_typer(consent.app, name="consent")
app.add_typer(request.app, name="request")
app.add_typer(connectors.app, name="connectors")
app.add_typer(config.app, name="config")
app.add_typer(text.app, name="text")
app.add_typer(breach.app, name="breach")
app.add_typer(dpia.app, name="dpia")
app.add_typer(contracts.app, name="contracts")


def report_error(exc: PrivacyOpsError, *, as_json: bool = False) -> None:
    """Print one error the way every command does: a line per problem, or the JSON shape."""
    if as_json:
        sys.stdout.write(json.dumps(exc.to_dict(), indent=2) + "\n")
        return
    # Text, not markup: messages quote ids in brackets ("processors[google-analytics]").
    err_console.print(Text("error: ", style="red") + exc.message, highlight=False, soft_wrap=True)
    if len(exc.details) == 1 and str(exc.details[0].get("msg", "")) in exc.message:
        return  # the message already says it: one message per problem
    for item in exc.details:
        where = item.get("where") or ".".join(str(p) for p in item.get("loc", []))
        err_console.print(
            f"  {where}: {item.get('msg', '')}", highlight=False, markup=False, soft_wrap=True
        )


def main() -> None:
    """Entry point of the ``privacyops`` script: run the app, map errors to exit codes."""
    try:
        rv = app(standalone_mode=False)
    except PrivacyOpsError as exc:
        report_error(exc)
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        err_console.print("aborted")
        raise SystemExit(1) from None
    except SystemExit:
        raise
    except Exception as exc:  # the last line of defence: no traceback for a user
        # Click's errors (usage: exit 2): Typer >= 0.20 raises those of its vendored copy of
        # Click, which are not click.ClickException, so recognise them by their interface.
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            raise SystemExit(code) from None
        err_console.print(f"[red]internal error:[/red] {type(exc).__name__}", highlight=False)
        raise SystemExit(70) from None
    raise SystemExit(rv if isinstance(rv, int) else 0)
