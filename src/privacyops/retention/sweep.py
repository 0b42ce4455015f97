"""The retention sweep: find what has expired, delete or anonymise it, erase subjects left with
nothing, in set-based chunks, resumable, audited per chunk.

Each chunk is one transaction: the records of one (channel, policy version) group whose clock
is at or before the rule's cutoff, in id order, minus those of subjects under an active legal
hold or a restriction kept for legal claims (GDPR Art. 17(3)(e), 18(1)(b)-(c)). Subjects whose
last record goes are crypto-shredded (key destroyed first, then identities deleted). The chunk's
audit event and the run's cursor are written in the same transaction, so a crash loses nothing
and repeats nothing: the next run resumes after the last committed chunk.

A chunk is two statements of set-based SQL and the bookkeeping: one picks the chunk and deletes
or anonymises it, returning the records' subjects (``DELETE/UPDATE ... RETURNING``); one marks
those subjects left without any record erased, returning them (``UPDATE ... RETURNING``; on
PostgreSQL it also deletes their identities and, when the keys are a table of the same database,
their keys). A key store with a database of its own commits the keys' destruction before the
chunk commits, so no committed erasure ever has a live key. No record becomes an ORM object:
PostgreSQL returns one row of sums per chunk, SQLite the ids and subject ids.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal, _TraverseInternalsType

from privacyops.audit import AuditLog, NewEvent
from privacyops.audit import actions as audit_actions
from privacyops.connectors import SQLConnector
from privacyops.errors import InvalidInput
from privacyops.policy.schema import PolicyBook
from privacyops.retention.datasets import DatasetReport, sweep_datasets
from privacyops.retention.models import RetentionRun
from privacyops.retention.rules import EffectiveRule, resolve_rule
from privacyops.store.base import utcnow
from privacyops.store.db import Database
from privacyops.store.keys import subject_keys
from privacyops.store.models import (
    DataSubject,
    Identity,
    LegalHold,
    PersonalDataRecord,
    ProcessingRestriction,
)

__all__ = [
    "KEEPING_GROUNDS",
    "GroupReport",
    "RetentionReport",
    "check_as_of",
    "sweep",
]

#: Restriction grounds under which expired data is kept, not erased (Art. 18(1)(b) and (c)).
KEEPING_GROUNDS = ("legal_claims", "unlawful_processing")
DEFAULT_CHUNK = 10_000
#: SQLite: WAL pages between checkpoints during a sweep (16,384 pages of 4 KiB: 64 MiB).
SQLITE_CHECKPOINT_PAGES = 16_384
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)

_records = cast(sa.Table, PersonalDataRecord.__table__)
_subjects = cast(sa.Table, DataSubject.__table__)
_identities = cast(sa.Table, Identity.__table__)
_holds = cast(sa.Table, LegalHold.__table__)
_restrictions = cast(sa.Table, ProcessingRestriction.__table__)
_runs = cast(sa.Table, RetentionRun.__table__)


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


def _among(db: Database, column: sa.ColumnElement[Any], ids: list[int]) -> sa.ColumnElement[bool]:
    """``column IN ids`` as ONE bound parameter (a chunk has thousands of ids): a PostgreSQL
    array, or a JSON list SQLite unpacks with ``json_each``."""
    if db.dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(ids), type_=ARRAY(sa.BigInteger)))
    values = sa.func.json_each(sa.bindparam(None, json.dumps(list(ids)), type_=sa.Text))
    return column.in_(sa.select(values.table_valued("value").c.value))


class _ArrayOf(sa.ColumnElement[Any]):
    """PostgreSQL's ``ARRAY(subquery)``: the rows of a one-column subquery as one array."""

    inherit_cache = True
    # the type SQLAlchemy's traversal protocol declares (a list, as in SQLAlchemy's own
    # elements), so not a ClassVar
    _traverse_internals: _TraverseInternalsType = [  # noqa: RUF012 - see above
        ("query", InternalTraversal.dp_clauseelement)
    ]

    def __init__(self, query: sa.Select[Any]) -> None:
        self.query = query


