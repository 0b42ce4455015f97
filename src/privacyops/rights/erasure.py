"""The grounds of an erasure (GDPR Art. 17(1)) and its answer to the person.

The answer's words are in ``templates/erasure_answer.txt.j2`` (gettext-ready: ``_()``), not in
Python: it names the ground of the erasure, what was erased, every Art. 17(3) exception applied,
what each keeps (in words) and the date it will be erased.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from privacyops.policy.render import country_name
from privacyops.policy.schema import Manifest
from privacyops.rights.outcome import KeptRecord, Outcome

__all__ = ["ErasureGround", "KeptGroup", "render_erasure_answer"]


class ErasureGround(StrEnum):
    """Why the person asks for erasure (Art. 17(1)(a)-(f)); the value is what is stored."""

    NO_LONGER_NECESSARY = "no_longer_necessary"  # (a)
    CONSENT_WITHDRAWN = "consent_withdrawn"  # (b)
    OBJECTION = "objection"  # (c)
    UNLAWFUL_PROCESSING = "unlawful_processing"  # (d)
    LEGAL_OBLIGATION = "legal_obligation"  # (e)
    CHILD = "child"  # (f): collected from a child for an information society service

    @property
    def article(self) -> str:
        """The point of Art. 17(1), e.g. ``"17(1)(a)"``."""
        return f"17(1)({'abcdef'[list(ErasureGround).index(self)]})"

    @classmethod
    def parse(cls, value: object) -> ErasureGround | None:
        """The ground ``value`` names, or ``None`` when it names none."""
        for ground in cls:
            if ground.value == value:
                return ground
        return None


@dataclass(frozen=True)
class KeptGroup:
    """Records kept under one exception, law and date, as the answer shows them."""

    exception: str | None
    article: str | None
    laws: list[tuple[str, str | None]]
    kept: str | None
    until: date | None
    hold: str | None
    channels: list[str]
    records: int


def _groups(kept: list[KeptRecord], manifest: Manifest) -> list[KeptGroup]:
    names = {c.id: c.name for c in manifest.channels}
    grouped: dict[tuple[object, ...], list[KeptRecord]] = {}
    for k in kept:
        laws = tuple((x.law, x.country) for x in k.laws or [])
        key = (k.exception, k.article, laws, k.kept, k.until, k.hold)
        grouped.setdefault(key, []).append(k)
    return [
        KeptGroup(
            exception=first.exception,
            article=first.article,
            laws=[
                (x.law, country_name(x.country) if x.country else None) for x in first.laws or []
            ],
            kept=first.kept,
            until=first.until,
            hold=first.hold,
            channels=sorted({names.get(k.channel, k.channel) for k in items}),
            records=len(items),
        )
        for items in grouped.values()
        for first in items[:1]
    ]


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("privacyops.rights", "templates"),
        # plain-text e-mail, never HTML: nothing to escape (``.txt.j2`` only)
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return env


def render_erasure_answer(
    public_id: str, outcome: Outcome, manifest: Manifest, ground: str | None
) -> tuple[str, str]:
    """The subject line and body of the answer to an erasure request."""
    parsed = ErasureGround.parse(ground)
    names = {c.id: c.name for c in manifest.channels}
    template = _environment().get_template("erasure_answer.txt.j2")
    body = template.render(
        public_id=public_id,
        ground=parsed.value if parsed else None,
        article=parsed.article if parsed else None,
        outcome=outcome,
        erased_channels=[names.get(c, c) for c in outcome.erased_channels or []],
        kept=_groups(list(outcome.kept or []), manifest),
        systems=outcome.systems(),
    )
    subject = (
        _environment().get_template("erasure_answer_subject.txt.j2").render(public_id=public_id)
    )
    return subject.strip(), body.strip() + "\n"
