"""DPIA screening and register (GDPR Art. 35).

Every processing activity of the manifest (a purpose of a channel) is screened against the
criteria in ``data/dpia_criteria.yaml``: the nine of WP248 rev.01 (two or more: a DPIA is
needed) and items of the supervisory authorities' lists (Art. 35(4): one is enough). The
register keeps a DPIA record per activity: description, necessity and proportionality, risks,
measures, the DPO's advice (Art. 35(2)) and the date to review it (Art. 35(11)).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

import sqlalchemy as sa

from privacyops.audit import AuditLog, actions
from privacyops.errors import InvalidInput
from privacyops.policy.schema import Channel, Manifest, Purpose
from privacyops.registers.models import Dpia
from privacyops.store import Database
from privacyops.store.base import utcnow
from privacyops.yamlfile import parse_yaml

__all__ = [
    "Activity",
    "Criterion",
    "DpiaRegister",
    "Screening",
    "activities",
    "criteria",
    "screen",
]

_CONDITIONS = frozenset(
    {"categories", "special", "data_uses", "processors", "data_subjects", "text"}
)


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    kind: str  #: ``wp248`` or ``list``
    title: str
    source: str
    number: int | None
    when: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "title": self.title, "source": self.source}


@lru_cache(maxsize=1)
def criteria() -> tuple[Criterion, ...]:
    """The shipped criteria (checked when loaded)."""
    name = "data/dpia_criteria.yaml"
    text = resources.files("privacyops.registers").joinpath(name).read_text("utf-8")
    data, _ = parse_yaml(text, name)
    out = []
    for item in data["criteria"]:
        unknown = set(item.get("when") or {}) - _CONDITIONS
        if unknown or item["kind"] not in ("wp248", "list"):
            msg = f"{name}: criterion {item['id']}: unknown kind or condition {sorted(unknown)}"
            raise ValueError(msg)
        out.append(
            Criterion(
                id=item["id"],
                kind=item["kind"],
                title=item["title"],
                source=item["source"],
                number=item.get("number"),
                when=item.get("when") or {},
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Activity:
    """A processing activity: one purpose of one channel, with what it uses."""

    channel: str
    purpose: str
    name: str
    categories: frozenset[str]
    special: bool
    data_use: str
    processors: frozenset[str]
    data_subjects: frozenset[str]
    text: str

    @property
    def key(self) -> str:
        return f"{self.channel}/{self.purpose}"


def activities(manifest: Manifest) -> list[Activity]:
    """Every purpose × channel of the manifest."""
    purposes: dict[str, Purpose] = {p.id: p for p in manifest.purposes}
    special = {c.id for c in manifest.data_categories if c.special}
    out = []
    for channel in manifest.channels:
        for purpose_id in channel.purposes:
            purpose = purposes.get(purpose_id)
            if purpose is None:
                continue
            out.append(_activity(channel, purpose, special))
    return out


def _activity(channel: Channel, purpose: Purpose, special: set[str]) -> Activity:
    used = set(purpose.categories) & set(channel.categories) or set(channel.categories)
    return Activity(
        channel=channel.id,
        purpose=purpose.id,
        name=f"{purpose.name} ({channel.name})",
        categories=frozenset(used),
        special=bool(used & special),
        data_use=purpose.data_use or "",
        processors=frozenset(channel.processors),
        data_subjects=frozenset(channel.data_subjects),
        text=" ".join([*channel.processing, purpose.description or ""]).lower(),
    )


def _holds(condition: str, values: Any, activity: Activity) -> bool:
    if condition == "special":
        return activity.special is bool(values)
    wanted = [str(v) for v in values]
    if condition == "categories":
        return bool(activity.categories.intersection(wanted))
    if condition == "data_uses":
        return any(activity.data_use == w or activity.data_use.startswith(w + ".") for w in wanted)
    if condition == "processors":
        return bool(activity.processors.intersection(wanted))
    if condition == "data_subjects":
        return bool(activity.data_subjects.intersection(wanted))
    return any(w.lower() in activity.text for w in wanted)  # text


def matches(criterion: Criterion, activity: Activity) -> bool:
    """Every condition of the criterion holds (one with none never matches: judged by hand)."""
    if not criterion.when:
        return False
    return all(_holds(k, v, activity) for k, v in criterion.when.items())


@dataclass(frozen=True, slots=True)
class Screening:
    activity: Activity
    matched: tuple[Criterion, ...]

    @property
    def wp248_count(self) -> int:
        return len({c.number for c in self.matched if c.kind == "wp248"})

    @property
    def needs_dpia(self) -> bool:
        return self.wp248_count >= 2 or any(c.kind == "list" for c in self.matched)

    def as_dict(self) -> dict[str, Any]:
        return {
            "activity": self.activity.key,
            "channel": self.activity.channel,
            "purpose": self.activity.purpose,
            "name": self.activity.name,
            "needs_dpia": self.needs_dpia,
            "wp248_criteria": self.wp248_count,
            "matched": [c.as_dict() for c in self.matched],
        }


def screen(manifest: Manifest) -> list[Screening]:
    """Each activity of the manifest with the criteria it meets."""
    shipped = criteria()
    return [
        Screening(activity, tuple(c for c in shipped if matches(c, activity)))
        for activity in activities(manifest)
    ]


# --- the register -------------------------------------------------------------------------------

_TEXTS = ("description", "necessity", "risks", "measures", "dpo_advice")


def _dpia_dict(row: Dpia) -> dict[str, Any]:
    return {
        "id": row.id,
        "activity": f"{row.channel}/{row.purpose}",
        **{k: getattr(row, k) for k in _TEXTS},
        "review_date": row.review_date.isoformat(),
        "review_overdue": row.review_date < date.today(),
        "updated_at": row.updated_at.isoformat(),
    }


class DpiaRegister:
    """DPIA records, one per activity (a new one for the same activity replaces it, audited)."""

    def __init__(self, db: Database, manifest: Manifest) -> None:
        self.db = db
        self.manifest = manifest

    def __repr__(self) -> str:
        return f"DpiaRegister({self.db!r})"

    def add(self, activity: str, fields: Mapping[str, Any], *, actor: str) -> dict[str, Any]:
        """Record the DPIA of ``activity`` (``channel/purpose``).

        Raises:
            InvalidInput: not an activity of the manifest, a text missing or too long, or no
                review date.
        """
        known = {a.key for a in activities(self.manifest)}
        if activity not in known:
            raise InvalidInput(
                f"activity: {activity!r} is not a purpose of a channel in the policy",
                details=[{"loc": ["activity"], "msg": "expected channel/purpose from the policy"}],
            )
        values: dict[str, Any] = {}
        for key in _TEXTS:
            text = fields.get(key)
            if not isinstance(text, str) or not text.strip() or len(text) > 20_000:
                raise InvalidInput(
                    f"{key}: required, at most 20000 characters",
                    details=[{"loc": [key], "msg": "required, at most 20000 characters"}],
                )
            values[key] = text.strip()
        review = fields.get("review_date")
        if not isinstance(review, date):
            raise InvalidInput(
                "review_date: required (a date)",
                details=[{"loc": ["review_date"], "msg": "expected a date"}],
            )
        channel, _, purpose = activity.partition("/")
        with self.db.session() as s:
            row = s.execute(
                sa.select(Dpia).where(Dpia.channel == channel, Dpia.purpose == purpose)
            ).scalar_one_or_none()
            if row is None:
                row = Dpia(channel=channel, purpose=purpose, created_at=utcnow())
                s.add(row)
            for key, value in values.items():
                setattr(row, key, value)
            row.review_date = review
            row.updated_at = utcnow()
            s.flush()
            AuditLog(self.db).append(
                actions.DPIA_RECORD,
                actor=actor,
                reason=activity,
                details={"review_date": review.isoformat()},
                session=s,
            )
            return _dpia_dict(row)

    def records(self) -> list[dict[str, Any]]:
        with self.db.session() as s:
            rows = s.execute(sa.select(Dpia).order_by(Dpia.channel, Dpia.purpose)).scalars()
            return [_dpia_dict(row) for row in rows]

    def report(self) -> list[dict[str, Any]]:
        """Each activity that needs a DPIA, with its record's state: missing, overdue, done."""
        done = {d["activity"]: d for d in self.records()}
        out = []
        for item in screen(self.manifest):
            if not item.needs_dpia:
                continue
            record = done.get(item.activity.key)
            state = (
                "missing"
                if record is None
                else ("review_overdue" if record["review_overdue"] else "done")
            )
            out.append({**item.as_dict(), "dpia": state})
        return out
