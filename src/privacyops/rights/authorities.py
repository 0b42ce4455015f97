"""Supervisory authorities of the EEA, and which one a complaint goes to (GDPR Art. 77).

The data (``rights/data/authorities.json``) lists the 30 EEA countries' authorities with name,
address and website. GDPR Art. 77(1): a person may complain "in the Member State of his or her
habitual residence, place of work or place of the alleged infringement". For a person living
in the EEA the answer is their country's authority; for anyone else, the authority of the
country where the answering entity (the manifest's contact point, our EEA representative) is
established, the place of the alleged infringement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from privacyops.errors import InvalidInput

__all__ = [
    "EEA_COUNTRIES",
    "Authority",
    "Complaint",
    "all_authorities",
    "answer_complaint",
    "authority_for",
]

#: The 27 EU Member States and the three EEA EFTA states (Iceland, Liechtenstein, Norway).
EEA_COUNTRIES: frozenset[str] = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
    ]
)


@dataclass(frozen=True, slots=True)
class Authority:
    """A supervisory authority (GDPR Art. 51)."""

    country: str
    name: str
    name_en: str
    address: str
    website: str
    note: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "country": self.country,
            "name": self.name,
            "name_en": self.name_en,
            "address": self.address,
            "website": self.website,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Complaint:
    """The answer to a complaint request: where to complain, and why there."""

    authority: Authority
    reason: str
    judicial_remedy: str

    def as_dict(self) -> dict[str, object]:
        return {
            "authority": self.authority.as_dict(),
            "reason": self.reason,
            "judicial_remedy": self.judicial_remedy,
        }


@lru_cache(maxsize=1)
def all_authorities() -> dict[str, Authority]:
    """Every EEA authority, by ISO 3166-1 alpha-2 country code (Greece is ``GR``)."""
    text = resources.files("privacyops.rights").joinpath("data/authorities.json").read_text("utf-8")
    raw = json.loads(text)["authorities"]
    return {
        code: Authority(
            country=code,
            name=item["name"],
            name_en=item["name_en"],
            address=item["address"],
            website=item["website"],
            note=item.get("note"),
        )
        for code, item in raw.items()
    }


def _code(country: str) -> str:
    code = country.strip().upper()
    if code == "EL":  # the EU's own code for Greece
        code = "GR"
    if len(code) != 2 or not code.isalpha():
        raise InvalidInput(
            "A country must be a two-letter ISO 3166-1 code.",
            details=[{"loc": ["country"], "msg": "expected a code like 'NO' or 'DE'"}],
        )
    return code


def authority_for(country: str) -> Authority:
    """The supervisory authority of an EEA country.

    Raises:
        InvalidInput: ``country`` is not a two-letter code of an EEA country.
    """
    code = _code(country)
    found = all_authorities().get(code)
    if found is None:
        raise InvalidInput(
            "No EEA supervisory authority is known for that country.",
            details=[{"loc": ["country"], "msg": "not an EEA country"}],
        )
    return found


JUDICIAL_REMEDY = (
    "You also have the right to an effective judicial remedy against us (GDPR Art. 79), before "
    "the courts of the EEA country where we are established or where you habitually reside, and "
    "against a legally binding decision of a supervisory authority (GDPR Art. 78)."
)


def answer_complaint(person_country: str | None, controller_country: str) -> Complaint:
    """The competent authority for a person's complaint (GDPR Art. 77(1)).

    Args:
        person_country: where the person habitually lives or works (``None``: not said).
        controller_country: where the answering entity is established (manifest contact point).
    """
    if person_country:
        code = _code(person_country)
        if code in EEA_COUNTRIES:
            return Complaint(
                authority_for(code),
                "The supervisory authority of the EEA country where you live or work "
                "(GDPR Art. 77(1)).",
                JUDICIAL_REMEDY,
            )
    return Complaint(
        authority_for(controller_country),
        "The supervisory authority where the controller that answers requests is established "
        "(the place of the alleged infringement, GDPR Art. 77(1)); you may also complain in the "
        "EEA country where you live or work.",
        JUDICIAL_REMEDY,
    )
