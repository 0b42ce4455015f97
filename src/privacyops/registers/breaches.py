"""The breach register (GDPR Art. 33(5)): record a breach, change it, assess its risk and note
each phase of its notification; every act is written to the audit log in the same transaction.

::

    register = BreachRegister(db, manifest)
    view = register.record(BreachIn(title=..., description=..., aware_at=..., channels=[...]),
                           actor="staff:3")
    view.deadline            # aware_at + 72 elapsed hours
    register.assess(view.ref, "high", "high", reasons="...", actor="staff:3")
    register.notify_authority(view.ref, at=..., note="first phase", actor="staff:3")
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.audit import AuditLog, actions
from privacyops.errors import InvalidInput, NotFound
from privacyops.policy.schema import Manifest
from privacyops.registers.clock import is_late, notification_deadline
from privacyops.registers.models import Breach
from privacyops.registers.risk import assess
from privacyops.store import Database
from privacyops.store.base import utcnow

__all__ = ["EDITABLE", "BreachIn", "BreachRegister", "BreachView"]

#: Fields :meth:`BreachRegister.update` may change.
EDITABLE = frozenset(
    {
        "title",
        "description",
        "occurred_at",
        "window_start",
        "window_end",
        "systems",
        "channels",
        "data_categories",
        "consequences",
        "measures",
    }
)


@dataclass(frozen=True)
class BreachIn:
    """What is known of a breach when it is recorded (times timezone-aware)."""

    title: str
    description: str
    aware_at: datetime
    occurred_at: datetime | None = None
    timezone: str = "UTC"
    window_start: datetime | None = None
    window_end: datetime | None = None
    systems: Sequence[str] = ()
    channels: Sequence[str] = ()
    data_categories: Sequence[str] = ()
    consequences: str | None = None
    measures: str | None = None


@dataclass(frozen=True)
class BreachView:
    """A breach as the register shows it (no personal data)."""

    ref: str
    title: str
    description: str
    occurred_at: datetime | None
    aware_at: datetime
    deadline: datetime
    timezone: str
    window_start: datetime | None
    window_end: datetime | None
    systems: list[str]
    channels: list[str]
    data_categories: list[str]
    consequences: str | None
    measures: str | None
    risk: dict[str, Any] | None
    decision_reasons: str | None
    late_reasons: str | None
    authority_notified_at: datetime | None
    phases: list[dict[str, Any]] = field(default_factory=list)
    created_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, moment: datetime | None) -> datetime | None:
        """``moment`` in the breach's own time zone."""
        return None if moment is None else moment.astimezone(self.zone)

    @property
    def late(self) -> bool:
        """Notified after the deadline, or not notified and the deadline has passed."""
        if self.risk is not None and self.risk["decision"] == "none":
            return False
        return is_late(self.aware_at, self.authority_notified_at or utcnow())

    def as_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.astimezone(self.zone).isoformat()

        return {
            "ref": self.ref,
            "title": self.title,
            "description": self.description,
            "occurred_at": iso(self.occurred_at),
            "aware_at": iso(self.aware_at),
            "deadline": iso(self.deadline),
            "timezone": self.timezone,
            "window_start": iso(self.window_start),
            "window_end": iso(self.window_end),
            "systems": self.systems,
            "channels": self.channels,
            "data_categories": self.data_categories,
            "consequences": self.consequences,
            "measures": self.measures,
            "risk": self.risk,
            "decision_reasons": self.decision_reasons,
            "late": self.late,
            "late_reasons": self.late_reasons,
            "authority_notified_at": iso(self.authority_notified_at),
            "phases": self.phases,
            "closed_at": iso(self.closed_at),
        }


def _view(row: Breach) -> BreachView:
    risk = None
    if row.likelihood and row.severity:
        risk = assess(row.likelihood, row.severity).as_dict()
    return BreachView(
        ref=row.ref,
        title=row.title,
        description=row.description,
        occurred_at=row.occurred_at,
        aware_at=row.aware_at,
        deadline=notification_deadline(row.aware_at),
        timezone=row.timezone,
        window_start=row.window_start,
        window_end=row.window_end,
        systems=list(row.systems),
        channels=list(row.channels),
        data_categories=list(row.data_categories),
        consequences=row.consequences,
        measures=row.measures,
        risk=risk,
        decision_reasons=row.decision_reasons,
        late_reasons=row.late_reasons,
        authority_notified_at=row.authority_notified_at,
        phases=list(row.phases),
        created_at=row.created_at,
        closed_at=row.closed_at,
    )