@compiles(_ArrayOf, "postgresql")
def _compile_array_of(element: _ArrayOf, compiler: SQLCompiler, **kw: Any) -> str:
    return f"ARRAY({compiler.process(element.query, **kw)})"


def _active_hold_terms(moment: datetime) -> list[sa.ColumnElement[bool]]:
    return [
        _holds.c.lifted_at.is_(None),
        sa.or_(_holds.c.until.is_(None), _holds.c.until > moment),
    ]


def _keeping_restriction_terms() -> list[sa.ColumnElement[bool]]:
    return [_restrictions.c.lifted_at.is_(None), _restrictions.c.ground.in_(KEEPING_GROUNDS)]


def _active_holds(moment: datetime) -> sa.Select[Any]:
    return sa.select(_holds.c.subject_id).where(*_active_hold_terms(moment))


def _keeping_restrictions() -> sa.Select[Any]:
    return sa.select(_restrictions.c.subject_id).where(*_keeping_restriction_terms())


class _Sweep:
    def __init__(
        self,
        db: Database,
        book: PolicyBook,
        *,
        as_of: datetime | None,
        dry_run: bool,
        actor: str,
        chunk_size: int,
        progress: Callable[[int, int], None] | None,
        connectors: Sequence[SQLConnector] = (),
    ) -> None:
        self.connectors = list(connectors)
        if chunk_size < 1:
            raise InvalidInput("The chunk size must be at least 1.")
        self.db = db
        self.book = book
        self.dry_run = dry_run
        self.actor = actor
        self.chunk_size = chunk_size
        self.progress = progress
        self.audit = AuditLog(db)
        self.now = utcnow()
        self.run_row: dict[str, Any] | None = None
        self.as_of = check_as_of(as_of)
        if not dry_run:
            self.run_row = self._start_or_resume(as_of)
            self.as_of = self.run_row["as_of"]
        self.report = RetentionReport(as_of=self.as_of, dry_run=dry_run)
        if self.run_row is not None:
            self.report.run_id = self.run_row["id"]
            self.report.resumed = self.run_row["resumed"] > 0
        self.done = 0
        self.total = 0

    # --- the run row -------------------------------------------------------------------------

    def _start_or_resume(self, requested: datetime | None) -> dict[str, Any]:
        with self.db.session() as s:
            query = (
                sa.select(_runs)
                .where(_runs.c.state.in_(("running", "failed")), _runs.c.dry_run.is_(False))
                .order_by(_runs.c.id.desc())
            )
            if requested is not None:
                query = query.where(_runs.c.as_of == self.as_of)
            row = s.execute(query).mappings().first()
            if row is not None:
                s.execute(
                    sa.update(_runs)
                    .where(_runs.c.id == row["id"])
                    .values(state="running", resumed=row["resumed"] + 1)
                )
                resumed = dict(row)
                resumed["resumed"] += 1
                self.audit.append(
                    audit_actions.RETENTION_RUN,
                    actor=self.actor,
                    reason="resumed after an interruption",
                    details={"run": row["id"], "as_of": row["as_of"], "state": "resumed"},
                    session=s,
                )
                return resumed
            run_id = s.execute(
                sa.insert(_runs)
                .values(
                    as_of=self.as_of,
                    dry_run=False,
                    state="running",
                    actor=self.actor,
                    started_at=self.now,
                    cursor={},
                    report={},
                    resumed=0,
                )
                .returning(_runs.c.id)
            ).scalar_one()
            self.audit.append(
                audit_actions.RETENTION_RUN,
                actor=self.actor,
                reason="retention sweep started",
                details={"run": run_id, "as_of": self.as_of, "state": "started"},
                session=s,
            )
            return {
                "id": run_id,
                "as_of": self.as_of,
                "cursor": {},
                "report": {},
                "resumed": 0,
            }

    # --- groups ------------------------------------------------------------------------------

    def run(self) -> RetentionReport:
        with self.db.engine.connect() as conn:
            # the pairs come from the (channel, policy_version, id) index by a skip scan: one
            # index seek for each next pair, not a scan of millions of index entries (the next
            # version of a channel, else the next channel: SQLite seeks a row-value range on
            # its first column only); then one EXISTS per pair keeps those with a record not
            # yet anonymised (it stops at the first one it meets)
            channel_col, version_col = _records.c.channel, _records.c.policy_version
            next_channel = sa.select(channel_col).order_by(channel_col).limit(1)
            next_version = sa.select(version_col).order_by(version_col).limit(1)
            pairs: list[tuple[str, str]] = []
            channel = conn.execute(next_channel).scalar()
            while channel is not None:
                version = conn.execute(next_version.where(channel_col == channel)).scalar()
                while version is not None:
                    pairs.append((channel, version))
                    version = conn.execute(
                        next_version.where(channel_col == channel, version_col > version)
                    ).scalar()
                channel = conn.execute(next_channel.where(channel_col > channel)).scalar()
            groups = [
                (channel, version)
                for channel, version in pairs
                if conn.execute(
                    sa.select(
                        sa.exists().where(
                            _records.c.channel == channel,
                            _records.c.policy_version == version,
                            _records.c.anonymised_at.is_(None),
                        )
                    )
                ).scalar_one()
            ]
        plans: list[tuple[GroupReport, EffectiveRule | None]] = []
        for channel, version in groups:
            resolution = resolve_rule(self.book, channel, version)
            rule = resolution.rule
            report = GroupReport(
                channel, version, rule.describe() if rule else None, resolution.problem
            )
            self._count(report, rule)
            plans.append((report, rule))
            self.report.groups.append(report)
        self.total = sum(
            max(r.expired - r.kept_legal_hold - r.kept_restriction, 0) for r, _ in plans
        )
        previous = (self.run_row or {}).get("report", {}).get("groups", [])
        done_before = {f"{g['channel']}/{g['policy_version']}": g for g in previous}
        for report, _ in plans:
            before = done_before.get(report.key)
            if before is not None:  # a resumed run: what the earlier attempt already did
                for name in ("deleted", "anonymised", "subjects_erased"):
                    setattr(report, name, int(before.get(name, 0)))
                self.done += report.deleted + report.anonymised
        self._tick()
        if not self.dry_run:
            with self._connection() as conn:
                for report, rule in plans:
                    if rule is not None:
                        self._sweep_group(conn, report, rule)
                    if report.expired < 0:
                        report.expired = (
                            report.deleted
                            + report.anonymised
                            + report.kept_legal_hold
                            + report.kept_restriction
                        )
            self.db.key_store.purge()
            self.report.datasets = self._datasets()
            self._finish()
        else:
            self.report.datasets = self._datasets()
            self.report.state = "dry-run"
            self.report.finished_at = utcnow()
        if self.as_of > self.now:
            self.report.notes.append(
                "The as-of moment is in the future: records were treated as they will be then."
            )
        return self.report

    def _clock(self, rule: EffectiveRule) -> sa.ColumnElement[Any]:
        return _records.c[rule.clock_column]

    def _group_filter(self, report: GroupReport) -> list[sa.ColumnElement[bool]]:
        return [
            _records.c.channel == report.channel,
            _records.c.policy_version == report.policy_version,
            _records.c.anonymised_at.is_(None),
        ]

    def _count(self, report: GroupReport, rule: EffectiveRule | None) -> None:
        where = self._group_filter(report)
        with self.db.engine.connect() as conn:
            if rule is None:
                report.records = conn.execute(
                    sa.select(sa.func.count()).select_from(_records).where(*where)
                ).scalar_one()
                report.undetermined = report.records
                return
            clock = self._clock(rule)
            cutoff = rule.cutoff(self.as_of)
            counted = (
                self.dry_run
                or rule.clock_column != "collected_at"
                # PostgreSQL counts with a (parallel) sequential scan, far cheaper than the
                # last chunk's walk of the id index over the rest of the group to learn that
                # nothing is left: knowing the count, the sweep stops at the last expired record
                or self.db.dialect == "postgresql"
            )
            if counted:
                row = conn.execute(
                    sa.select(
                        sa.func.count(),
                        sa.func.sum(sa.case((clock <= cutoff, 1), else_=0)),
                        sa.func.sum(sa.case((clock.is_(None), 1), else_=0)),
                    ).where(*where)
                ).one()
                report.records, report.expired, report.undetermined = (int(v or 0) for v in row)
            else:
                # collected_at is never null: no age is unknown, and the sweep itself counts
                # what expired; one scan of the group fewer (SQLite reads the same rows in the
                # same index order either way)
                report.records = None
                report.expired = -1
            # The held records are found from the (few) held subjects through the subject_id
            # index, not by scanning the group: ``channel || ''`` keeps SQLite's planner off the
            # (channel, policy_version, id) index, which would read every record of the group.
            expired = [
                _records.c.channel.concat("") == report.channel,
                *where[1:],
                clock <= cutoff,
            ]
            held = _active_holds(self.as_of)
            report.kept_legal_hold = conn.execute(
                sa.select(sa.func.count())
                .select_from(_records)
                .where(*expired, _records.c.subject_id.in_(held))
            ).scalar_one()
            report.kept_restriction = conn.execute(
                sa.select(sa.func.count())
                .select_from(_records)
                .where(
                    *expired,
                    _records.c.subject_id.in_(_keeping_restrictions()),
                    _records.c.subject_id.not_in(held),
                )
            ).scalar_one()

    def _run(self) -> dict[str, Any]:
        if self.run_row is None:  # pragma: no cover - dry runs never write
            raise RuntimeError("a dry run has no run row")
        return self.run_row

    @contextmanager
    def _connection(self) -> Iterator[sa.Connection]:
        """The one connection every chunk's transaction runs on.

        On SQLite, the WAL is checkpointed every :data:`SQLITE_CHECKPOINT_PAGES` pages instead
        of SQLite's 1,000 (each checkpoint syncs the database file: a checkpoint at nearly
        every chunk's commit cost more than the deletes), and once at the end with
        ``TRUNCATE``: the zeroed pages of what was deleted (``secure_delete``) replace the old
        ones in the database file, and the WAL holds no copy of them.
        """
        with self.db.write_engine.connect() as conn:  # write transactions (BEGIN IMMEDIATE)
            raw = conn.connection.dbapi_connection if self.db.dialect == "sqlite" else None
            if raw is None:
                yield conn
                return
            previous = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
            raw.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_CHECKPOINT_PAGES}")
            try:
                yield conn
            finally:
                raw.execute(f"PRAGMA wal_autocheckpoint = {int(previous)}")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _sweep_group(self, conn: sa.Connection, report: GroupReport, rule: EffectiveRule) -> None:
        run = self._run()
        cursor: dict[str, Any] = run["cursor"]
        last_id = int(cursor.get(report.key, 0))
        clock = self._clock(rule)
        cutoff = rule.cutoff(self.as_of)
        pick = (
            sa.select(_records.c.id)
            .where(
                *self._group_filter(report),
                clock <= cutoff,
                # NOT EXISTS, not NOT IN: PostgreSQL plans an anti-join with a true row estimate
                # and walks the id index from the cursor; with NOT IN it guessed few matches and
                # sorted a sequential scan of the whole table for every chunk (quadratic)
                ~sa.exists().where(
                    _holds.c.subject_id == _records.c.subject_id,
                    *_active_hold_terms(self.as_of),
                ),
                ~sa.exists().where(
                    _restrictions.c.subject_id == _records.c.subject_id,
                    *_keeping_restriction_terms(),
                ),
            )
            .order_by(_records.c.id)
            .limit(self.chunk_size)
            .correlate(None)  # a subquery of the statement that changes the same table
        )
        # what this run has to change, when the group was counted (see _count)
        left = (
            report.expired - report.kept_legal_hold - report.kept_restriction
            if report.expired >= 0
            else None
        )
        while left is None or left > 0:
            with conn.begin():
                # ONE statement picks the chunk and deletes (or anonymises) it; the first
                # statement of the transaction is a write, so SQLite takes its write lock before
                # reading anything
                count, first, last, subject_ids = self._apply(
                    conn, rule, pick.where(_records.c.id > last_id)
                )
                if not count:
                    break
                erased = self._erase_orphans(conn, subject_ids)
                last_id = last
                if rule.deletes:
                    report.deleted += count
                else:
                    report.anonymised += count
                report.subjects_erased += len(erased)
                cursor[report.key] = last_id
                self.audit.append_many(
                    [
                        NewEvent(
                            audit_actions.RETENTION_BATCH,
                            actor=self.actor,
                            reason=rule.describe(),
                            details={
                                "run": run["id"],
                                "channel": report.channel,
                                "policy_version": report.policy_version,
                                "rule_version": rule.rule_version,
                                "action": "delete" if rule.deletes else "anonymise",
                                "records": count,
                                "first_record_id": first,
                                "last_record_id": last_id,
                                "subjects_erased": erased,
                                "as_of": self.as_of,
                            },
                        )
                    ],
                    connection=conn,
                )
                conn.execute(
                    sa.update(_runs)
                    .where(_runs.c.id == run["id"])
                    .values(cursor=dict(cursor), report=self.report.to_dict())
                )
            self.done += count
            self._tick()
            if left is not None:
                left -= count
            if count < self.chunk_size:
                # a short chunk was the last one: another query would only scan the rest of the
                # group to find nothing (records expiring meanwhile are the next run's)
                break

    def _apply(
        self, conn: sa.Connection, rule: EffectiveRule, pick: sa.Select[Any]
    ) -> tuple[int, int, int, list[int]]:
        """Delete or anonymise the chunk ``pick`` selects, in one statement; returns how many
        records, the first and last id, and their subjects (sorted, distinct)."""
        if self.db.dialect == "postgresql":
            # the picked rows' physical addresses: the change reaches them by a TID scan
            # instead of an index probe per row (a row another transaction updates in between
            # moves to a new address and is left for the next run, never changed unchecked)
            ctid: sa.ColumnElement[Any] = sa.literal_column("ctid")
            chosen = ctid == sa.any_(_ArrayOf(pick.with_only_columns(ctid)))
        else:
            chosen = _records.c.id.in_(pick.scalar_subquery())
        if rule.deletes:
            change: Any = sa.delete(_records).where(chosen)
        else:
            # Anonymise: what identified the person (payload, source) goes, the statistics stay.
            change = (
                sa.update(_records)
                .where(chosen)
                .values(
                    payload_sealed=None,
                    source_system=None,
                    last_contact_at=None,
                    last_event_registration_at=None,
                    last_service_delivery_at=None,
                    anonymised_at=self.now,
                    updated_at=self.now,
                )
            )
        change = change.returning(_records.c.id, _records.c.subject_id)
        if self.db.dialect == "postgresql":
            # the rows never come to Python: the server sums them up in the same statement
            gone = change.cte("gone")
            row = conn.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.min(gone.c.id),
                    sa.func.max(gone.c.id),
                    sa.func.array_agg(sa.distinct(gone.c.subject_id)),
                )
            ).one()
            return int(row[0]), int(row[1] or 0), int(row[2] or 0), sorted(row[3] or [])
        rows = conn.execute(change).all()
        if not rows:
            return 0, 0, 0, []
        ids = [r[0] for r in rows]
        return len(ids), min(ids), max(ids), sorted({r[1] for r in rows})

    def _erase_orphans(self, conn: sa.Connection, candidates: list[int]) -> list[str]:
        """Crypto-shred the candidates left without any record that is not anonymised: key
        destroyed, identities deleted, subject marked erased; returns their public ids."""
        if not candidates:
            return []
        keys = self.db.key_store
        erase = (
            sa.update(_subjects)
            .where(
                _among(self.db, _subjects.c.id, candidates),
                _subjects.c.erased_at.is_(None),
                ~sa.exists().where(
                    _records.c.subject_id == _subjects.c.id, _records.c.anonymised_at.is_(None)
                ),
            )
            .values(erased_at=self.now)
            .returning(_subjects.c.id, _subjects.c.public_id)
        )
        if self.db.dialect == "postgresql":
            # one statement: mark erased, delete identities and (when the keys are a table of
            # this database) the keys, atomically in this transaction
            erased = erase.cte("erased")
            query = sa.select(erased.c.public_id).add_cte(
                sa.delete(_identities)
                .where(_identities.c.subject_id.in_(sa.select(erased.c.id)))
                .cte("identities_gone")
            )
            if keys.shared:
                query = query.add_cte(
                    sa.delete(subject_keys)
                    .where(subject_keys.c.public_id.in_(sa.select(erased.c.public_id)))
                    .cte("keys_gone")
                )
            public_ids = [str(p) for p in conn.execute(query).scalars()]
            if not keys.shared:
                # Crypto-shredding: the keys' own database commits before this transaction
                keys.destroy(public_ids, purge=False)
            return public_ids
        rows = conn.execute(erase).all()
        if not rows:
            return []
        public_ids = [str(r[1]) for r in rows]
        # Crypto-shredding: the keys go first (their own database commits before this
        # transaction does); from here every copy of their data is ciphertext.
        if keys.shared:
            keys.destroy(public_ids, purge=False, connection=conn)
        else:
            keys.destroy(public_ids, purge=False)
        conn.execute(
            sa.delete(_identities).where(
                _among(self.db, _identities.c.subject_id, [r[0] for r in rows])
            )
        )
        return public_ids

    def _finish(self) -> None:
        run = self._run()
        self.report.state = "finished"
        self.report.finished_at = utcnow()
        with self.db.session() as s:
            s.execute(
                sa.update(_runs)
                .where(_runs.c.id == run["id"])
                .values(
                    state="finished",
                    finished_at=self.report.finished_at,
                    report=self.report.to_dict(),
                )
            )
            self.audit.append(
                audit_actions.RETENTION_RUN,
                actor=self.actor,
                reason="retention sweep finished",
                details={
                    "run": run["id"],
                    "state": "finished",
                    "as_of": self.as_of,
                    "deleted": self.report.total("deleted"),
                    "anonymised": self.report.total("anonymised"),
                    "subjects_erased": self.report.total("subjects_erased"),
                    "kept_legal_hold": self.report.total("kept_legal_hold"),
                    "kept_restriction": self.report.total("kept_restriction"),
                    "undetermined": self.report.total("undetermined"),
                },
                session=s,
            )

    def _datasets(self) -> list[DatasetReport]:
        if not self.connectors:
            return []
        return sweep_datasets(
            self.connectors,
            self.book,
            as_of=self.as_of,
            dry_run=self.dry_run,
            audit=None if self.dry_run else self.audit,
            actor=self.actor,
        )

    def _tick(self) -> None:
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done))


def sweep(
    db: Database,
    book: PolicyBook,
    *,
    as_of: datetime | None = None,
    dry_run: bool = False,
    actor: str = "job:retention",
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int, int], None] | None = None,
    connectors: Sequence[SQLConnector] = (),
) -> RetentionReport:
    """Apply the manifest's retention rules to the registry; the daily job and Celery beat call
    this.

    Args:
        as_of: the moment to judge expiry at (default now). Without it, an interrupted run is
            resumed with its own moment; with it, an interrupted run of that moment is.
        dry_run: count only; change nothing, write no run and no audit event.
        actor: who runs it, for the audit log.
        chunk_size: records per transaction.
        progress: called with (records done, records to do) after each chunk.
        connectors: SQL connectors whose datasets' ``timestamp`` collections are swept too
            (see :mod:`privacyops.retention.datasets`).

    Raises:
        InvalidInput: ``as_of`` before 1970 or more than 100 years ahead, or a bad chunk size.
    """
    return _Sweep(
        db,
        book,
        as_of=as_of,
        dry_run=dry_run,
        actor=actor,
        chunk_size=chunk_size,
        progress=progress,
        connectors=connectors,
    ).run()
