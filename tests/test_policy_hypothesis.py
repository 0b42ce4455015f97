"""Property: any valid manifest survives load -> dump (YAML) -> load unchanged, and its dump
is stable (Hypothesis generates the manifests)."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacyops.policy import default_policy_book
from privacyops.policy.loader import dump_manifest, loads_manifest
from privacyops.policy.schema import (
    ConsentCategory,
    ConsentMechanism,
    EntityRole,
    LegalBasis,
    Manifest,
    ProcessorRole,
    RetentionStart,
    RightKind,
    Safeguard,
)

# Text that YAML likes to misread: booleans, nulls, numbers, dates, colons, quotes, unicode.
TRICKY = st.sampled_from(
    ["yes", "no", "on", "null", "~", "1.0", "0x1F", "2021-09-01", "a: b", "- x", "#x", "'", '"',
     "Kongens gate 3", "Zürich", "Мінск", "", " lead", "trail ", "multi\nline", "tab\tx", "%x"]
)  # fmt: skip
TEXT = st.one_of(
    TRICKY,
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        max_size=40,
    ),
)
SLUG = st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,12}", fullmatch=True)
COUNTRY = st.sampled_from(["NO", "FI", "PL", "US", "AR", "BY", "IE", "JP", "CH", "GB", "IN"])


def _enum(e: Any) -> st.SearchStrategy[str]:
    return st.sampled_from([m.value for m in e])


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(SLUG, min_size=8, max_size=20, unique=True))
    cats, rest = ids[:3], ids[3:]
    purposes, procs = rest[:2], rest[2:5]
    data: dict[str, Any] = {
        "version": {
            "id": draw(SLUG),
            "label": draw(TEXT),
            "order": draw(st.integers(1, 9)),
            "effective_from": draw(st.none() | st.dates().map(str)),
        },
        "organization": draw(TEXT),
        "entities": [
            {
                "id": "entity",
                "legal_name": draw(TEXT),
                "country": draw(COUNTRY),
                "address": draw(st.none() | TEXT),
                "roles": draw(st.lists(_enum(EntityRole), min_size=1, max_size=3, unique=True)),
            }
        ],
        "data_categories": [
            {"id": c, "name": draw(TEXT), "special": draw(st.booleans())} for c in cats
        ],
        "purposes": [
            {
                "id": p,
                "name": draw(TEXT),
                "legal_basis": draw(st.none() | _enum(LegalBasis)),
                "consent_mechanism": draw(st.none() | _enum(ConsentMechanism)),
                "categories": draw(st.lists(st.sampled_from(cats), max_size=3, unique=True)),
            }
            for p in purposes
        ],
        "processors": [
            {
                "id": p,
                "name": draw(TEXT),
                "country": draw(st.none() | COUNTRY),
                "roles": draw(st.lists(_enum(ProcessorRole), min_size=1, max_size=2, unique=True)),
                "transfer_safeguard": draw(st.none() | _enum(Safeguard)),
                "tracker": draw(
                    st.none()
                    | st.fixed_dictionaries(
                        {
                            "consent_category": _enum(ConsentCategory),
                            "legal_basis": st.none() | _enum(LegalBasis),
                        }
                    )
                ),
                "privacy_policy_urls": draw(
                    st.lists(
                        st.text(string.ascii_lowercase, min_size=1, max_size=8).map(
                            lambda s: f"https://{s}.example.com/privacy"
                        ),
                        max_size=2,
                    )
                ),
            }
            for p in procs
        ],
        "channels": [
            {
                "id": "channel",
                "name": draw(TEXT),
                "section": draw(TEXT),
                "categories": draw(st.lists(st.sampled_from(cats), min_size=1, unique=True)),
                "purposes": draw(st.lists(st.sampled_from(purposes), unique=True)),
                "processors": draw(st.lists(st.sampled_from(procs), unique=True)),
                "retention": draw(
                    st.none()
                    | st.fixed_dictionaries(
                        {
                            "years": st.integers(1, 100),
                            "months": st.integers(0, 24),
                            "starts_from": _enum(RetentionStart),
                        }
                    )
                ),
                "notes": draw(
                    st.lists(
                        st.fixed_dictionaries({"section": TEXT, "text": TEXT.filter(bool)}),
                        max_size=2,
                    )
                ),
            }
        ],
        "transfers": [
            {
                "id": "t",
                "destination": draw(COUNTRY),
                "exporter": "entity",
                "safeguard": draw(_enum(Safeguard)),
            }
        ],
        "security_measures": draw(st.lists(TEXT, max_size=3)),
        "age_limit": draw(st.integers(13, 18)),
        "rights": {
            "offered": [
                {"kind": k, "title": draw(TEXT)}
                for k in draw(st.lists(_enum(RightKind), min_size=1, unique=True))
            ]
        },
    }
    return data


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests())
def test_load_dump_load_is_stable(data: dict[str, Any]) -> None:
    first = Manifest.model_validate(data)
    text = dump_manifest(first)
    second = loads_manifest(text)
    assert second.model_dump() == first.model_dump()
    assert dump_manifest(second) == text


def test_the_seed_versions_round_trip() -> None:
    for m in default_policy_book().versions:
        text = dump_manifest(m)
        again = loads_manifest(text, f"{m.version.id}.yaml")
        assert again.model_dump() == m.model_dump()
        assert dump_manifest(again) == text