def _problem(loc: str, msg: str) -> InvalidInput:
    return InvalidInput(f"{loc}: {msg}", details=[{"loc": [loc], "msg": msg}])


def _aware(name: str, value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise _problem(name, "expected a date and time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise _problem(name, "give a time zone (a time without one is ambiguous)")
    return value


def _text(name: str, value: object, limit: int, *, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _problem(name, "required")
        return None
    if not isinstance(value, str):
        raise _problem(name, "expected text")
    if len(value) > limit:
        raise _problem(name, f"at most {limit} characters")
    return value.strip()


class BreachRegister:
    """The breach register of one database, checked against the manifest in force."""

    def __init__(self, db: Database, manifest: Manifest) -> None:
        self.db = db
        self.manifest = manifest
        self.audit = AuditLog(db)

    def __repr__(self) -> str:
        return f"BreachRegister({self.db!r})"

    # -- checks ------------------------------------------------------------------------------

    def _names(self, name: str, values: object, known: set[str] | None) -> list[str]:
        if isinstance(values, str) or not isinstance(values, Sequence):
            raise _problem(name, "expected a list")
        out: list[str] = []
        for value in values:
            if not isinstance(value, str) or not value.strip() or len(value) > 128:
                raise _problem(name, "each item must be a short name")
            if known is not None and value not in known:
                raise _problem(name, f"{value!r} is not declared in the policy")
            out.append(value)
        return list(dict.fromkeys(out))

    def _check(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The editable fields of ``values``, validated."""
        out: dict[str, Any] = {}
        for key, value in values.items():
            if key in ("title",):
                out[key] = _text(key, value, 200, required=True)
            elif key == "description":
                out[key] = _text(key, value, 10_000, required=True)
            elif key in ("consequences", "measures"):
                out[key] = _text(key, value, 10_000)
            elif key in ("occurred_at", "window_start", "window_end"):
                out[key] = _aware(key, value)
            elif key == "systems":
                out[key] = self._names(key, value, None)
            elif key == "channels":
                out[key] = self._names(key, value, {c.id for c in self.manifest.channels})
            elif key == "data_categories":
                known = {c.id for c in self.manifest.data_categories}
                out[key] = self._names(key, value, known)
            else:
                raise _problem(key, "not a field of a breach that can be changed")
        return out

    @staticmethod
    def _consistent(row: Breach) -> None:
        if not row.channels and not row.data_categories:
            raise _problem("channels", "name the channels or data categories affected")
        if row.window_start and row.window_end and row.window_end < row.window_start:
            raise _problem("window_end", "the window ends before it starts")

    def _row(self, s: Session, ref: str) -> Breach:
        row = s.execute(sa.select(Breach).where(Breach.ref == ref[:32])).scalar_one_or_none()
        if row is None:
            raise NotFound("No such breach.")
        return row

    # -- acts --------------------------------------------------------------------------------

    def record(self, data: BreachIn, *, actor: str) -> BreachView:
        """Enter a breach in the register (audited).

        Raises:
            InvalidInput: a time is naive, a field is missing or too long, a channel or
                category is not in the policy, or neither channels nor categories are named.
        """
        aware_at = _aware("aware_at", data.aware_at)
        if aware_at is None:
            raise _problem("aware_at", "required")
        try:
            ZoneInfo(data.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise _problem("timezone", "not an IANA time zone such as Europe/Oslo") from None
        fields = self._check(
            {
                "title": data.title,
                "description": data.description,
                "occurred_at": data.occurred_at,
                "window_start": data.window_start,
                "window_end": data.window_end,
                "systems": list(data.systems),
                "channels": list(data.channels),
                "data_categories": list(data.data_categories),
                "consequences": data.consequences,
                "measures": data.measures,
            }
        )
        now = utcnow()
        row = Breach(
            ref="BR-" + secrets.token_hex(5).upper(),
            aware_at=aware_at,
            timezone=data.timezone,
            phases=[],
            created_at=now,
            updated_at=now,
            **fields,
        )
        if row.window_end is None:
            row.window_end = aware_at
        self._consistent(row)
        with self.db.session() as s:
            s.add(row)
            s.flush()
            self.audit.append(
                actions.BREACH_RECORD,
                actor=actor,
                reason=row.ref,
                details={"channels": row.channels, "data_categories": row.data_categories},
                session=s,
            )
            return _view(row)

    def update(self, ref: str, changes: Mapping[str, Any], *, actor: str) -> BreachView:
        """Change a breach's facts (audited with the names of the fields changed)."""
        fields = self._check(changes)
        with self.db.session() as s:
            row = self._row(s, ref)
            for key, value in fields.items():
                setattr(row, key, value)
            self._consistent(row)
            row.updated_at = utcnow()
            self.audit.append(
                actions.BREACH_UPDATE,
                actor=actor,
                reason=row.ref,
                details={"fields": sorted(fields)},
                session=s,
            )
            return _view(row)

    def get(self, ref: str) -> BreachView:
        with self.db.session() as s:
            return _view(self._row(s, ref))

    def list(self, *, open_only: bool = False) -> list[BreachView]:
        """Breaches, the most recent awareness first."""
        query = sa.select(Breach).order_by(Breach.aware_at.desc(), Breach.id.desc())
        if open_only:
            query = query.where(Breach.closed_at.is_(None))
        with self.db.session() as s:
            return [_view(row) for row in s.execute(query).scalars()]

    def assess(
        self, ref: str, likelihood: str, severity: str, *, reasons: str, actor: str
    ) -> BreachView:
        """Record the risk assessment and the decision it leads to (Art. 33(5): the reasons
        are required, above all for deciding not to notify)."""
        risk = assess(likelihood, severity)
        why = _text("reasons", reasons, 10_000, required=True)
        with self.db.session() as s:
            row = self._row(s, ref)
            row.likelihood, row.severity = likelihood, severity
            row.decision, row.decision_reasons = risk.decision.value, why
            row.updated_at = utcnow()
            self.audit.append(
                actions.BREACH_UPDATE,
                actor=actor,
                reason=row.ref,
                details={"risk": risk.as_dict()},
                session=s,
            )
            return _view(row)

    def notify_authority(
        self,
        ref: str,
        *,
        at: datetime,
        note: str,
        actor: str,
        late_reasons: str | None = None,
    ) -> BreachView:
        """Note a phase of the notification to the authority (Art. 33(4)); the first one is
        the notification's time. A first phase after the 72 hours needs ``late_reasons``
        (Art. 33(1)).

        Raises:
            InvalidInput: ``at`` is naive; late without reasons.
        """
        when = _aware("at", at)
        assert when is not None
        text = _text("note", note, 2_000, required=True)
        why_late = _text("late_reasons", late_reasons, 10_000)
        with self.db.session() as s:
            row = self._row(s, ref)
            first = row.authority_notified_at is None
            if first and is_late(row.aware_at, when) and not (why_late or row.late_reasons):
                raise _problem(
                    "late_reasons",
                    "the 72 hours have passed: give the reasons for the delay (Art. 33(1))",
                )
            if first:
                row.authority_notified_at = when
            if why_late:
                row.late_reasons = why_late
            row.phases = [
                *row.phases,
                {
                    "phase": len(row.phases) + 1,
                    "at": when.astimezone(UTC).isoformat(),
                    "note": text,
                },
            ]
            row.updated_at = utcnow()
            self.audit.append(
                actions.BREACH_UPDATE,
                actor=actor,
                reason=row.ref,
                details={"phase": len(row.phases), "late": is_late(row.aware_at, when)},
                session=s,
            )
            return _view(row)

    def close(self, ref: str, *, actor: str) -> BreachView:
        with self.db.session() as s:
            row = self._row(s, ref)
            row.closed_at = row.updated_at = utcnow()
            self.audit.append(
                actions.BREACH_UPDATE,
                actor=actor,
                reason=row.ref,
                details={"closed": True},
                session=s,
            )
            return _view(row)
