"""The manifest schema: the shipped seed loads, references are checked, ids are unique."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from privacyops.policy import Manifest, default_policy_book


def test_seed_policy_loads_with_current_version() -> None:
    book = default_policy_book()
    current = book.current
    assert current.version.id == book.versions[-1].version.id
    assert current.contact_point.legal_name == "Altoros Norge AS"
    assert current.age_limit == 16


def test_reference_to_undeclared_category_is_refused() -> None:
    data = default_policy_book().current.model_dump(mode="json")
    data["channels"][0]["categories"].append("shoe_size")
    with pytest.raises(ValidationError, match="undeclared data category 'shoe_size'"):
        Manifest.model_validate(data)


def test_duplicate_ids_are_refused() -> None:
    data = default_policy_book().current.model_dump(mode="json")
    data["processors"].append(dict(data["processors"][0]))
    with pytest.raises(ValidationError, match="duplicate id"):
        Manifest.model_validate(data)


def test_unknown_field_is_refused() -> None:
    data = default_policy_book().current.model_dump(mode="json")
    data["favourite_colour"] = "blue"
    with pytest.raises(ValidationError, match="favourite_colour"):
        Manifest.model_validate(data)
