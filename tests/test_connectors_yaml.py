"""Connector and dataset files are read by the one YAML reader (privacyops.yamlfile): a key
given twice, a recursive alias or an alias bomb is refused, and the error names the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from _connectors_shop import DATASET
from _crm_server import CONNECTOR_YAML
from privacyops.connectors import load_connector_file, load_dataset
from privacyops.errors import InvalidInput
from privacyops.settings import Settings


def line_of(text: str, needle: str, nth: int = 1) -> int:
    found = [i for i, s in enumerate(text.splitlines(), 1) if needle in s]
    return found[nth - 1]


def refused(path: Path, load: object) -> dict[str, object]:
    with pytest.raises(InvalidInput) as info:
        load()  # type: ignore[operator]
    assert str(info.value) == f"{path} is not valid YAML."
    (item,) = info.value.details
    return item


def test_dataset_with_a_key_given_twice_is_refused_at_the_second(tmp_path: Path) -> None:
    text = DATASET.replace("  system: Shop database\n", "  system: Shop database\n  name: other\n")
    path = tmp_path / "ds.yml"
    path.write_text(text)
    item = refused(path, lambda: load_dataset(path))
    second = line_of(text, "  name: other")
    assert item["line"] == second
    assert item["where"] == f"{path}:{second}"
    assert item["msg"] == f"duplicate key 'name' (first at line {line_of(text, '  name: shop')})"


def test_connector_file_with_a_key_given_twice_is_refused(
    tmp_path: Path, settings: Settings
) -> None:
    text = CONNECTOR_YAML.format(base_url="http://127.0.0.1:1")
    first = text.splitlines()[0]
    text = f"{first}\n{text}"  # the top-level key twice
    path = tmp_path / "crm.yml"
    path.write_text(text)
    item = refused(path, lambda: load_connector_file(path, settings))
    assert item["where"] == f"{path}:2"
    assert str(item["msg"]).startswith("duplicate key")


def test_dataset_with_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    text = DATASET + "extra: &loop\n  - *loop\n"
    path = tmp_path / "ds.yml"
    path.write_text(text)
    item = refused(path, lambda: load_dataset(path))
    assert item["msg"] == "an alias refers to its own ancestor"
    assert item["line"] == line_of(text, "extra: &loop")  # the anchor it refers to


def test_dataset_with_an_alias_bomb_is_refused(tmp_path: Path) -> None:
    bomb = "".join(
        f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]\n"
        for prev, name in zip("abcde", "bcdef", strict=True)
    )
    text = DATASET + "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + bomb
    path = tmp_path / "ds.yml"
    path.write_text(text)
    item = refused(path, lambda: load_dataset(path))
    assert "aliases expand it beyond its size" in str(item["msg"])
    assert line_of(text, "a: &a") <= int(str(item["line"])) <= len(text.splitlines())
