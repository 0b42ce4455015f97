"""A bad setting says which one, what it got and what it expects, and exits 2: for every
command and for ``serve``. ``config check`` prints the settings in force, secrets masked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from privacyops.cli import main
from privacyops.cli.app import app
from privacyops.settings import Settings, get_settings

SRC = Path(__file__).resolve().parents[1] / "src"


def _run_main(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["privacyops", *argv])
    with pytest.raises(SystemExit) as done:
        main()
    code = done.value.code
    assert isinstance(code, int)
    return code


@pytest.mark.parametrize("argv", [["audit", "tail"], ["request", "list"], ["config", "check"]])
def test_a_bad_number_names_the_setting_value_and_expectation(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PRIVACYOPS_PORT", "eighty")
    assert _run_main(argv, monkeypatch) == 2
    err = capsys.readouterr().err
    assert "PRIVACYOPS_PORT" in err
    assert "'eighty'" in err
    assert "valid integer" in err
    assert "internal error" not in err


def test_every_bad_setting_is_named_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PRIVACYOPS_CLOCK_START", "tomorrow")
    monkeypatch.setenv("PRIVACYOPS_GPC_REFUSES", "advertising,cookies")
    assert _run_main(["config", "check"], monkeypatch) == 2
    err = capsys.readouterr().err
    assert "PRIVACYOPS_CLOCK_START: got 'tomorrow': Input should be 'receipt' or" in err
    assert "PRIVACYOPS_GPC_REFUSES[1]: got 'cookies'" in err


def test_a_broken_json_list_says_what_a_list_takes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PRIVACYOPS_SITE_ORIGINS", '["unclosed"')
    assert _run_main(["config", "check"], monkeypatch) == 2
    err = capsys.readouterr().err
    assert "PRIVACYOPS_SITE_ORIGINS" in err
    assert "comma-separated values or a JSON array" in err


def test_list_settings_take_comma_separated_values_as_the_docs_show(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRIVACYOPS_SITE_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("PRIVACYOPS_GPC_REFUSES", "analytics,advertising")
    monkeypatch.setenv("PRIVACYOPS_INTAKE_PUBLIC_CHANNELS", '["web_form"]')
    settings = get_settings()
    assert settings.site_origins == ["https://a.example", "https://b.example"]
    assert settings.gpc_refuses == ["analytics", "advertising"]
    assert settings.intake_public_channels == ["web_form"]


def test_an_unknown_key_in_the_settings_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = tmp_path / "privacyops.toml"
    toml.write_text('smtp_hots = "mail.example"\n')
    monkeypatch.setenv("PRIVACYOPS_CONFIG_FILE", str(toml))
    assert _run_main(["config", "check"], monkeypatch) == 2
    err = capsys.readouterr().err
    assert "PRIVACYOPS_SMTP_HOTS: no such setting" in err


def test_config_check_prints_the_settings_in_force_with_secrets_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRIVACYOPS_SMTP_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("PRIVACYOPS_DATABASE_URL", "postgresql+psycopg://app:pw-secret@db/app")
    monkeypatch.setenv("PRIVACYOPS_PORT", "8123")
    out = CliRunner().invoke(app, ["config", "check"], terminal_width=200)
    assert out.exit_code == 0, out.output
    assert "hunter2-secret" not in out.output
    assert "pw-secret" not in out.output
    lines = {line.split()[0]: line.split(maxsplit=1)[1] for line in out.output.splitlines()[:-1]}
    assert lines["PRIVACYOPS_PORT"] == "8123"
    assert lines["PRIVACYOPS_SMTP_PASSWORD"] == "********"
    assert lines["PRIVACYOPS_DATABASE_URL"] == "postgresql+psycopg://app:********@db/app"
    assert set(lines) == {f"PRIVACYOPS_{name.upper()}" for name in Settings.model_fields}
    assert out.output.splitlines()[-1] == "settings are valid"


@pytest.mark.slow
def test_serve_with_a_bad_setting_names_it_and_exits_2(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRIVACYOPS_")},
        "PYTHONPATH": str(SRC),
        "PRIVACYOPS_DATA_DIR": str(tmp_path / "data"),
        "PRIVACYOPS_PORT": "99999",
    }
    done = subprocess.run(
        [sys.executable, "-m", "privacyops", "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "PRIVACYOPS_PORT: got '99999': Input should be less than or equal to 65535" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr + done.stdout
