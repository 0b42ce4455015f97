"""Every ``privacyops policy`` command, given a bad manifest, exits 2 with one clear message
that says where, and never a traceback (the real CLI, in a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from privacyops.policy.generate import minimal_manifest_data

SRC = Path(__file__).resolve().parents[1] / "src"

# Each command reads the configured policy (PRIVACYOPS_POLICY_PATH) when given no path.
COMMANDS = {
    "lint": ["policy", "lint"],
    "lint-json": ["policy", "lint", "--format", "json"],
    "ropa": ["policy", "ropa"],
    "ropa-xlsx": ["policy", "ropa", "--format", "xlsx", "--output", "out.xlsx"],
    "render": ["policy", "render"],
    "diff": ["policy", "diff", "v1", "v2"],
}


def _run(args: list[str], policy_path: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "PRIVACYOPS_POLICY_PATH": str(policy_path),
        "PRIVACYOPS_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "privacyops", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _bad(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """A bad manifest of ``kind`` and the text its message must contain."""
    path = tmp_path / "policy.yaml"
    data = minimal_manifest_data()
    if kind == "malformed":
        path.write_text("version: {id: v1\norganization: [x\n")
        return path, f"{path}:2:13: not valid YAML: while parsing a flow mapping"
    if kind == "unknown-field":
        data["processors"][0]["colour"] = "blue"
        text = yaml.safe_dump(data, sort_keys=False)
        at = text.index("colour")
        line = text[:at].count("\n") + 1
        column = at - text.rfind("\n", 0, at)
        path.write_text(text)
        return path, f"{path}:{line}:{column}: processors[0].colour: unknown field 'colour'"
    if kind == "wrong-type":
        data["age_limit"] = "sixteen"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path, "age_limit: Input should be a valid integer"
    if kind == "duplicate-id":
        data["purposes"].append(dict(data["purposes"][0]))
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path, "purposes[1].id: duplicate id 'contract' in purposes"
    if kind == "undeclared":
        data["channels"][0]["processors"].append("ghost")
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path, "channels[0].processors[1]: undeclared processor 'ghost'"
    if kind == "duplicate-key":
        text = yaml.safe_dump(data, sort_keys=False) + "organization: Other\n"
        path.write_text(text)
        return path, "duplicate key 'organization'"
    if kind == "empty":
        path.write_text("")
        return path, f"{path}: is empty"
    if kind == "directory":
        folder = tmp_path / "folder"
        folder.mkdir()
        return folder, f"{folder}: no *.yaml manifest files in this folder"
    if kind == "missing":
        return tmp_path / "nope.yaml", "nope.yaml: no such file"
    if kind == "huge":
        with path.open("wb") as fh:
            fh.truncate(50 * 1024 * 1024)
        return path, "over the 5,000,000-byte manifest limit"
    raise AssertionError(kind)


KINDS = [
    "malformed",
    "unknown-field",
    "wrong-type",
    "duplicate-id",
    "undeclared",
    "duplicate-key",
    "empty",
    "directory",
    "missing",
    "huge",
]


# Every kind through lint; a sample of kinds through the other commands (each run is a new
# interpreter: keep the count down). All commands share one loader.
CASES = [("lint", kind) for kind in KINDS] + [
    ("lint-json", "undeclared"),
    ("ropa", "unknown-field"),
    ("ropa", "huge"),
    ("ropa-xlsx", "duplicate-id"),
    ("render", "malformed"),
    ("diff", "empty"),
]


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_bad_manifest_exits_2_with_one_message(name: str, kind: str, tmp_path: Path) -> None:
    command = COMMANDS[name]
    path, expected = _bad(tmp_path, kind)
    result = _run(command, path, tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    both = result.stdout + result.stderr
    assert "Traceback" not in both
    if "json" in command:
        assert expected in result.stdout
        assert '"code": "manifest_invalid"' in result.stdout
    else:
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, lines  # one problem, one line
        assert lines[0].startswith("error: ")
        assert expected in lines[0]


def test_lint_takes_the_path_as_argument_too(tmp_path: Path) -> None:
    path, expected = _bad(tmp_path, "undeclared")
    result = _run(["policy", "lint", str(path)], tmp_path / "unused.yaml", tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr


def test_diff_of_a_bad_file_argument(tmp_path: Path) -> None:
    path, expected = _bad(tmp_path, "wrong-type")
    result = _run(["policy", "diff", str(path), "v3"], tmp_path / "unused.yaml", tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert expected in result.stderr
