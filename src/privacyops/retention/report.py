"""What a retention sweep reports, and the moment it judges expiry at."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from privacyops.errors import InvalidInput
from privacyops.retention.datasets import DatasetReport
from privacyops.store.base import utcnow

__all__ = ["EARLIEST", "GroupReport", "RetentionReport", "check_as_of"]

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class GroupReport:
    """What one (channel, policy version) group held and what the sweep did to it."""

    channel: str
    policy_version: str
    rule: str | None
    problem: str | None = None
    #: records of the group; counted by dry runs and for rules whose clock may be missing
    #: (a real run of a collection-clock rule skips that scan: ``None``)
    records: int | None = 0
    expired: int = 0
    deleted: int = 0
    anonymised: int = 0
    kept_legal_hold: int = 0
    kept_restriction: int = 0
    #: expired by the channel's rule, but kept by an erasure's Art. 17(3) exception until later
    kept_exception: int = 0
    undetermined: int = 0
    subjects_erased: int = 0

    @property
    def key(self) -> str:
        return f"{self.channel}/{self.policy_version}"


@dataclass
class RetentionReport:
    """The outcome of a sweep (``privacyops retention run`` prints it)."""

    as_of: datetime
    dry_run: bool
    run_id: int | None = None
    resumed: bool = False
    state: str = "running"
    groups: list[GroupReport] = field(default_factory=list)
    datasets: list[DatasetReport] = field(default_factory=list)
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    notes: list[str] = field(default_factory=list)
    #: records an erasure kept under an Art. 17(3) exception, deleted as it ended
    #: (:mod:`privacyops.retention.kept`), and the subjects that left with nothing
    exception_ended: int = 0
    exception_subjects_erased: int = 0

    def total(self, name: str) -> int:
        """Sum of one counter over the groups (``"deleted"``, ``"expired"``...)."""
        return sum(int(getattr(g, name) or 0) for g in self.groups)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored on the run row; ``--json`` output)."""
        counters = (
            "records",
            "expired",
            "deleted",
            "anonymised",
            "kept_legal_hold",
            "kept_restriction",
            "kept_exception",
            "undetermined",
            "subjects_erased",
        )
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "resumed": self.resumed,
            "state": self.state,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "totals": {name: self.total(name) for name in counters},
            "groups": [asdict(g) for g in self.groups],
            "exception_ended": {
                "deleted": self.exception_ended,
                "subjects_erased": self.exception_subjects_erased,
            },
            "datasets": [d.to_dict() for d in self.datasets],
            "notes": list(self.notes),
        }


def check_as_of(as_of: datetime | None) -> datetime:
    """The sweep's moment: now by default; refused when absurd.

    Raises:
        InvalidInput: before 1970 or more than 100 years ahead.
    """
    now = utcnow()
    if as_of is None:
        return now
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    if as_of < EARLIEST:
        raise InvalidInput(
            "--as-of is before 1970: no record can be that old.",
            details=[{"loc": ["as_of"], "msg": "on or after 1970-01-01"}],
        )
    if as_of > now + timedelta(days=365 * 100):
        raise InvalidInput(
            "--as-of is more than 100 years ahead: every record would expire.",
            details=[{"loc": ["as_of"], "msg": "within 100 years from today"}],
        )
    return as_of
