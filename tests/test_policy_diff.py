"""``privacyops policy diff``: the semantic changes between versions, exactly the known ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from privacyops.policy import default_policy_book
from privacyops.policy.diff import diff_manifests
from privacyops.policy.loader import SEED_DIR
from privacyops.policy.schema import LegalBasis

ROOT = Path(__file__).resolve().parents[1]
BOOK = default_policy_book()


def keys(old: str, new: str) -> set[tuple[str, str, str, str | None]]:
    d = diff_manifests(BOOK.get(old), BOOK.get(new))
    return {(c.section, c.action, c.id, c.field) for c in d.changes}


def test_v1_to_v2_shows_exactly_the_known_changes() -> None:
    assert keys("v1", "v2") == {
        # MRP (Market Resource Partners, LLC) added as an analytics partner (2.2.1)
        ("processors", "added", "mrp", None),
        ("channels", "changed", "website", "processors"),
        ("retention", "changed", "website", "processors_own_retention"),
        # "maintenance and support activities of a database ... CRM" added to 2.3
        ("channels", "changed", "website", "purposes"),
        # 6.3 rewritten: the events wording replaced by the customer purposes, and the
        # consent-request contact now also claimed as a legitimate interest
        ("channels", "changed", "customer", "purposes"),
        ("purposes", "changed", "consent-request", "also_claimed_bases"),
        # 6.4: 10 years from last event registered -> 6 years from last Service delivery
        ("retention", "changed", "customer", "rule"),
        # 6.5: no more lists of registrants to event organisers for customers
        ("channels", "changed", "customer", "recipients"),
    }


def test_v2_to_v3_shows_exactly_the_known_changes() -> None:
    assert keys("v2", "v3") == {
        # Altoros Development LLC (Minsk) replaced by Altoros Poland
        ("entities", "removed", "altoros-development", None),
        ("entities", "added", "altoros-poland", None),
        # Altoros Norge AS becomes controller and answers requests (and has the e-mail)
        ("entities", "changed", "altoros-norge", "roles"),
        ("entities", "changed", "altoros-norge", "contact"),
        ("entities", "changed", "controller", "controller"),
        ("entities", "changed", "contact_point", "contact_point"),
        # section 11: Belarus with SCCs gone; SCCs now for every Altoros branch (USA HQ)
        ("transfers", "removed", "group-belarus", None),
        ("transfers", "changed", "group-us", "safeguard"),
        # links changed on the published page
        ("processors", "changed", "hotjar", "privacy_policy_urls"),
        ("processors", "changed", "addthis", "privacy_policy_urls"),
    }


def test_retention_change_carries_the_old_and_new_rule() -> None:
    d = diff_manifests(BOOK.get("v1"), BOOK.get("v2"))
    (change,) = [c for c in d.in_section("retention") if c.id == "customer"]
    assert change.old["years"] == 10
    assert change.old["starts_from"] == "last_event_registration"
    assert change.new["years"] == 6
    assert change.new["starts_from"] == "last_service_delivery"
    assert "10 years from last event you have been registered" in change.summary
    assert "6 years from last Service delivery" in change.summary


def test_contact_point_change_is_named() -> None:
    d = diff_manifests(BOOK.get("v2"), BOOK.get("v3"))
    (change,) = [c for c in d.changes if c.id == "contact_point"]
    assert (change.old, change.new) == ("Altoros Development LLC", "Altoros Norge AS")
    text = d.to_text()
    assert "contact point (answers requests): Altoros Development LLC (BY) -> " in text
    assert "group-us: safeguard unknown -> scc" in text


def test_same_version_has_no_change() -> None:
    d = diff_manifests(BOOK.get("v3"), BOOK.get("v3"))
    assert not d
    assert "(no semantic change)" in d.to_text()


def test_a_changed_basis_is_reported() -> None:
    new = BOOK.current.model_copy(deep=True)
    new.purpose("website-analytics").legal_basis = LegalBasis.CONSENT
    d = diff_manifests(BOOK.current, new)
    assert [(c.id, c.field, c.old, c.new) for c in d.changes] == [
        ("website-analytics", "legal_basis", "legitimate_interest", "consent")
    ]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("PRIVACYOPS_POLICY_PATH", None)
    return subprocess.run(
        [sys.executable, "-m", "privacyops", "policy", "diff", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_cli_text_by_version_ids() -> None:
    done = cli("v1", "v2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Policy changes from v1 to v2: 8")
    assert "+ mrp: MRP (Market Resource Partners, LLC, US)" in done.stdout


def test_cli_json_by_paths() -> None:
    done = cli(str(SEED_DIR / "v2.yaml"), str(SEED_DIR / "v3.yaml"), "--format", "json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert (body["from"], body["to"], body["count"]) == ("v2", "v3", 10)
    removed = [c for c in body["changes"] if c["action"] == "removed"]
    assert {c["id"] for c in removed} == {"altoros-development", "group-belarus"}


def test_cli_unknown_version_and_folder(tmp_path: Path) -> None:
    done = cli("v1", "v7")
    assert done.returncode == 3
    assert "no policy version 'v7' (versions: v1, v2, v3)" in done.stderr
    done = cli(str(SEED_DIR), "v3")
    assert done.returncode == 2
    assert "holds 3 versions" in done.stderr
    assert "Traceback" not in done.stderr
