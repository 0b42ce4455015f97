"""The docs: reference pages generated from the code, every command/setting/route documented,
the site builds strictly, and the README keeps its two commands and working links."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer

from _web import all_routes
from privacyops.cli.app import app as cli_app
from privacyops.settings import Settings
from privacyops.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _reference_pages() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "reference_pages", ROOT / "scripts/reference_pages.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = _reference_pages()


@pytest.mark.parametrize("page", sorted(REFERENCE.PAGES))
def test_reference_page_matches_the_code(page: str) -> None:
    expected = REFERENCE.PAGES[page]()
    assert (DOCS / page).read_text(encoding="utf-8") == expected, (
        f"docs/{page} has drifted from the code: run python scripts/reference_pages.py"
    )


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_has_a_row_in_the_settings_page(name: str) -> None:
    assert f"| `PRIVACYOPS_{name.upper()}` |" in (DOCS / "settings.md").read_text(encoding="utf-8")


def _commands(command: Any, prefix: str) -> list[str]:
    # Typer >= 0.20 builds on its own copy of Click: recognise groups by their interface.
    subcommands = getattr(command, "commands", None)
    if subcommands:
        out: list[str] = []
        for name, sub in sorted(subcommands.items()):
            out.extend(_commands(sub, f"{prefix} {name}"))
        return out
    return [prefix]


COMMANDS = _commands(typer.main.get_command(cli_app), "privacyops")


def test_the_command_walk_finds_the_commands() -> None:
    assert len(COMMANDS) > 40
    assert "privacyops admin token create" in COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_every_cli_command_has_a_section_in_the_cli_page(command: str) -> None:
    assert f"\n### {command}\n" in (DOCS / "cli.md").read_text(encoding="utf-8")


def _paths() -> list[str]:
    paths = {path for path, _, _ in all_routes(create_app(Settings()))}
    return sorted(paths - {"/docs/oauth2-redirect"})


@pytest.mark.parametrize("path", _paths())
def test_every_route_has_a_row_in_the_http_page(path: str) -> None:
    assert f"<code>{path}</code>" in (DOCS / "http-api.md").read_text(encoding="utf-8")


def test_readme_keeps_the_two_commands_and_its_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make serve    # set-up + start the service" in readme
    assert "make test     # set-up + PostgreSQL, Redis, Chromium" in readme
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert len(local) > 10
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, f"README links to missing files: {missing}"


@pytest.mark.skipif(
    shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None,
    reason="mkdocs is in the dev extra",
)
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    """``mkdocs build --strict``: a broken link, a missing anchor or a page missing from the
    navigation fails the build."""
    mkdocs = str(Path(sys.executable).parent / "mkdocs")
    done = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "cli" / "index.html").is_file()
    assert "privacyops policy lint" in (tmp_path / "site" / "cli" / "index.html").read_text()
