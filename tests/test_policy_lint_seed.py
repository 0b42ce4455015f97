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
    # §11: providers' "terms and privacy policies"; §8 hosting in the US on the same
    ("transfer-without-safeguard", "transfers[storage-us].safeguard"),
    # §3.2 Gmail "(Privacy Shield)" and §11 "terms and privacy policies" of Google, Meta,
    # Microsoft, LinkedIn and HubSpot: each is DPF-certified (data/dpf.json), so the transfer
    # can rest on the adequacy decision; the fault is the notice naming the wrong mechanism
    ("transfer-safeguard-misstated", "transfers[gmail-us].safeguard"),
    ("transfer-safeguard-misstated", "processors[google-analytics].transfer_safeguard"),
    (
        "transfer-safeguard-misstated",
        "processors[facebook-ads-conversion-tracking].transfer_safeguard",
    ),
    ("transfer-safeguard-misstated", "processors[bing-ads].transfer_safeguard"),
    ("transfer-safeguard-misstated", "processors[hubspot].transfer_safeguard"),
    ("transfer-safeguard-misstated", "processors[linkedin-ads].transfer_safeguard"),
    # 21 third parties with no country (Skype, Viber, Zoom, Amazon, Eventbrite…)
    ("processor-without-country", "processors[wordpress].country"),
    # §2.2: ad pixels and social plug-ins are joint controllers (C-40/17 Fashion ID); the
    # policy is silent on any Art. 26 arrangement with them
    (
        "joint-controllers-without-arrangement",
        "processors[facebook-ads-conversion-tracking].arrangement",
    ),
    # §9: the objection "must be on grounds relating to his or her particular situation",
    # direct marketing included (Art. 21(2)-(3) gives that one unconditionally)
    ("direct-marketing-objection-conditional", "rights.offered[4].particular_situation_required"),
    # §9: portability "does not apply" (no data "processed using automated means")
    ("portability-declared-not-applicable", "rights.offered[5].applies"),
    # nowhere: whether giving the data is a statutory or contractual requirement (13(2)(e))
    ("provision-requirement-not-stated", "provision_requirement"),
    # §2.2.1 Albacross's employer look-up; §7 attendees registered through Meetup.com
    ("third-party-source-without-notice", "channels[event].obtained_from"),
    ("third-party-source-without-notice", "channels[website].obtained_from"),
    # §3.2 / §6.2-6.3: "consent to contact you in order to get your consent", on consent
    # implied by sharing data (and, from version 2, on legitimate interest)
    ("consent-request-on-legitimate-interest", "purposes[consent-request].asks_for_consent"),
    # every purpose on legitimate interest: no balancing documented anywhere (payments,
    # call recording with the communication history, 6-year prospect marketing…)
    *(
        ("legitimate-interest-without-balancing", f"purposes[{p}].balancing_test")
        for p in (
            "communication-history",
            "crm-maintenance",
            "interest-information",
            "policy-change-notices",
            "promotional-communications",
            "spam-prevention",
            "website-advertising",
            "website-analytics",
            "website-commenting",
            "website-contact-users",
            "website-experience",
            "website-payments",
            "website-user-database",
        )
    ),
]

# §11 of versions 1-2 claims SCCs only for Altoros Development LLC (Minsk); the US
# headquarters get no stated safeguard. Version 3 extends SCCs to "Altoros branches".
GROUP_US = [("transfer-without-safeguard", "transfers[group-us].safeguard")]
# SCCs with no transfer impact assessment: Minsk in versions 1-2, the US in version 3.
TIA_V12 = [("scc-without-tia", "transfers[group-belarus].tia")]
TIA_V3 = [("scc-without-tia", "transfers[group-us].tia")]
# The non-certified US providers on "terms and privacy policies": the transfer is at fault.
# Version 1 groups them from Twitter Ads; MRP (version 2) comes first from then on.
UNCERTIFIED_V1 = [("transfer-without-safeguard", "processors[twitter-ads].transfer_safeguard")]
UNCERTIFIED_V23 = [("transfer-without-safeguard", "processors[mrp].transfer_safeguard")]


def _trackers(ids: list[str]) -> list[tuple[str, str]]:
    return [("tracker-without-consent", f"processors[{i}].tracker.legal_basis") for i in ids]


