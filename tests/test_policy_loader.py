"""Loading manifests: every problem is one message with file:line:column, never a traceback."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from privacyops.errors import ManifestInvalid
from privacyops.policy import load_manifest, load_policy_book
from privacyops.policy.generate import minimal_manifest_data
from privacyops.policy.loader import MAX_MANIFEST_BYTES, source_map


def _write(tmp_path: Path, data: Any, name: str = "policy.yaml") -> tuple[Path, str]:
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path, text


def _where(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """Line and column (from 1) of the nth occurrence of ``needle`` in ``text``."""
    at = -1
    for _ in range(nth):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return line, column


def _problem(tmp_path: Path, data: Any) -> tuple[ManifestInvalid, str, Path]:
    path, text = _write(tmp_path, data)
    with pytest.raises(ManifestInvalid) as info:
        load_manifest(path)
    return info.value, text, path


def test_a_valid_manifest_loads_and_remembers_positions(tmp_path: Path) -> None:
    path, text = _write(tmp_path, minimal_manifest_data())
    m = load_manifest(path)
    smap = source_map(m)
    assert smap is not None
    assert smap.file == str(path)
    pos = smap.locate(("processors", 0, "country"))
    assert (pos.line, pos.column) == _where(text, "SE")


def _mutate(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = minimal_manifest_data()
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "needle", "nth", "message"),
    [
        pytest.param(
            lambda d: d.update(favourite_colour="blue"),
            "favourite_colour",
            1,
            "unknown field 'favourite_colour'",
            id="unknown-field",
        ),
        pytest.param(
            lambda d: d["processors"][0].update(country="Sweden"),
            "Sweden",
            1,
            "ISO 3166-1 alpha-2",
            id="wrong-country",
        ),
        pytest.param(
            lambda d: d.update(age_limit="sixteen"),
            "sixteen",
            1,
            "valid integer",
            id="wrong-type",
        ),
        pytest.param(
            lambda d: d["channels"][0]["processors"].append("ghost"),
            "ghost",
            1,
            "undeclared processor 'ghost'",
            id="undeclared-processor",
        ),
        pytest.param(
            lambda d: d["channels"][0]["purposes"].append("profit"),
            "profit",
            1,
            "undeclared purpose 'profit'",
            id="undeclared-purpose",
        ),
        pytest.param(
            lambda d: d["purposes"][0].update(categories=["shoe_size"]),
            "shoe_size",
            1,
            "undeclared data category 'shoe_size'",
            id="undeclared-category",
        ),
        pytest.param(
            lambda d: d["processors"].append(dict(d["processors"][0])),
            "id: mailer",
            3,  # recipients' id comes second; the duplicate processor's third
            "duplicate id 'mailer' in processors",
            id="duplicate-id",
        ),
    ],
)
def test_each_schema_problem_points_at_its_node(
    tmp_path: Path,
    change: Callable[[dict[str, Any]], None],
    needle: str,
    nth: int,
    message: str,
) -> None:
    data = _mutate(change)
    text = yaml.safe_dump(data, sort_keys=False)
    if needle == "id: mailer":
        # the duplicate processor follows the first in the processors list
        lines = text.splitlines()
        first = next(i for i, ln in enumerate(lines) if ln.strip() == "processors:")
        second = next(
            i for i, ln in enumerate(lines) if i > first + 1 and ln.strip() == "- id: mailer"
        )
        expected = (second + 1, lines[second].index("mailer") + 1)
    else:
        expected = _where(text, needle, nth)
    exc, _, path = _problem(tmp_path, text)
    assert len(exc.details) == 1, exc.details
    item = exc.details[0]
    assert message in item["msg"]
    assert (item["line"], item["column"]) == expected
    assert exc.message.startswith(f"{path}:{expected[0]}:{expected[1]}: ")
    assert exc.exit_code == 2


def test_several_problems_are_one_item_each(tmp_path: Path) -> None:
    data = minimal_manifest_data()
    data["processors"][0]["country"] = "Sweden"
    data["processors"][0]["colour"] = "blue"
    data["age_limit"] = 3
    exc, text, _ = _problem(tmp_path, data)
    assert len(exc.details) == 3
    lines = sorted(item["line"] for item in exc.details)
    assert lines == sorted(
        [_where(text, "Sweden")[0], _where(text, "colour")[0], _where(text, "age_limit")[0]]
    )
    assert "3 problems" in exc.message


def test_missing_field_points_at_the_mapping_that_lacks_it(tmp_path: Path) -> None:
    data = minimal_manifest_data()
    del data["processors"][0]["name"]
    exc, text, _ = _problem(tmp_path, data)
    (item,) = exc.details
    assert item["msg"] == "missing required field 'name'"
    assert item["line"] == _where(text, "id: mailer")[0]


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        pytest.param("version: {id: v1\n", "not valid YAML", (2, 1), id="malformed"),
        pytest.param("a: 1\nb: 2\na: 3\n", "duplicate key 'a' (first at line 1)", (3, 1), id="dup"),
        pytest.param(
            "- 1\n- 2\n", "expected a mapping at the top level, found list", (1, 1), id="list"
        ),
        pytest.param("a: !!python/name:os.system x\n", "not valid YAML", (1, 4), id="python-tag"),
        pytest.param("a: &x [*x]\n", "alias", None, id="recursive-alias"),
        pytest.param("---\na: 1\n---\nb: 2\n", "not valid YAML", (3, 1), id="two-documents"),
    ],
)
def test_unreadable_yaml_is_one_located_message(
    tmp_path: Path, text: str, message: str, position: tuple[int, int] | None
) -> None:
    exc, _, path = _problem(tmp_path, text)
    assert message in exc.message
    assert len(exc.details) == 1
    if position:
        assert exc.message.startswith(f"{path}:{position[0]}:{position[1]}: ")


def test_empty_file(tmp_path: Path) -> None:
    exc, _, path = _problem(tmp_path, "  \n")
    assert exc.message == f"{path}: is empty, expected a manifest (a YAML mapping)"


def test_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestInvalid, match="is a directory"):
        load_manifest(tmp_path)
    with pytest.raises(ManifestInvalid, match="no such file"):
        load_manifest(tmp_path / "nope.yaml")


def test_a_50_mb_file_is_refused_by_size_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:  # sparse: 50 MB on paper, nothing to parse
        fh.truncate(50 * 1024 * 1024)
    with pytest.raises(ManifestInvalid, match=r"over the .*-byte manifest limit") as info:
        load_manifest(path)
    assert os.path.getsize(path) > MAX_MANIFEST_BYTES
    assert info.value.exit_code == 2


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"organization: caf\xe9\n")
    with pytest.raises(ManifestInvalid, match=r":1:18: not UTF-8 text"):
        load_manifest(path)


def test_a_billion_laughs_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    exc, _, _ = _problem(tmp_path, "\n".join(lines) + "\n")
    assert "YAML nodes" in exc.message


def test_a_folder_reports_the_problems_of_every_file(tmp_path: Path) -> None:
    good = minimal_manifest_data()
    _write(tmp_path, good, "v1.yaml")
    bad = minimal_manifest_data()
    bad["version"] = {"id": "v2", "label": "Version 2", "order": 2}
    bad["channels"][0]["processors"] = ["ghost"]
    _write(tmp_path, bad, "v2.yaml")
    worse = minimal_manifest_data()
    worse["version"] = {"id": "v3", "label": "Version 3", "order": 3}
    worse["colour"] = "red"
    _write(tmp_path, worse, "v3.yaml")
    with pytest.raises(ManifestInvalid) as info:
        load_policy_book(tmp_path)
    files = sorted(Path(item["file"]).name for item in info.value.details)
    assert files == ["v2.yaml", "v3.yaml"]


def test_versions_with_the_same_order_do_not_form_a_book(tmp_path: Path) -> None:
    _write(tmp_path, minimal_manifest_data(), "a.yaml")
    other = minimal_manifest_data()
    other["version"]["id"] = "v1b"
    _write(tmp_path, other, "b.yaml")
    with pytest.raises(ManifestInvalid, match="do not form a policy book"):
        load_policy_book(tmp_path)
