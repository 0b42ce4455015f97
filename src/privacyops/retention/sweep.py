"""The retention sweep: find what has expired, delete or anonymise it, erase subjects left with
nothing, in set-based chunks, resumable, audited per chunk.

Each chunk is one transaction: the records of one (channel, policy version) group whose clock
is at or before the rule's cutoff, in id order, minus those of subjects under an active legal
hold or a restriction kept for legal claims (GDPR Art. 17(3)(e), 18(1)(b)-(c)). Subjects whose
last record goes are crypto-shredded (key destroyed first, then identities deleted). The chunk's
audit event and the run's cursor are written in the same transaction, so a crash loses nothing
and repeats nothing: the next run resumes after the last committed chunk.

One module per part: :mod:`.report` (what a sweep reports), :mod:`.runs` (the run row),
:mod:`.chunks` (one chunk in SQL); this module walks the groups and drives the chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from privacyops.audit import AuditLog, NewEvent
from privacyops.audit import actions as audit_actions
from privacyops.connectors import SQLConnector
from privacyops.errors import InvalidInput
from privacyops.policy.retention_rules import EffectiveRule, resolve_rule
from privacyops.policy.schema import PolicyBook
from privacyops.retention.chunks import (
    KEEPING_GROUNDS,
    active_hold_terms,
    active_holds,
    apply_chunk,
    erase_orphans,
    holds_table,
    keeping_restriction_terms,
    keeping_restrictions,
    not_kept,
    records_table,
    restrictions_table,
)
from privacyops.retention.datasets import DatasetReport, sweep_datasets
from privacyops.retention.kept import sweep_kept
from privacyops.retention.report import GroupReport, RetentionReport, check_as_of
from privacyops.retention.runs import finish_run, runs_table, start_or_resume
from privacyops.store.base import utcnow
from privacyops.store.db import Database

__all__ = [
    "DEFAULT_CHUNK",
    "KEEPING_GROUNDS",
    "GroupReport",
    "RetentionReport",
    "check_as_of",
    "sweep",
]

DEFAULT_CHUNK = 10_000
#: SQLite: WAL pages between checkpoints during a sweep (16,384 pages of 4 KiB: 64 MiB).
SQLITE_CHECKPOINT_PAGES = 16_384


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
            self.run_row = start_or_resume(
                db, self.audit, actor=actor, as_of=self.as_of, now=self.now, requested=as_of
            )
            self.as_of = self.run_row["as_of"]
        self.report = RetentionReport(as_of=self.as_of, dry_run=dry_run)
        if self.run_row is not None:
            self.report.run_id = self.run_row["id"]
            self.report.resumed = self.run_row["resumed"] > 0
        self.done = 0
        self.total = 0

    # --- the run row -------------------------------------------------------------------------

    # --- groups ------------------------------------------------------------------------------

    def run(self) -> RetentionReport:
        with self.db.engine.connect() as conn:
            # the pairs come from the (channel, policy_version, id) index by a skip scan: one
            # index seek for each next pair, not a scan of millions of index entries (the next
            # version of a channel, else the next channel: SQLite seeks a row-value range on
            # its first column only); then one EXISTS per pair keeps those with a record not
            # yet anonymised (it stops at the first one it meets)
            channel_col, version_col = records_table.c.channel, records_table.c.policy_version
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
                            records_table.c.channel == channel,
                            records_table.c.policy_version == version,
                            records_table.c.anonymised_at.is_(None),
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
        self.total = sum(max(r.expired - _kept(r), 0) for r, _ in plans)
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
                        report.expired = report.deleted + report.anonymised + _kept(report)
                kept = sweep_kept(
                    self.db,
                    conn,
                    self.audit,
                    as_of=self.as_of,
                    now=self.now,
                    chunk_size=self.chunk_size,
                    actor=self.actor,
                    run_id=self._run()["id"],
                )
                self.report.exception_ended = kept.deleted
                self.report.exception_subjects_erased = kept.subjects_erased
            self.db.key_store.purge()
            self.report.datasets = self._datasets()
            finish_run(self.db, self.audit, self._run(), self.report, actor=self.actor)
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
        return records_table.c[rule.clock_column]

    def _group_filter(self, report: GroupReport) -> list[sa.ColumnElement[bool]]:
        return [
            records_table.c.channel == report.channel,
            records_table.c.policy_version == report.policy_version,
            records_table.c.anonymised_at.is_(None),
        ]

    def _count(self, report: GroupReport, rule: EffectiveRule | None) -> None:
        where = self._group_filter(report)
        with self.db.engine.connect() as conn:
            if rule is None:
                report.records = conn.execute(
                    sa.select(sa.func.count()).select_from(records_table).where(*where)
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
                records_table.c.channel.concat("") == report.channel,
                *where[1:],
                clock <= cutoff,
            ]
            held = active_holds(self.as_of)
            report.kept_legal_hold = conn.execute(
                sa.select(sa.func.count())
                .select_from(records_table)
                .where(*expired, records_table.c.subject_id.in_(held))
            ).scalar_one()
            report.kept_restriction = conn.execute(
                sa.select(sa.func.count())
                .select_from(records_table)
                .where(
                    *expired,
                    records_table.c.subject_id.in_(keeping_restrictions()),
                    records_table.c.subject_id.not_in(held),
                )
            ).scalar_one()
            report.kept_exception = conn.execute(
                sa.select(sa.func.count())
                .select_from(records_table)
                .where(
                    *expired,
                    ~not_kept(self.as_of),
                    records_table.c.subject_id.not_in(keeping_restrictions()),
                    records_table.c.subject_id.not_in(held),
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
            sa.select(records_table.c.id)
            .where(
                *self._group_filter(report),
                clock <= cutoff,
                # NOT EXISTS, not NOT IN: PostgreSQL plans an anti-join with a true row estimate
                # and walks the id index from the cursor; with NOT IN it guessed few matches and
                # sorted a sequential scan of the whole table for every chunk (quadratic)
                ~sa.exists().where(
                    holds_table.c.subject_id == records_table.c.subject_id,
                    *active_hold_terms(self.as_of),
                ),
                ~sa.exists().where(
                    restrictions_table.c.subject_id == records_table.c.subject_id,
                    *keeping_restriction_terms(),
                ),
                not_kept(self.as_of),  # an erasure kept it (Art. 17(3)): see retention.kept
            )
            .order_by(records_table.c.id)
            .limit(self.chunk_size)
            .correlate(None)  # a subquery of the statement that changes the same table
        )
        # what this run has to change, when the group was counted (see _count)
        left = report.expired - _kept(report) if report.expired >= 0 else None
        while left is None or left > 0:
            with conn.begin():
                # ONE statement picks the chunk and deletes (or anonymises) it; the first
                # statement of the transaction is a write, so SQLite takes its write lock before
                # reading anything
                count, first, last, subject_ids = apply_chunk(
                    self.db, conn, rule, pick.where(records_table.c.id > last_id), self.now
                )
                if not count:
                    break
                erased = erase_orphans(self.db, conn, subject_ids, self.now)
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
                    sa.update(runs_table)
                    .where(runs_table.c.id == run["id"])
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


def _kept(report: GroupReport) -> int:
    """The group's expired records the sweep keeps (holds, restrictions, Art. 17(3))."""
    return report.kept_legal_hold + report.kept_restriction + report.kept_exception


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
