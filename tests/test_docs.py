"""The README documents every setting, every CLI command and every HTTP route."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
import typer

from _web import all_routes
from privacyops.cli.app import app as cli_app
from privacyops.settings import Settings
from privacyops.web.app import create_app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _settings_table() -> str:
    section = README.split("## Settings", 1)[1]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_has_a_row_in_the_settings_table(name: str) -> None:
    assert f"`PRIVACYOPS_{name.upper()}`" in _settings_table()


def _commands(group: click.Command, prefix: str) -> list[str]:
    if isinstance(group, click.Group):
        out: list[str] = []
        for name, sub in sorted(group.commands.items()):
            out.extend(_commands(sub, f"{prefix} {name}"))
        return out
    return [prefix]


@pytest.mark.parametrize("command", _commands(typer.main.get_command(cli_app), "privacyops"))
def test_every_cli_command_is_in_the_readme(command: str) -> None:
    assert re.search(re.escape(command) + r"\b", README), f"{command!r} is not in README.md"


def _paths() -> list[str]:
    paths = {path for path, _, _ in all_routes(create_app(Settings()))}
    return sorted(paths - {"/api/docs", "/docs/oauth2-redirect"})


@pytest.mark.parametrize("path", _paths())
def test_every_route_is_in_the_readme(path: str) -> None:
    assert f"`{path}`" in README or f"{path}`" in README or f" {path} " in README, path
