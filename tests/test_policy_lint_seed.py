"""The lint on the shipped seed policy (Altoros, three versions) reports its real weaknesses,
pinned per version, and nothing else. Read with shared/seeds/policy-version-{1,2,3}.txt.

When a seed manifest changes, re-read the text before changing a pin: a new finding must be a
real weakness of the policy, a vanished one must have been false.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from privacyops.cli.app import app
from privacyops.policy import default_policy_book
from privacyops.policy.lint import Finding, Severity, lint_manifest

# Trackers of §2.2.1-2.2.3, all claimed on legitimate interest (§2.3: "on the basis of our or
# third party's legitimate interests, or with your consent"; cookies can be turned off "via
# browser settings"): none of them is strictly necessary.
TRACKERS_V1 = [
    "addthis",
    "albacross",
    "bing-ads",
    "disqus",
    "facebook-ads-conversion-tracking",
    "facebook-audience-network",
    "facebook-social-graph",
    "google-adwords",
    "google-adwords-tools",
    "google-analytics",
    "google-tag-manager",
    "hotjar",
    "hubspot",
    "linkedin-ads",
    "linkedin-widgets",
    "onesignal",
    "sharethis",
    "tawk",
    "twitter-ads",
    "twitter-widgets",
    "wistia",
    "wordpress",
]
TRACKERS_V2 = sorted([*TRACKERS_V1, "mrp"])  # MRP joins the analytics partners in version 2

COMMON = [
    # §8: data that "cannot be deleted" from backups is kept, with no period
    ("backups-without-period", "backups"),
    # §3.2 / §4.2 / §6.2: "By sharing personal information with us, you are giving consent"
    ("consent-not-recordable", "purposes[consent-request].consent_mechanism"),
    ("consent-not-recordable", "purposes[contact-about-request].consent_mechanism"),
    ("consent-not-recordable", "purposes[marketing-updates].consent_mechanism"),
    # "Contact us": Altoros Americas LLC is a controller with no address or contact
    ("controller-without-contact", "entities[altoros-americas]"),
    # two controllers, no Art. 26 arrangement
    ("joint-controllers-without-arrangement", "entities"),
    # §2.2.2: behavioural retargeting, no interest stated for it
    ("legitimate-interest-not-stated", "purposes[website-advertising].legitimate_interest"),
    # §3.3-5.3, §7.3: newsletters and offers by e-mail to prospects on legitimate interest
    ("marketing-email-without-consent", "purposes[interest-information].legal_basis"),
    ("marketing-email-without-consent", "purposes[promotional-communications].legal_basis"),
    # §8 "no profiling" vs §2.2.2 behavioural retargeting
    ("profiling-denied-but-advertising", "automated_decisions.profiling"),
    # §3.3 / §4.3 store "the history of our communication", not listed in §3.1 / §4.1
    ("purpose-uses-unlisted-category", "channels[chatbot].purposes[6]"),
    ("purpose-uses-unlisted-category", "channels[web_form].purposes[6]"),
    # §7.2 remarketing through Google Adwords, no basis in §7.3
    ("purpose-without-legal-basis", "purposes[event-remarketing].legal_basis"),
    # §2.4 "The retention period from our partners is set forth by them", §8 the same (both
    # about the website's partners; no other processor's retention is left to it)
    ("retention-left-to-processors", "channels[website].retention.processors_own_retention"),
    # §2.3: analytics, advertising and personalisation by cookies on legitimate interest
    ("tracker-without-consent", "purposes[website-advertising].legal_basis"),
    ("tracker-without-consent", "purposes[website-analytics].legal_basis"),
    ("tracker-without-consent", "purposes[website-experience].legal_basis"),
    # §11: providers' "terms and privacy policies"; §3.2 Gmail "(Privacy Shield)"
    ("transfer-without-safeguard", "processors[google-analytics].transfer_safeguard"),
    ("transfer-without-safeguard", "transfers[gmail-us].safeguard"),
    ("transfer-without-safeguard", "transfers[storage-us].safeguard"),
]

# §11 of versions 1-2 claims SCCs only for Altoros Development LLC (Minsk); the US
# headquarters get no stated safeguard. Version 3 extends SCCs to "Altoros branches".
GROUP_US = [("transfer-without-safeguard", "transfers[group-us].safeguard")]


def _trackers(ids: list[str]) -> list[tuple[str, str]]:
    return [("tracker-without-consent", f"processors[{i}].tracker.legal_basis") for i in ids]


EXPECTED = {
    "v1": sorted([*COMMON, *GROUP_US, *_trackers(TRACKERS_V1)]),
    "v2": sorted([*COMMON, *GROUP_US, *_trackers(TRACKERS_V2)]),
    "v3": sorted([*COMMON, *_trackers(TRACKERS_V2)]),
}


def _findings(version: str) -> list[Finding]:
    return lint_manifest(default_policy_book().get(version))


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_pinned_findings_per_version(version: str) -> None:
    found = sorted((f.rule, f.where) for f in _findings(version) if f.severity != Severity.INFO)
    assert found == EXPECTED[version]


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_each_contradiction_the_manifest_notes_is_an_info_finding(version: str) -> None:
    m = default_policy_book().get(version)
    notes = [n for n in m.notes if n.kind == "contradiction"]
    for group in (m.channels, m.processors, m.transfers, m.entities, m.purposes):
        for item in group:
            notes += [n for n in getattr(item, "notes", []) if n.kind == "contradiction"]
    infos = [f for f in _findings(version) if f.severity == Severity.INFO]
    assert infos
    assert {f.rule for f in infos} == {"policy-contradicts-itself"}
    # entity and purpose notes are not read by the rule (they restate other findings)
    assert len(infos) <= len(notes)


def test_reasons_name_the_facts_of_each_version() -> None:
    by = {v: {(f.rule, f.where): f.reason for f in _findings(v)} for v in ("v1", "v2", "v3")}
    key = ("transfer-without-safeguard", "transfers[gmail-us].safeguard")
    assert "Privacy Shield" in by["v3"][key]
    assert "C-311/18" in by["v3"][key]
    group = ("transfer-without-safeguard", "processors[google-analytics].transfer_safeguard")
    assert by["v1"][group].startswith("19 processors")
    assert by["v3"][group].startswith("20 processors")  # + MRP
    assert "Altoros Americas LLC" in by["v2"][("transfer-without-safeguard", GROUP_US[0][1])]
    consent = ("consent-not-recordable", "purposes[marketing-updates].consent_mechanism")
    assert "implied by submitting data" in by["v3"][consent]


def test_every_finding_points_at_its_line_in_the_seed_file() -> None:
    for version in ("v1", "v2", "v3"):
        for f in _findings(version):
            assert f.file is not None
            assert f.file.endswith(f"seed/{version}.yaml")
            assert f.line is not None
            assert f.line > 1


def test_cli_lint_of_the_embedded_policy_exits_1_with_every_finding() -> None:
    result = CliRunner().invoke(app, ["policy", "lint", "--format", "json"])
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["versions"] == ["v1", "v2", "v3"]
    per_version = {
        v: sum(1 for f in body["findings"] if f["version"] == v and f["severity"] != "info")
        for v in ("v1", "v2", "v3")
    }
    assert per_version == {v: len(EXPECTED[v]) for v in EXPECTED}
    for f in body["findings"]:
        assert f["reason"]
        assert "Art." in f["article"]
