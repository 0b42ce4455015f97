"""Legal clocks: GDPR Art. 12(3) with Regulation 1182/71 Art. 3, on many dates."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacyops.errors import InvalidInput
from privacyops.rights.clocks import (
    add_months,
    clock_start_day,
    extended_deadline,
    extension_notice_deadline,
    is_non_working_day,
    local_day,
    next_working_day,
    non_working_reason,
    request_clock,
    response_deadline,
)

D = dt.date


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2025, 1, 15), 1, D(2025, 2, 15)),
        (D(2025, 1, 31), 1, D(2025, 2, 28)),  # no 31 February: last day of the month
        (D(2024, 1, 31), 1, D(2024, 2, 29)),  # leap year
        (D(2023, 1, 29), 1, D(2023, 2, 28)),
        (D(2024, 1, 29), 1, D(2024, 2, 29)),
        (D(2024, 1, 30), 1, D(2024, 2, 29)),
        (D(2100, 1, 31), 1, D(2100, 2, 28)),  # 2100 is not a leap year
        (D(2000, 1, 31), 1, D(2000, 2, 29)),  # 2000 is
        (D(2024, 3, 31), 1, D(2024, 4, 30)),
        (D(2024, 8, 31), 1, D(2024, 9, 30)),
        (D(2024, 12, 31), 1, D(2025, 1, 31)),
        (D(2024, 12, 15), 1, D(2025, 1, 15)),
        (D(2024, 2, 29), 1, D(2024, 3, 29)),
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2023, 11, 30), 3, D(2024, 2, 29)),
        (D(2024, 11, 30), 3, D(2025, 2, 28)),
        (D(2025, 10, 31), 3, D(2026, 1, 31)),
        (D(2025, 5, 31), 3, D(2025, 8, 31)),
        (D(2025, 6, 30), 3, D(2025, 9, 30)),
        (D(2025, 3, 31), 0, D(2025, 3, 31)),
    ],
)
def test_add_months_follows_the_corresponding_date_or_the_last_day(
    start: dt.date, months: int, expected: dt.date
) -> None:
    assert add_months(start, months) == expected


@given(st.dates(min_value=D(1990, 1, 1), max_value=D(2090, 12, 31)), st.integers(0, 36))
def test_add_months_properties(start: dt.date, months: int) -> None:
    end = add_months(start, months)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
    assert end.day <= start.day
    if end.day < start.day:  # only when that month has no such date, and then its last day
        assert end.day == calendar.monthrange(end.year, end.month)[1]


def test_negative_months_are_refused() -> None:
    with pytest.raises(InvalidInput):
        add_months(D(2025, 1, 1), -1)


# Norway: Altoros Norge AS answers requests in version 3 of the policy.
@pytest.mark.parametrize(
    ("received", "deadline", "why"),
    [
        (D(2025, 1, 15), D(2025, 2, 17), "Saturday"),  # 15 Feb 2025 is a Saturday -> Monday
        (D(2025, 1, 31), D(2025, 2, 28), None),  # Friday, working
        (D(2024, 1, 31), D(2024, 2, 29), None),  # leap day, a Thursday
        (D(2023, 1, 31), D(2023, 2, 28), None),
        (D(2026, 1, 31), D(2026, 3, 2), "Saturday"),  # 28 Feb 2026 is a Saturday
        (D(2025, 3, 18), D(2025, 4, 22), "Good Friday"),  # GF, Sat, Easter Sun, Easter Mon
        (D(2025, 3, 17), D(2025, 4, 22), "Maundy Thursday"),  # a holiday in Norway
        (D(2024, 2, 29), D(2024, 4, 2), "Good Friday"),  # 29 Mar 2024 -> Tue 2 Apr
        (D(2026, 3, 6), D(2026, 4, 7), "Easter Monday"),
        (D(2026, 3, 3), D(2026, 4, 7), "Good Friday"),  # 3 Apr 2026
        (D(2024, 4, 17), D(2024, 5, 21), "Constitution Day"),  # 17 May, then Whit weekend
        (D(2025, 4, 17), D(2025, 5, 19), "Saturday"),  # 17 May 2025 is a Saturday
        (D(2024, 4, 9), D(2024, 5, 10), "Ascension Day"),
        (D(2025, 11, 25), D(2025, 12, 29), "Christmas Day"),  # 25, 26 Dec, then a weekend
        (D(2026, 11, 25), D(2026, 12, 28), "Christmas Day"),
        (D(2025, 11, 24), D(2025, 12, 24), None),  # Christmas Eve is no holiday in Norway
        (D(2025, 12, 1), D(2026, 1, 2), "New Year's Day"),
        (D(2025, 4, 1), D(2025, 5, 2), "Labor Day"),
        (D(2024, 12, 31), D(2025, 1, 31), None),
        (D(2024, 3, 31), D(2024, 4, 30), None),
    ],
)
def test_one_month_deadline_in_norway(
    received: dt.date, deadline: dt.date, why: str | None
) -> None:
    assert response_deadline(received, "NO") == deadline
    clock = request_clock(
        received_at=dt.datetime.combine(received, dt.time(12), dt.UTC),
        verified_at=None,
        country="NO",
    )
    assert clock.deadline == deadline
    assert clock.moved_because == why


# Poland (Altoros Poland, version 3) and Belarus (Altoros Development LLC, versions 1-2).
@pytest.mark.parametrize(
    ("country", "received", "deadline"),
    [
        ("PL", D(2025, 10, 11), D(2025, 11, 12)),  # National Independence Day
        ("PL", D(2025, 5, 19), D(2025, 6, 20)),  # Corpus Christi
        ("PL", D(2025, 11, 24), D(2025, 12, 29)),  # Christmas Eve is a holiday from 2025
        ("PL", D(2025, 10, 1), D(2025, 11, 3)),  # All Saints' (Saturday), Sunday
        ("PL", D(2025, 3, 21), D(2025, 4, 22)),  # Easter Monday 21 Apr 2025
        ("PL", D(2025, 7, 15), D(2025, 8, 18)),  # Assumption Day (Friday) + weekend
        ("BY", D(2024, 12, 7), D(2025, 1, 8)),  # Orthodox Christmas 7 Jan
        ("BY", D(2024, 12, 6), D(2025, 1, 8)),  # 6 Jan 2025 a decreed day off, then 7 Jan
        ("BY", D(2024, 12, 11), D(2025, 1, 13)),  # Saturday 11 Jan 2025: decreed working day,
        # still a Saturday for Reg. 1182/71 Art. 3(4)
        ("BY", D(2025, 4, 9), D(2025, 5, 12)),  # Victory Day (Friday) + weekend
        ("BY", D(2025, 6, 3), D(2025, 7, 7)),  # Independence Day + decreed day off + weekend
        ("BY", D(2025, 3, 29), D(2025, 4, 30)),  # Radunitsa, 29 Apr 2025
        ("FI", D(2025, 5, 6), D(2025, 6, 6)),  # a plain Friday
        ("FI", D(2025, 5, 20), D(2025, 6, 23)),  # Midsummer Eve (Fri), Midsummer Day (Sat)
        ("DE", D(2025, 9, 3), D(2025, 10, 6)),  # Day of German Unity (Fri) + weekend
    ],
)
def test_one_month_deadline_elsewhere(country: str, received: dt.date, deadline: dt.date) -> None:
    assert response_deadline(received, country) == deadline


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        (D(2023, 11, 30), D(2024, 2, 29)),  # leap day
        (D(2024, 11, 30), D(2025, 2, 28)),
        (D(2025, 1, 18), D(2025, 4, 22)),  # Good Friday -> after Easter Monday
        (D(2025, 11, 30), D(2026, 3, 2)),  # 28 Feb 2026 Saturday
        (D(2025, 9, 25), D(2025, 12, 29)),  # Christmas
        (D(2025, 2, 17), D(2025, 5, 19)),  # Constitution Day on a Saturday
        # From the start date, not from the moved one-month deadline: 31 Jan -> 30 Apr,
        # where 28 Feb + 2 months would give 28 Apr.
        (D(2025, 1, 31), D(2025, 4, 30)),
    ],
)
def test_extended_deadline_is_three_months_from_the_start(
    received: dt.date, deadline: dt.date
) -> None:
    assert extended_deadline(received, "NO") == deadline
    clock = request_clock(
        received_at=dt.datetime.combine(received, dt.time(9), dt.UTC),
        verified_at=None,
        country="NO",
        extended=True,
    )
    assert clock.deadline == deadline
    assert clock.extended
    assert clock.original_deadline == response_deadline(received, "NO")


def test_extension_must_be_told_within_the_first_month() -> None:
    received = D(2025, 3, 18)
    assert extension_notice_deadline(received, "NO") == D(2025, 4, 22)
    assert extension_notice_deadline(received, "NO") < extended_deadline(received, "NO")


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2060, 12, 31)))
def test_deadlines_always_land_on_a_working_day_at_or_after_the_unmoved_date(
    received: dt.date,
) -> None:
    for country in ("NO", "PL"):
        one = response_deadline(received, country)
        three = extended_deadline(received, country)
        for deadline, months in ((one, 1), (three, 3)):
            raw = add_months(received, months)
            assert not is_non_working_day(deadline, country)
            assert raw <= deadline <= raw + dt.timedelta(days=10)
            # every day skipped was a non-working day
            day = raw
            while day < deadline:
                assert is_non_working_day(day, country)
                day += dt.timedelta(days=1)


def test_non_working_reason_names_the_day() -> None:
    assert non_working_reason(D(2025, 5, 17), "NO") == "Saturday"
    assert non_working_reason(D(2026, 5, 17), "NO") == "Sunday"
    assert non_working_reason(D(2024, 5, 17), "NO") == "Constitution Day"
    assert non_working_reason(D(2024, 5, 16), "NO") is None
    assert next_working_day(D(2024, 5, 16), "NO") == D(2024, 5, 16)


def test_unknown_country_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as caught:
        response_deadline(D(2025, 1, 1), "QQ")
    assert "QQ" in caught.value.message


def test_receipt_day_is_reckoned_where_the_answering_entity_is() -> None:
    late = dt.datetime(2025, 3, 17, 23, 30, tzinfo=dt.UTC)  # 00:30 on 18 March in Oslo
    assert local_day(late, "NO") == D(2025, 3, 18)
    assert local_day(late.replace(tzinfo=None), "NO") == D(2025, 3, 18)
    assert local_day(late, "ZZ") == D(2025, 3, 17)  # unknown zone: UTC
    clock = request_clock(received_at=late, verified_at=None, country="NO")
    assert clock.start == D(2025, 3, 18)
    assert clock.deadline == D(2025, 4, 22)


def test_clock_can_start_at_identity_confirmation() -> None:
    received = dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC)
    verified = dt.datetime(2025, 3, 10, 10, tzinfo=dt.UTC)
    assert clock_start_day(received, verified, "NO", "receipt") == D(2025, 3, 1)
    assert clock_start_day(received, verified, "NO", "verification") == D(2025, 3, 10)
    paused = request_clock(
        received_at=received, verified_at=None, country="NO", mode="verification"
    )
    assert paused.start is None
    assert paused.deadline is None
    assert paused.days_left(D(2025, 3, 5)) is None
    running = request_clock(
        received_at=received, verified_at=verified, country="NO", mode="verification"
    )
    assert running.deadline == D(2025, 4, 10)
    assert running.days_left(D(2025, 4, 1)) == 9
    assert running.as_dict()["deadline"] == "2025-04-10"


# --- the clock's country: an EEA establishment, never Minsk -----------------------------------


def test_versions_answered_from_minsk_keep_norwegian_time() -> None:
    from privacyops.policy import default_policy_book
    from privacyops.policy.establishment import clock_country

    book = default_policy_book()
    v1, v3 = book.get("v1"), book.get("v3")
    assert v1.contact_point.country == "BY"  # Altoros Development LLC answers in versions 1-2
    chosen = clock_country(v1)
    assert (chosen.country, chosen.entity) == ("NO", "Altoros Norge AS")
    assert "EEA representative (Art. 27)" in chosen.how
    assert chosen.note is None
    assert clock_country(v3).how == "the contact point, in the EEA"
    # 3 July is Independence Day in Belarus, a Friday and a working day in Norway in 2026
    received = dt.date(2026, 6, 3)
    assert response_deadline(received, "BY") == dt.date(2026, 7, 6)
    assert response_deadline(received, chosen.country) == dt.date(2026, 7, 3)


def test_a_policy_with_no_eea_entity_gets_a_note() -> None:
    from privacyops.policy.establishment import clock_country
    from privacyops.policy.generate import minimal_manifest_data
    from privacyops.policy.schema import Manifest

    data = minimal_manifest_data()
    data["entities"][0].update(country="US", address="1 Main St, Springfield")
    chosen = clock_country(Manifest.model_validate(data))
    assert chosen.country == "US"
    assert chosen.note is not None
    assert "names no establishment or representative in the EEA" in chosen.note
