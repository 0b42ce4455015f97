"""Checking submissions against the policy manifest: what each channel accepts and refuses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from privacyops.errors import (
    AgeGateRefused,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UndeclaredData,
)
from privacyops.intake.fields import FieldProblem, validate_value
from privacyops.intake.submission import validate_submission
from privacyops.policy import default_policy_book

BOOK = default_policy_book()
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def check(channel: str, payload: Any, **kw: Any) -> Any:
    return validate_submission(BOOK, channel, payload, now=NOW, **kw)


def locs(exc: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [d["loc"][0] for d in exc.value.details]


def test_web_form_is_normalised_with_purposes_basis_version_and_clock() -> None:
    sub = check(
        "web_form",
        {
            "name": "  Ann Smith ",
            "email": "Ann.Smith@EXAMPLE.com",
            "phone": "+47 21 92 93 00",
            "company": "Example AS",
            "request_details": "Please call me\nabout a demo.",
        },
        staff=False,
    )
    assert sub.data["name"] == "Ann Smith"
    assert sub.data["email"] == "Ann.Smith@example.com"
    assert sub.data["phone"] == "+4721929300"
    assert ("email", "Ann.Smith@example.com") in sub.identities
    assert sub.policy_version == BOOK.current.version.id
    # The contract comes first; no consent-based marketing without an opt-in.
    assert sub.purposes[0] == "answer-request"
    assert "marketing-updates" not in sub.purposes
    assert sub.legal_basis == "contract"
    assert sub.last_contact_at == NOW
    assert sub.collected_at == NOW
    assert sub.marketing_consent is False


def test_marketing_consent_adds_the_consent_based_marketing_purpose() -> None:
    sub = check("chatbot", {"email": "a@example.com", "marketing_consent": True}, staff=False)
    assert sub.marketing_consent is True
    assert sub.purposes[0] == "answer-request"
    assert "marketing-updates" in sub.purposes
    assert "marketing-updates" in sub.marketing_purposes


@pytest.mark.parametrize(
    ("channel", "clock"),
    [
        ("contact", "collected_at"),  # policy 5.4 states no start: counted from collection
        ("event", "last_event_registration_at"),
        ("customer", "last_service_delivery_at"),
    ],
)
def test_the_channel_retention_clock_starts_at_the_submission(channel: str, clock: str) -> None:
    sub = check(channel, {"email": "a@example.com"})
    assert getattr(sub, clock) == NOW


def test_contact_channel_call_fields() -> None:
    sub = check(
        "contact",
        {
            "phone": "+1 650 253 0000",
            "call_duration": "1:02:03",
            "call_recording": "s3://calls/2026/03/02/abc.ogg",
            "communication_history": ["Called about pricing", "Sent proposal"],
        },
    )
    assert sub.data["call_duration"] == 3723
    assert sub.data["call_recording"] == "s3://calls/2026/03/02/abc.ogg"
    assert sub.data["communication_history"] == ["Called about pricing", "Sent proposal"]
    assert sub.identities == [("phone", "+16502530000")]


def test_import_keeps_original_timestamps_and_source_system() -> None:
    sub = check(
        "customer",
        {
            "email": "buyer@example.com",
            "collected_at": "2021-05-04T10:00:00Z",
            "last_service_delivery_at": "2024-01-31",
            "source_system": "old-crm",
            "contract_event": "contract_signed",
        },
    )
    assert sub.collected_at == dt.datetime(2021, 5, 4, 10, tzinfo=dt.UTC)
    assert sub.last_service_delivery_at == dt.datetime(2024, 1, 31, tzinfo=dt.UTC)
    assert sub.source_system == "old-crm"
    assert sub.stored_payload()["contract_event"]["kind"] == "contract_signed"


def test_event_attendee_with_linkedin_and_business_card() -> None:
    sub = check(
        "event",
        {
            "name": "Bo",
            "linkedin_profile": "linkedin.com/in/bo-example/",
            "business_card": "Bo Example, CTO, Example Ltd, +44 20 7946 0000",
        },
    )
    assert sub.data["linkedin_profile"] == "https://linkedin.com/in/bo-example/"
    assert ("linkedin", "https://linkedin.com/in/bo-example/") in sub.identities


def test_undeclared_field_is_refused_by_name() -> None:
    with pytest.raises(UndeclaredData) as exc:
        check("chatbot", {"email": "a@example.com", "phone": "+4721929300"}, staff=False)
    assert "'phone'" in exc.value.message
    assert "Art. 5(1)(c)" in exc.value.message
    assert exc.value.status == 422
    with pytest.raises(UndeclaredData) as exc2:
        check("web_form", {"email": "a@example.com", "favourite_colour": "red"})
    assert "'favourite_colour'" in exc2.value.message


def test_public_channels_cannot_set_timestamps() -> None:
    with pytest.raises(UndeclaredData) as exc:
        check("web_form", {"email": "a@example.com", "collected_at": "2001-01-01"}, staff=False)
    assert "'collected_at'" in exc.value.message


def test_unknown_channel_is_not_found() -> None:
    with pytest.raises(NotFound) as exc:
        check("fax", {"email": "a@example.com"})
    assert "fax" in exc.value.message
    assert "web_form" in exc.value.message


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": "a@example.com", "phone": "12345"}, "phone"),
        ({"email": "a@example.com", "phone": "+47 000"}, "phone"),
        ({"email": "a@example.com", "name": 42}, "name"),
        ({"email": "a@example.com", "name": ["a", "b"]}, "name"),
        ({"email": "a@example.com", "name": "x" * 301}, "name"),
        ({"email": "a@example.com", "name": "Ann\x00"}, "name"),
        ({"email": "a@example.com", "marketing_consent": "perhaps"}, "marketing_consent"),
        ({"email": "a@example.com", "age": "old"}, "age"),
        ({"email": "a@example.com", "birth_date": "31/12/1990"}, "birth_date"),
        ({"name": "Ann"}, "(submission)"),
    ],
)
def test_bad_values_are_refused_naming_the_field_not_the_value(
    payload: dict[str, Any], loc: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        check("web_form", payload, staff=False)
    assert type(exc.value) is InvalidInput
    assert loc in locs(exc)
    for value in payload.values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in str(exc.value.details)


def test_call_duration_and_recording_reference_are_checked() -> None:
    with pytest.raises(InvalidInput) as exc:
        check(
            "contact",
            {"email": "a@example.com", "call_duration": "ten minutes", "call_recording": "a b"},
        )
    assert set(locs(exc)) == {"call_duration", "call_recording"}


def test_oversized_payload_and_too_many_fields() -> None:
    with pytest.raises(PayloadTooLarge) as exc:
        check("web_form", {"email": "a@example.com", "request_details": "x" * 70_000})
    assert exc.value.status == 413
    with pytest.raises(PayloadTooLarge):
        check("web_form", {f"f{i}": 1 for i in range(101)})


@pytest.mark.parametrize("payload", [[], "text", 3, None])
def test_a_payload_must_be_an_object(payload: Any) -> None:
    with pytest.raises(InvalidInput):
        check("web_form", payload)


@pytest.mark.parametrize(
    "name",
    ["Robert'); DROP TABLE data_subjects;--", "<script>alert(1)</script>", "O'Brien \" OR 1=1"],
)
def test_injection_strings_are_kept_as_plain_data(name: str) -> None:
    sub = check("web_form", {"email": "a@example.com", "name": name}, staff=False)
    assert sub.data["name"] == name


@pytest.mark.parametrize(
    "declared",
    [{"age": 15}, {"age": "12"}, {"birth_date": "2011-03-03"}, {"birth_date": "2020-01-01"}],
)
def test_age_gate_refuses_under_16(declared: dict[str, Any]) -> None:
    with pytest.raises(AgeGateRefused) as exc:
        check("web_form", {"email": "kid@example.com", **declared}, staff=False)
    assert "16" in exc.value.message
    assert exc.value.status == 422


@pytest.mark.parametrize("declared", [{"age": 16}, {"birth_date": "2010-03-02"}])
def test_age_gate_lets_16_through_and_drops_the_age(declared: dict[str, Any]) -> None:
    sub = check("web_form", {"email": "a@example.com", **declared}, staff=False)
    assert "age" not in sub.data
    assert "birth_date" not in sub.data


def test_future_timestamps_are_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        check("contact", {"email": "a@example.com", "collected_at": "2030-01-01T00:00:00Z"})
    assert locs(exc) == ["collected_at"]


def test_blank_values_count_as_absent() -> None:
    sub = check("web_form", {"email": "a@example.com", "phone": "", "name": None})
    assert sub.data == {"email": "a@example.com"}


@pytest.mark.parametrize(
    ("field_type", "raw", "expected"),
    [
        ("duration", 90, 90),
        ("duration", "PT1H30M", 5400),
        ("duration", "05:07", 307),
        ("date", "2024-02-29", "2024-02-29"),
        ("integer", "-12", -12),
        ("url", "https://www.linkedin.com/in/x", "https://www.linkedin.com/in/x"),
    ],
)
def test_field_types(field_type: str, raw: Any, expected: Any) -> None:
    assert validate_value(field_type, raw) == expected


@pytest.mark.parametrize(
    ("field_type", "raw"),
    [
        ("duration", -1),
        ("duration", True),
        ("date", "2023-02-29"),
        ("integer", 1.5),
        ("url", "ftp://x.y"),
    ],
)
def test_field_type_errors(field_type: str, raw: Any) -> None:
    with pytest.raises(FieldProblem):
        validate_value(field_type, raw)


def test_national_phone_numbers_need_a_region() -> None:
    with pytest.raises(FieldProblem, match="international"):
        validate_value("phone", "21 92 93 00")
    assert validate_value("phone", "21 92 93 00", phone_region="NO") == "+4721929300"
