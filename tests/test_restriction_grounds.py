"""One list of restriction grounds (GDPR Art. 18(1)(a)-(d)): store, form and answer; and the
restriction an erasure sets on what an Art. 17(3) exception keeps (Art. 18(2)), which no one
asks for."""

from __future__ import annotations

from privacyops.policy.restriction import RestrictionGround
from privacyops.rights.workflow import RESTRICTION_GROUNDS


def test_the_four_grounds_of_article_18_1() -> None:
    assert [g.article for g in RestrictionGround.requestable()] == [
        "18(1)(a)",
        "18(1)(b)",
        "18(1)(c)",
        "18(1)(d)",
    ]
    assert RestrictionGround.ERASURE_EXCEPTION not in RestrictionGround.requestable()
    assert RestrictionGround.ERASURE_EXCEPTION.article == "18(2)"


def test_every_ground_is_worded_for_the_person_with_its_article() -> None:
    assert list(RESTRICTION_GROUNDS) == RestrictionGround.requestable()
    for ground, words in RESTRICTION_GROUNDS.items():
        assert f"(Art. {ground.article})" in words


def test_parse_accepts_the_stored_values_only() -> None:
    assert RestrictionGround.parse("legal_claims") is RestrictionGround.LEGAL_CLAIMS
    assert RestrictionGround.parse("Legal_Claims") is None
    assert RestrictionGround.parse(None) is None
