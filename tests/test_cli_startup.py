"""The command line stays light: help and simple commands import only what they use.

Timing is in ``python -m bench startup``; these tests check the cause instead, so they cannot
flake on a busy machine: which heavy libraries a command imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# (pydantic itself is imported by Typer to run a sub-command; its settings package is not.)
HEAVY = (
    "sqlalchemy",
    "fastapi",
    "starlette",
    "uvicorn",
    "argon2",
    "alembic",
    "httpx",
    "pydantic_settings",
)


def _modules_after(*argv: str) -> set[str]:
    """Top-level packages imported by running ``privacyops ARGV`` in a fresh interpreter."""
    code = textwrap.dedent(
        f"""
        import json, sys
        sys.argv = ["privacyops", *{list(argv)!r}]
        from privacyops.cli import main
        try:
            main()
        except SystemExit:
            pass
        print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}})), file=sys.stderr)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "argv",
    [
        ("--help",),
        ("policy", "--help"),
        ("admin", "create", "--help"),
        ("request", "--help"),
        ("serve", "--help"),
        ("version",),
    ],
)
def test_help_imports_no_heavy_library(argv: tuple[str, ...]) -> None:
    imported = _modules_after(*argv)
    assert "typer" in imported  # the probe ran the command
    assert not imported & set(HEAVY), (
        f"privacyops {' '.join(argv)} imported {imported & set(HEAVY)}"
    )


def test_help_uses_plain_click_formatting() -> None:
    """Typer's Rich help imports Markdown and Pygments (~0.1 s a call): it stays off."""
    imported = _modules_after("--help")
    assert not imported & {"pygments", "markdown_it"}


def test_policy_lint_does_not_import_the_web_stack() -> None:
    imported = _modules_after("policy", "lint")
    assert "yaml" in imported  # it did load the policy
    assert not imported & {"fastapi", "starlette", "uvicorn", "argon2", "sqlalchemy", "httpx"}


def test_importing_the_accounts_service_computes_no_password_hash() -> None:
    code = "import privacyops.accounts.service as s; print(s._dummy_hash is None)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "True"


def test_retention_run_help_names_the_sweeps_default_chunk() -> None:
    """The CLI states the default in words so as not to import the sweep for ``--help``."""
    from typer.testing import CliRunner

    from privacyops.cli import app
    from privacyops.retention.sweep import DEFAULT_CHUNK

    shown = CliRunner().invoke(app, ["retention", "run", "--help"], terminal_width=200).output
    assert f"(default {DEFAULT_CHUNK:,})" in shown


class _Server:
    """The two flags of ``uvicorn.Server`` that ``after_start`` reads."""

    def __init__(self) -> None:
        self.started = False
        self.should_exit = False


def test_after_start_waits_for_the_server_then_runs_each_action_in_order() -> None:
    from privacyops.cli.serve import after_start

    server, ran = _Server(), []
    thread = after_start(server, lambda: ran.append("a"), lambda: ran.append("b"))
    thread.join(0.3)
    assert ran == []  # not before the server accepts connections
    server.started = True
    thread.join(10)
    assert ran == ["a", "b"]


def test_after_start_runs_nothing_when_the_server_stops_before_starting() -> None:
    from privacyops.cli.serve import after_start

    server, ran = _Server(), []
    thread = after_start(server, lambda: ran.append("a"))
    server.should_exit = True
    thread.join(10)
    assert not thread.is_alive()
    assert ran == []
