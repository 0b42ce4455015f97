"""The shipped seed policy: the facts of each version, the notes where the text is unclear, and
the manifest example of docs/policy.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from fideslang.default_taxonomy import DEFAULT_TAXONOMY

from privacyops.policy import Manifest, default_policy_book
from privacyops.policy.schema import ConsentCategory, RetentionStart, Safeguard

ROOT = Path(__file__).resolve().parents[1]
BOOK = default_policy_book()


def all_notes(m: Manifest) -> str:
    texts = [n.text for n in m.notes]
    for group in (m.entities, m.purposes, m.channels, m.processors, m.transfers):
        for item in group:
            texts.extend(n.text for n in item.notes)
    return "\n".join(texts)


def test_versions_in_order() -> None:
    assert [m.version.id for m in BOOK.versions] == ["v1", "v2", "v3"]
    assert BOOK.get("v1").version.reviewed == "September 2021"
    assert all(m.version.effective_from is None for m in BOOK.versions)  # not stated


@pytest.mark.parametrize(("version", "count"), [("v1", 44), ("v2", 45), ("v3", 45)])
def test_every_named_service_is_a_processor(version: str, count: int) -> None:
    m = BOOK.get(version)
    assert len(m.processors) == count
    assert ("mrp" in {p.id for p in m.processors}) is (version != "v1")
    without_link = [p.id for p in m.processors if not p.privacy_policy_urls]
    assert without_link == ["amazon"]  # named only in section 8, with no link
    by_category = {
        c: sorted(p.id for p in m.trackers if p.tracker and p.tracker.consent_category == c)
        for c in ConsentCategory
    }
    assert len(by_category[ConsentCategory.ADVERTISING]) == 5
    assert len(by_category[ConsentCategory.WIDGETS]) == 10
    assert len(by_category[ConsentCategory.ANALYTICS]) == (7 if version == "v1" else 8)


def test_contact_point_and_controllers_per_version() -> None:
    for version in ("v1", "v2"):
        m = BOOK.get(version)
        assert m.contact_point.legal_name == "Altoros Development LLC"
        assert (
            m.contact_point.address == "9 Dombrovskaya str., Office 5.1.4, Minsk, Belarus, 220140"
        )
    v3 = BOOK.get("v3")
    assert v3.contact_point.legal_name == "Altoros Norge AS"
    assert v3.contact_point.registration_number == "894 684 992"
    assert {e.legal_name for e in v3.entities} >= {"Altoros Poland", "Altoros A.S."}


def test_retention_rules() -> None:
    v1, v3 = BOOK.get("v1"), BOOK.get("v3")
    customer_v1, customer_v3 = v1.channel("customer").retention, v3.channel("customer").retention
    assert customer_v1 is not None
    assert customer_v3 is not None
    assert (customer_v1.years, customer_v1.starts_from) == (
        10,
        RetentionStart.LAST_EVENT_REGISTRATION,
    )
    assert (customer_v3.years, customer_v3.starts_from) == (6, RetentionStart.LAST_SERVICE_DELIVERY)
    event = v3.channel("event").retention
    assert event is not None
    assert event.starts_from is RetentionStart.LAST_EVENT_REGISTRATION
    website = v3.channel("website").retention
    assert website is not None
    assert set(website.processors_own_retention) == {p.id for p in v3.trackers}


def test_transfers_per_version() -> None:
    def safeguards(version: str) -> dict[str, Safeguard]:
        return {
            t.destination: t.safeguard for t in BOOK.get(version).transfers if t.importer_entity
        }

    assert safeguards("v2") == {
        "US": Safeguard.UNKNOWN,
        "BY": Safeguard.SCC,
        "AR": Safeguard.ADEQUACY,
    }
    assert safeguards("v3") == {"US": Safeguard.SCC, "AR": Safeguard.ADEQUACY}
    gmail = [t for t in BOOK.current.transfers if t.importer_processor == "gmail"]
    assert [t.safeguard for t in gmail] == [Safeguard.PRIVACY_SHIELD]


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_unclear_text_carries_notes(version: str) -> None:
    notes = all_notes(BOOK.get(version))
    for topic in (
        r"Privacy Shield.*invalidated",
        r"By sharing personal information with us, you are giving consent",
        r"legitimate interests, or with your consent",
        r"Altoros A\.S\.",
        r"versions 2 and 3 carry no date",
        r"states no processor's country",
        r"'your data about our customer'",
        r"two trusted IDs",
    ):
        assert re.search(topic, notes), topic
    if version == "v1":
        assert "10 years from last event you have been registered" in notes


def test_the_docs_example_is_a_valid_manifest() -> None:
    page = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", page, re.S)
    assert block
    m = Manifest.model_validate(yaml.safe_load(block.group(1)))
    assert m.contact_point.legal_name == "Altoros Norge AS"


def test_taxonomy_keys_are_fides_keys() -> None:
    categories = {c.fides_key for c in DEFAULT_TAXONOMY.data_category}
    uses = {u.fides_key for u in DEFAULT_TAXONOMY.data_use}
    subjects = {s.fides_key for s in DEFAULT_TAXONOMY.data_subject}
    for m in BOOK.versions:
        assert {c.fides_key for c in m.data_categories} <= categories
        assert {p.data_use for p in m.purposes if p.data_use} <= uses
        assert {s.fides_key for s in m.data_subjects} <= subjects
