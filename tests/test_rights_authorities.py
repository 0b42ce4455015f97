"""Supervisory authorities of the EEA and the competent one for a complaint (GDPR Art. 77)."""

from __future__ import annotations

import pytest

from privacyops.errors import InvalidInput
from privacyops.rights.authorities import (
    EEA_COUNTRIES,
    all_authorities,
    answer_complaint,
    authority_for,
)


def test_all_thirty_eea_countries_have_an_authority_with_name_address_and_website() -> None:
    found = all_authorities()
    assert len(EEA_COUNTRIES) == 30
    assert set(found) == EEA_COUNTRIES
    for code, authority in found.items():
        assert authority.country == code
        assert authority.name.strip()
        assert authority.address.strip()
        assert authority.website.startswith("https://")


def test_germany_names_the_federal_commissioner_and_the_laender() -> None:
    de = authority_for("de")
    assert "BfDI" in de.name
    assert de.note is not None
    assert "Länder" in de.note


@pytest.mark.parametrize(
    ("person", "expected"),
    [("NO", "Datatilsynet"), ("PL", "UODO"), ("FR", "CNIL"), ("EL", "Hellenic")],
)
def test_complaint_goes_to_the_authority_where_the_person_lives(person: str, expected: str) -> None:
    answer = answer_complaint(person, "NO")
    assert expected in answer.authority.name + answer.authority.name_en
    assert "Art. 77" in answer.reason
    assert "Art. 79" in answer.judicial_remedy


@pytest.mark.parametrize("person", ["US", "BY", None])
def test_outside_the_eea_the_controllers_authority_answers(person: str | None) -> None:
    answer = answer_complaint(person, "NO")
    assert answer.authority.country == "NO"
    assert answer.authority.website == "https://www.datatilsynet.no"


@pytest.mark.parametrize("bad", ["", "NOR", "1A", "US"])
def test_bad_or_non_eea_country_is_invalid_input(bad: str) -> None:
    with pytest.raises(InvalidInput):
        authority_for(bad)
