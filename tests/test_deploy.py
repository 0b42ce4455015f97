"""The files of ``deploy/`` parse, and every privacyops command line in them is one the CLI
accepts (the command exists and takes those options), so the documented set-up runs."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest
import typer
import yaml
from typer.exceptions import TyperException

from privacyops.cli.app import app

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def accepted(argv: list[str]) -> str:
    """The sub-command ``argv`` (after ``privacyops``) runs; fails when the CLI refuses it."""
    assert argv, "an empty privacyops command"
    root = typer.main.get_command(app)
    command = getattr(root, "commands", {}).get(argv[0])
    assert command is not None, f"privacyops has no command {argv[0]!r}"
    command.make_context(argv[0], list(argv[1:]))  # raises on an unknown option or bad value
    return argv[0]


def privacyops_args(line: str) -> list[str]:
    words = shlex.split(line.replace("${PORT:-8000}", "8000").replace("%i", "8001"))
    at = next(i for i, w in enumerate(words) if Path(w).name == "privacyops")
    return words[at + 1 :]


def test_procfile_runs_web_worker_and_beat() -> None:
    lines = [
        line
        for line in (DEPLOY / "Procfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    processes = dict(line.split(":", 1) for line in lines)
    assert {name: accepted(privacyops_args(cmd)) for name, cmd in processes.items()} == {
        "web": "serve",
        "worker": "worker",
        "beat": "beat",
    }


@pytest.mark.parametrize(
    ("unit", "command"),
    [
        ("privacyops-web@.service", "serve"),
        ("privacyops-worker@.service", "worker"),
        ("privacyops-beat.service", "beat"),
    ],
)
def test_systemd_units(unit: str, command: str) -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string((DEPLOY / "systemd" / unit).read_text())
    assert set(parser.sections()) == {"Unit", "Service", "Install"}
    service = parser["Service"]
    assert accepted(privacyops_args(service["ExecStart"])) == command
    assert service["EnvironmentFile"] == "/etc/privacyops/privacyops.env"
    assert service["Restart"] == "on-failure"
    assert parser["Install"]["WantedBy"] == "multi-user.target"


def test_the_environment_example_runs_the_jobs_on_workers() -> None:
    env = dict(
        line.split("=", 1)
        for line in (DEPLOY / "privacyops.env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert env["PRIVACYOPS_RUNNER_ENABLED"] == "false"
    assert env["PRIVACYOPS_CELERY_BROKER_URL"].startswith("redis://")
    assert env["PRIVACYOPS_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_compose_file_has_postgres_redis_web_workers_and_one_beat() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    commands = {name: accepted(services[name]["command"][1:]) for name in ("web", "worker", "beat")}
    assert commands == {"web": "serve", "worker": "worker", "beat": "beat"}
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["PRIVACYOPS_RUNNER_ENABLED"] == "false"
        assert env["PRIVACYOPS_CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert env["PRIVACYOPS_DATABASE_URL"].split("@")[1].startswith("postgres:5432/")
        assert set(services[name]["depends_on"]) == {"postgres", "redis"}
    assert "deploy" not in services["beat"]  # one beat: never scaled
    assert (DEPLOY / services["web"]["build"]["dockerfile"].split("/")[-1]).is_file()


def test_a_refused_command_line_fails_the_check() -> None:
    with pytest.raises(TyperException, match="no-such-option"):
        accepted(["worker", "--no-such-option"])
    with pytest.raises(AssertionError):
        accepted(["no-such-command"])
