"""The root Typer application and the one place that turns errors into exit codes."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.text import Text

from privacyops import __version__
from privacyops.errors import PrivacyOpsError

app = typer.Typer(
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


# Sub-command groups register here, one line each.
# (imports at the bottom so each module can import ``app`` helpers without a cycle)


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


from privacyops.cli import audit as _audit  # noqa: E402  (sub-commands register after app)

app.add_typer(_audit.app, name="audit")

from privacyops.cli import dataset as _dataset  # noqa: E402  (registered after app exists)

app.add_typer(_dataset.app, name="dataset")

from privacyops.cli import admin as _admin  # noqa: E402  (registered after app exists)

app.add_typer(_admin.app, name="admin")

from privacyops.cli import policy as _policy  # noqa: E402  (registered after app exists)

app.add_typer(_policy.app, name="policy")

from privacyops.cli import serve as _serve  # noqa: E402  (registered after app exists)

app.command("serve")(_serve.serve)

from privacyops.cli import intake as _intake  # noqa: E402  (registered after app exists)

app.add_typer(_intake.app, name="intake")

from privacyops.cli import spam as _spam  # noqa: E402  (registered after app exists)

app.add_typer(_spam.app, name="spam")

from privacyops.cli import retention as _retention  # noqa: E402  (registered after app exists)

app.add_typer(_retention.app, name="retention")

from privacyops.cli import consent as _consent  # noqa: E402  (registered after app exists)

app.add_typer(_consent.app, name="consent")

from privacyops.cli import request as _request  # noqa: E402  (registered after app exists)

app.add_typer(_request.app, name="request")

from privacyops.cli import connectors as _connectors  # noqa: E402  (registered after app exists)

app.add_typer(_connectors.app, name="connectors")