EXPECTED = {
    "v1": sorted([*COMMON, *GROUP_US, *TIA_V12, *UNCERTIFIED_V1, *_trackers(TRACKERS_V1)]),
    "v2": sorted([*COMMON, *GROUP_US, *TIA_V12, *UNCERTIFIED_V23, *_trackers(TRACKERS_V2)]),
    "v3": sorted([*COMMON, *TIA_V3, *UNCERTIFIED_V23, *_trackers(TRACKERS_V2)]),
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
    key = ("transfer-safeguard-misstated", "transfers[gmail-us].safeguard")
    assert "Privacy Shield" in by["v3"][key]
    assert "C-311/18" in by["v3"][key]
    assert "Google LLC is certified under the EU-US Data Privacy Framework" in by["v3"][key]
    assert "Art. 13(1)(f)" in by["v3"][key]
    meta = (
        "transfer-safeguard-misstated",
        "processors[facebook-ads-conversion-tracking].transfer_safeguard",
    )
    assert by["v1"][meta].startswith("3 third parties (Facebook Ads conversion tracking")
    assert "Meta Platforms, Inc." in by["v1"][meta]  # "Facebook, Inc." renamed in 2021
    assert by["v1"][UNCERTIFIED_V1[0]].startswith("7 third parties")
    assert by["v3"][UNCERTIFIED_V23[0]].startswith("8 third parties (MRP")  # + MRP
    nowhere = ("processor-without-country", "processors[wordpress].country")
    assert by["v3"][nowhere].startswith("21 third parties")
    assert "Altoros Development LLC (BY)" in by["v1"][TIA_V12[0]]
    joint = by["v3"][
        (
            "joint-controllers-without-arrangement",
            "processors[facebook-ads-conversion-tracking].arrangement",
        )
    ]
    assert "C-40/17 Fashion ID" in joint
    # 7 ad networks and 5 social plug-ins; no messenger or processor among them
    assert "and 4 more are joint controllers" in joint
    assert "Google Analytics" not in joint
    assert "Skype" not in joint
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


def test_new_findings_on_the_seed_carry_their_articles_and_facts() -> None:
    by = {(f.rule, f.where): f for f in _findings("v3")}

    def get(rule: str, where: str) -> Finding:
        return by[(rule, where)]

    objection = get(
        "direct-marketing-objection-conditional", "rights.offered[4].particular_situation_required"
    )
    assert objection.article == "GDPR Art. 21(2)-(3)"
    assert objection.severity is Severity.ERROR
    assert "needs no grounds" in objection.reason
    portability = get("portability-declared-not-applicable", "rights.offered[5].applies")
    assert portability.article == "GDPR Art. 20(1), 13(2)(b)"
    assert get("provision-requirement-not-stated", "provision_requirement").article == (
        "GDPR Art. 13(2)(e)"
    )
    meetup = get("third-party-source-without-notice", "channels[event].obtained_from")
    assert "Meetup.com" in meetup.reason
    assert meetup.article.startswith("GDPR Art. 14(1)(d)")
    asking = get(
        "consent-request-on-legitimate-interest", "purposes[consent-request].asks_for_consent"
    )
    assert "legitimate interest" in asking.reason
    assert "markedsføringsloven § 15" in asking.reason  # Altoros Norge AS
    assert "art. 398" in asking.reason  # Altoros Poland (version 3)
    payments = get(
        "legitimate-interest-without-balancing", "purposes[website-payments].balancing_test"
    )
    assert "'Handling payments'" in payments.reason
    assert payments.article.startswith("GDPR Art. 6(1)(f), 5(2)")
    tia = get("scc-without-tia", "transfers[group-us].tia")
    assert "C-311/18" in tia.article
    assert "Altoros Americas LLC (US)" in tia.reason
    # profiling for advertising is not an Art. 22 decision: Art. 13(2)(f) is not cited for it
    profiling = get("profiling-denied-but-advertising", "automated_decisions.profiling")
    assert "13(2)(f)" not in profiling.article
    assert "21(2)" in profiling.article
    # the retention rule applies Art. 28(3)(g) to processors only, never to ad networks
    retention = get(
        "retention-left-to-processors", "channels[website].retention.processors_own_retention"
    )
    processors_part, controllers_part = retention.reason.split("Art. 28(3)(g)")
    assert "Google Analytics" in processors_part
    assert "Facebook Audience Network" not in processors_part
    assert "Facebook Audience Network" in controllers_part


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_every_third_party_has_a_role_and_ad_networks_are_not_processors(version: str) -> None:
    m = default_policy_book().get(version)
    roles = {p.id: p.role.value for p in m.processors}
    for ad in ("facebook-audience-network", "google-adwords", "bing-ads", "linkedin-ads"):
        assert roles[ad] == "joint_controller"
    for messenger in ("skype", "viber", "whatsapp", "telegram", "linkedin", "meetup"):
        assert roles[messenger] == "independent_controller"
    for processor in ("google-analytics", "hubspot", "gmail", "azets", "amazon"):
        assert roles[processor] == "processor"
    organisers = next(r for r in m.recipients if r.id == "event-organisers")
    assert organisers.role is not None
    assert organisers.role.value == "independent_controller"
    # where the text is silent, a note says how the role was decided
    silent = [p for p in m.processors if p.role.value != "processor"]
    assert all(any("C-40/17" in n.text or "account" in n.text for n in p.notes) for p in silent)
