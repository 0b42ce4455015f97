"""The compliance lint: each rule fires on the mistake it names, with its reason and article,
and stays silent on a clean manifest."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from privacyops.cli.app import app
from privacyops.policy import load_manifest
from privacyops.policy.generate import minimal_manifest_data
from privacyops.policy.lint import RULES, Severity, lint_manifest
from privacyops.policy.schema import Manifest

Change = Callable[[dict[str, Any]], None]


def _lint(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f.rule, f.where) for f in lint_manifest(Manifest.model_validate(data))]


def test_the_minimal_manifest_is_clean() -> None:
    assert _lint(minimal_manifest_data()) == []


def _tracker(d: dict[str, Any], category: str, basis: str | None) -> None:
    d["processors"][0]["tracker"] = {"consent_category": category, "legal_basis": basis}


def _consent(mechanism: str | None) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["purposes"][0].update(legal_basis="consent", consent_mechanism=mechanism)

    return change


def _processor_in(country: str, safeguard: str | None) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["processors"][0]["country"] = country
        d["processors"][0]["transfer_safeguard"] = safeguard

    return change


def _transfer(destination: str, safeguard: str) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["transfers"] = [
            {
                "id": "t1",
                "destination": destination,
                "exporter": "example-as",
                "safeguard": safeguard,
            }
        ]

    return change


_BALANCING = {"date": "2026-01-15", "outcome": "Necessary and expected; objection honoured."}
_SOFT_OPT_IN = {
    "customers": ["customer"],
    "similar_products": True,
    "opt_out_at_collection": True,
    "opt_out_in_every_message": True,
}


def _add_purpose(**fields: Any) -> Change:
    """A purpose on the channel; one on legitimate interest gets a documented balancing test
    unless the case says ``balancing_test=None``."""

    def change(d: dict[str, Any]) -> None:
        purpose = {"id": "extra", "name": "Extra", **fields}
        if purpose.get("legal_basis") == "legitimate_interest":
            purpose.setdefault("balancing_test", _BALANCING)
        d["purposes"].append(purpose)
        d["channels"][0]["purposes"].append("extra")

    return change


def _right(kind: str, **fields: Any) -> Change:
    def change(d: dict[str, Any]) -> None:
        next(r for r in d["rights"]["offered"] if r["kind"] == kind).update(fields)

    return change


def _processor(**fields: Any) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["processors"][0].update(fields)

    return change


_TIA = {"date": "2026-02-01", "outcome": "permitted_with_measures", "measures": ["encryption"]}
_EMAIL_MARKETING = {
    "data_use": "marketing.communications.email",
    "legal_basis": "legitimate_interest",
    "legitimate_interest": "Selling more",
    "direct_marketing": True,
}


CASES: list[Any] = [
    pytest.param(
        lambda d: d["purposes"][0].update(legal_basis=None),
        [("purpose-without-legal-basis", "purposes[contract].legal_basis")],
        id="no-legal-basis",
    ),
    pytest.param(
        _consent("implied_by_submission"),
        [("consent-not-recordable", "purposes[contract].consent_mechanism")],
        id="implied-consent",
    ),
    pytest.param(
        _consent(None),
        [("consent-not-recordable", "purposes[contract].consent_mechanism")],
        id="consent-without-mechanism",
    ),
    pytest.param(_consent("checkbox"), [], id="checkbox-consent-is-fine"),
    pytest.param(
        lambda d: d["channels"][0].update(retention=None),
        [("channel-without-retention", "channels[customers].retention")],
        id="no-retention",
    ),
    pytest.param(
        lambda d: d["channels"][0]["retention"].update(processors_own_retention=["mailer"]),
        [
            (
                "retention-left-to-processors",
                "channels[customers].retention.processors_own_retention",
            )
        ],
        id="processor-retention",
    ),
    pytest.param(
        lambda d: d["processors"][0].update(own_retention=True),
        [("retention-left-to-processors", "processors[mailer].own_retention")],
        id="processor-own-retention",
    ),
    pytest.param(
        _processor_in("US", None),
        [("transfer-without-safeguard", "processors[mailer].transfer_safeguard")],
        id="us-without-safeguard",
    ),
    pytest.param(_processor_in("US", "dpf"), [], id="us-dpf-certified"),
    pytest.param(
        _processor_in("US", "scc"),
        [("scc-without-tia", "processors[mailer].tia")],
        id="us-scc-without-tia",
    ),
    pytest.param(
        lambda d: _processor_in("US", "scc")(d) or _processor(tia=_TIA)(d),
        [],
        id="us-scc-with-tia",
    ),
    pytest.param(
        lambda d: (
            _processor_in("US", "scc")(d)
            or _processor(tia={"date": "2026-02-01", "outcome": "not_permitted"})(d)
        ),
        [("scc-without-tia", "processors[mailer].tia.outcome")],
        id="tia-says-stop",
    ),
    pytest.param(
        lambda d: (
            _processor_in("US", "processor_terms")(d) or _processor(legal_entity="Google LLC")(d)
        ),
        [("transfer-safeguard-misstated", "processors[mailer].transfer_safeguard")],
        id="dpf-certified-but-notice-names-terms",
    ),
    pytest.param(
        lambda d: (
            _processor_in("US", "privacy_shield")(d) or _processor(legal_entity="Facebook, Inc.")(d)
        ),
        [("transfer-safeguard-misstated", "processors[mailer].transfer_safeguard")],
        id="dpf-certified-under-its-old-name",
    ),
    pytest.param(
        _processor(country=None),
        [("processor-without-country", "processors[mailer].country")],
        id="processor-without-country",
    ),
    pytest.param(
        _processor(role="joint_controller"),
        [("joint-controllers-without-arrangement", "processors[mailer].arrangement")],
        id="joint-controller-processor",
    ),
    pytest.param(
        _processor(role="joint_controller", arrangement="We inform; they answer requests."),
        [],
        id="joint-controller-with-arrangement",
    ),
    pytest.param(_processor(role="independent_controller"), [], id="independent-controller"),
    pytest.param(
        lambda d: d["entities"][0].update(country="US", address="1 Main St, Springfield"),
        [("no-eea-establishment-or-representative", "entities")],
        id="no-eea-establishment",
    ),
    pytest.param(
        _processor_in("US", "privacy_shield"),
        [("transfer-without-safeguard", "processors[mailer].transfer_safeguard")],
        id="privacy-shield",
    ),
    pytest.param(
        _processor_in("IN", "processor_terms"),
        [("transfer-without-safeguard", "processors[mailer].transfer_safeguard")],
        id="processor-terms",
    ),
    pytest.param(_processor_in("JP", None), [], id="japan-adequate"),
    pytest.param(_processor_in("CH", None), [], id="switzerland-adequate"),
    pytest.param(
        _transfer("BY", "adequacy"),
        [("transfer-without-safeguard", "transfers[t1].safeguard")],
        id="adequacy-claimed-for-belarus",
    ),
    pytest.param(
        _transfer("BY", "scc"),
        [("scc-without-tia", "transfers[t1].tia")],
        id="belarus-scc-without-tia",
    ),
    pytest.param(_transfer("AR", "adequacy"), [], id="argentina-adequacy"),
    pytest.param(
        _transfer("GB", "dpf"),
        [("transfer-without-safeguard", "transfers[t1].safeguard")],
        id="dpf-outside-us",
    ),
    pytest.param(
        lambda d: d.update(storage_locations=["IE", "US"]),
        [("transfer-without-safeguard", "storage_locations[1]")],
        id="storage-in-us",
    ),
    pytest.param(
        lambda d: (
            d["channels"][0]["categories"].append("name")
            or d["purposes"][0].update(categories=["email"])
        ),
        [
            ("category-unused", "channels[customers].categories[1]"),
            ("category-unused", "channels[customers].categories[2]"),
        ],
        id="category-unused",
    ),
    pytest.param(
        lambda d: (
            d["data_categories"].append({"id": "phone", "name": "Phone"})
            or d["purposes"][0].update(categories=["email", "name", "phone"])
        ),
        [("purpose-uses-unlisted-category", "channels[customers].purposes[0]")],
        id="purpose-uses-unlisted-category",
    ),
    pytest.param(
        lambda d: (
            d["processors"].extend(
                [
                    {"id": f"p{i}", "name": f"P{i}", "country": "US", "roles": ["crm"]}
                    for i in range(3)
                ]
            )
            or [p.update(transfer_safeguard="processor_terms") for p in d["processors"][1:3]]
        ),
        [
            ("transfer-without-safeguard", "processors[p0].transfer_safeguard"),
            ("transfer-without-safeguard", "processors[p2].transfer_safeguard"),
        ],
        id="processors-grouped-by-problem",
    ),
    pytest.param(
        lambda d: d["channels"][0].update(purposes=[]),
        [
            ("category-unused", "channels[customers].purposes"),
            ("purpose-unused", "purposes[contract]"),
        ],
        id="channel-without-purpose",
    ),
    pytest.param(
        lambda d: _tracker(d, "analytics", "legitimate_interest"),
        [("tracker-without-consent", "processors[mailer].tracker.legal_basis")],
        id="analytics-on-legitimate-interest",
    ),
    pytest.param(
        lambda d: (
            _tracker(d, "advertising", None)
            or d["processors"][0].update(roles=["advertising"])
            or d["automated_decisions"].update(profiling=True)
        ),
        [("tracker-without-consent", "processors[mailer].tracker.legal_basis")],
        id="advertising-without-basis",
    ),
    pytest.param(lambda d: _tracker(d, "analytics", "consent"), [], id="tracker-on-consent"),
    pytest.param(lambda d: _tracker(d, "necessary", None), [], id="necessary-cookie"),
    pytest.param(
        _add_purpose(
            data_use="analytics.reporting",
            legal_basis="legitimate_interest",
            legitimate_interest="Statistics",
        ),
        [],
        id="analytics-purpose-without-cookies",
    ),
    pytest.param(
        lambda d: d["automated_decisions"].update(used=True),
        [
            (
                "automated-decisions-without-safeguards",
                "automated_decisions.safeguards",
            )
        ],
        id="art-22",
    ),
    pytest.param(
        lambda d: d["automated_decisions"].update(used=True, safeguards=["human review"]),
        [],
        id="art-22-with-safeguards",
    ),
    pytest.param(
        lambda d: d["processors"][0].update(roles=["advertising"]),
        [("profiling-denied-but-advertising", "automated_decisions.profiling")],
        id="profiling-denied",
    ),
    pytest.param(
        lambda d: d["entities"].append(
            {
                "id": "example-inc",
                "legal_name": "Example Inc.",
                "country": "CH",
                "address": "Bahnhofstrasse 1, Zürich",
                "roles": ["controller"],
            }
        ),
        [("joint-controllers-without-arrangement", "entities")],
        id="joint-controllers",
    ),
    pytest.param(
        lambda d: (
            d["entities"].append(
                {
                    "id": "example-inc",
                    "legal_name": "Example Inc.",
                    "country": "CH",
                    "address": "Bahnhofstrasse 1, Zürich",
                    "roles": ["controller"],
                }
            )
            or d.update(joint_controller_arrangement="Example AS answers every request.")
        ),
        [],
        id="joint-controllers-with-arrangement",
    ),
    pytest.param(
        lambda d: d.update(backups="Backups are kept in a secure fashion."),
        [("backups-without-period", "backups")],
        id="backups-without-period",
    ),
    pytest.param(
        lambda d: d.update(
            backups="Backups are overwritten after 35 days.",
            backups_retention={"days": 35},
        ),
        [],
        id="backups-with-period",
    ),
    pytest.param(
        lambda d: d.update(dpo=None),
        [("missing-dpo-contact", "dpo")],
        id="no-dpo",
    ),
    pytest.param(
        lambda d: d["entities"][0].update(address=None, contact={}),
        [("controller-without-contact", "entities[example-as]")],
        id="controller-without-contact",
    ),
    pytest.param(
        lambda d: d["channels"][0].update(recipients=[], processors=[]),
        [("recipients-unspecified", "channels[customers].recipients")],
        id="recipients-unspecified",
    ),
    pytest.param(
        lambda d: d.update(security_measures=[]),
        [("no-security-measures", "security_measures")],
        id="no-security",
    ),
    pytest.param(
        lambda d: d["rights"].update(offered=d["rights"]["offered"][:-1]),
        [("right-not-offered", "rights.offered")],
        id="no-complaint-right",
    ),
    pytest.param(
        lambda d: d["data_categories"][1].update(special=True),
        [("special-category-without-condition", "data_categories[name].special")],
        id="special-category",
    ),
    pytest.param(
        _add_purpose(**_EMAIL_MARKETING, soft_opt_in=_SOFT_OPT_IN),
        [],
        id="soft-opt-in-for-customers",
    ),
    pytest.param(
        _add_purpose(**_EMAIL_MARKETING),
        [("marketing-email-without-consent", "purposes[extra].soft_opt_in")],
        id="customers-without-soft-opt-in",
    ),
    pytest.param(
        _add_purpose(
            **_EMAIL_MARKETING, soft_opt_in={**_SOFT_OPT_IN, "opt_out_in_every_message": False}
        ),
        [("marketing-email-without-consent", "purposes[extra].soft_opt_in")],
        id="soft-opt-in-without-opt-out-per-message",
    ),
    pytest.param(
        _add_purpose(
            data_use="marketing.communications.email",
            legal_basis="legitimate_interest",
            legitimate_interest="Growing our list",
            asks_for_consent=True,
        ),
        [("consent-request-on-legitimate-interest", "purposes[extra].asks_for_consent")],
        id="consent-request-on-legitimate-interest",
    ),
    pytest.param(
        _add_purpose(
            data_use="essential.service",
            legal_basis="legitimate_interest",
            legitimate_interest="Fraud prevention",
            balancing_test=None,
        ),
        [("legitimate-interest-without-balancing", "purposes[extra].balancing_test")],
        id="legitimate-interest-without-balancing",
    ),
    pytest.param(
        lambda d: (
            _add_purpose(
                data_use="marketing.communications.email",
                legal_basis="consent",
                consent_mechanism="double_opt_in",
                direct_marketing=True,
            )(d)
            or _right("objection", particular_situation_required=True)(d)
        ),
        [
            (
                "direct-marketing-objection-conditional",
                "rights.offered[4].particular_situation_required",
            )
        ],
        id="direct-marketing-objection-conditional",
    ),
    pytest.param(
        _right("objection", particular_situation_required=True),
        [],
        id="conditional-objection-without-direct-marketing",
    ),
    pytest.param(
        _right("portability", applies=False),
        [("portability-declared-not-applicable", "rights.offered[5].applies")],
        id="portability-not-applicable",
    ),
    pytest.param(
        lambda d: d.pop("provision_requirement"),
        [("provision-requirement-not-stated", "provision_requirement")],
        id="no-art-13-2-e-statement",
    ),
    pytest.param(
        lambda d: d["channels"][0].update(obtained_from=["mailer"]),
        [("third-party-source-without-notice", "channels[customers].obtained_from")],
        id="third-party-source-without-notice",
    ),
    pytest.param(
        lambda d: d["channels"][0].update(
            obtained_from=["mailer"], source_notice="Addresses come from Mailer's list."
        ),
        [],
        id="third-party-source-with-notice",
    ),
    pytest.param(
        lambda d: (
            _add_purpose(
                data_use="marketing.communications.email",
                legal_basis="legitimate_interest",
                legitimate_interest="Selling more",
                direct_marketing=True,
            )(d)
            or d["data_subjects"].append({"id": "prospect", "name": "Prospects"})
            or d["channels"][0]["data_subjects"].append("prospect")
        ),
        [("marketing-email-without-consent", "purposes[extra].legal_basis")],
        id="marketing-email-to-prospects",
    ),
    pytest.param(
        _add_purpose(data_use="essential.service", legal_basis="legitimate_interest"),
        [("legitimate-interest-not-stated", "purposes[extra].legitimate_interest")],
        id="interest-not-stated",
    ),
    pytest.param(
        lambda d: d["channels"][0].update(
            notes=[{"section": "6.4", "text": "says A and B", "kind": "contradiction"}]
        ),
        [("policy-contradicts-itself", "channels[customers].notes[0]")],
        id="contradiction-note",
    ),
    pytest.param(
        lambda d: d["channels"][0].update(notes=[{"section": "6.4", "text": "unclear"}]),
        [],
        id="vague-note-is-not-a-finding",
    ),
]


@pytest.mark.parametrize(("change", "expected"), CASES)
def test_each_rule_fires_on_its_mistake_only(
    change: Change, expected: list[tuple[str, str]]
) -> None:
    data = minimal_manifest_data()
    change(data)
    assert sorted(_lint(data)) == sorted(expected)


def test_every_rule_is_exercised_by_a_case() -> None:
    fired = {rule for case in CASES for rule, _ in case.values[1]}
    assert fired == set(RULES)


def test_rules_explain_themselves() -> None:
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id
        assert rule_id in repr(rule)
        assert "Art." in rule.article
        assert rule.severity in set(Severity)


def test_findings_carry_reason_article_and_file_position(tmp_path: Path) -> None:
    data = minimal_manifest_data()
    data["purposes"][0].update(legal_basis="consent", consent_mechanism="implied_by_submission")
    text = yaml.safe_dump(data, sort_keys=False)
    path = tmp_path / "m.yaml"
    path.write_text(text)
    (finding,) = lint_manifest(load_manifest(path))
    assert finding.article == "GDPR Art. 7(1), 4(11)"
    assert "clear affirmative act" in finding.reason
    line = text[: text.index("implied_by_submission")].count("\n") + 1
    assert (finding.file, finding.line) == (str(path), line)
    assert finding.location.startswith(f"{path}:{line}:")


runner = CliRunner()


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    clean = tmp_path / "clean.yaml"
    clean.write_text(yaml.safe_dump(minimal_manifest_data()))
    result = runner.invoke(app, ["policy", "lint", str(clean)])
    assert result.exit_code == 0, result.output
    assert "clean" in result.output

    data = minimal_manifest_data()
    data["channels"][0]["retention"] = None
    dirty = tmp_path / "dirty.yaml"
    dirty.write_text(yaml.safe_dump(data))
    result = runner.invoke(app, ["policy", "lint", str(dirty), "--format", "json"])
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert body["count"] == 1
    (finding,) = body["findings"]
    assert finding["rule"] == "channel-without-retention"
    assert finding["article"] == "GDPR Art. 5(1)(e), 13(2)(a)"
    assert finding["severity"] == "error"
    assert finding["file"] == str(dirty)
    assert finding["line"] >= 1


def test_every_rule_is_in_the_docs_table_with_its_article() -> None:
    page = Path(__file__).resolve().parents[1] / "docs" / "policy.md"
    text = page.read_text(encoding="utf-8")
    for rule in RULES.values():
        row = f"| `{rule.id}` | {rule.severity.value} | {rule.article} |"
        assert row in text, row


def _waived(where: str | None) -> dict[str, Any]:
    data = minimal_manifest_data()
    data.pop("provision_requirement")
    data["waivers"] = [
        {
            "rule": "provision-requirement-not-stated",
            "where": where,
            "reason": "Stated in the order form each customer signs; see contract template §2.",
            "by": "Dana Protector (DPO)",
            "date": "2026-03-01",
        }
    ]
    return data


def test_a_waived_finding_is_still_reported_with_its_waiver() -> None:
    (finding,) = lint_manifest(Manifest.model_validate(_waived("provision_requirement")))
    assert finding.rule == "provision-requirement-not-stated"
    assert finding.waiver is not None
    assert finding.waiver.by == "Dana Protector (DPO)"
    assert finding.to_dict()["waiver"]["reason"].startswith("Stated in the order form")


def test_a_waiver_that_matches_nothing_is_a_finding() -> None:
    found = lint_manifest(Manifest.model_validate(_waived("purposes[x].legal_basis")))
    assert sorted(f.rule for f in found) == [
        "provision-requirement-not-stated",
        "waiver-matches-nothing",
    ]
    stale = next(f for f in found if f.rule == "waiver-matches-nothing")
    assert stale.where == "waivers[0]"
    assert "matches no finding" in stale.reason


def test_cli_shows_waivers_and_passes_when_every_finding_is_waived(tmp_path: Path) -> None:
    path = tmp_path / "waived.yaml"
    path.write_text(yaml.safe_dump(_waived(None)))
    result = runner.invoke(app, ["policy", "lint", str(path)])
    assert result.exit_code == 0, result.output
    assert "waived by Dana Protector (DPO) on 2026-03-01" in result.output
    assert "1 waived by the DPO" in result.output
    result = runner.invoke(app, ["policy", "lint", str(path), "--format", "json"])
    body = json.loads(result.output)
    assert body["waived"] == 1
    assert body["findings"][0]["waiver"]["by"] == "Dana Protector (DPO)"
