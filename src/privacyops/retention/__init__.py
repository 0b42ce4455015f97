"""Retention: the manifest's periods enforced on the registry, with holds, a forecast, and
replay after a restore.

Public API (stable)::

    from privacyops.retention import forecast, replay, sweep

    report = sweep(db, book)                          # the daily job / Celery beat calls this
    report = sweep(db, book, as_of=moment, dry_run=True)
    forecast(db, book, days=30)                       # what expires in the next 30 days
    replay(db, book, since=moment)                    # after restoring a backup
"""

from privacyops.policy.retention_rules import (
    EffectiveRule,
    Resolution,
    resolve_rule,
    subtract_period,
)
from privacyops.retention.datasets import DatasetReport, sweep_datasets
from privacyops.retention.forecast import Forecast, forecast
from privacyops.retention.models import RetentionRun
from privacyops.retention.replay import ReplayReport, replay
from privacyops.retention.sweep import (
    KEEPING_GROUNDS,
    GroupReport,
    RetentionReport,
    check_as_of,
    sweep,
)

__all__ = [
    "KEEPING_GROUNDS",
    "DatasetReport",
    "EffectiveRule",
    "Forecast",
    "GroupReport",
    "ReplayReport",
    "Resolution",
    "RetentionReport",
    "RetentionRun",
    "check_as_of",
    "forecast",
    "replay",
    "resolve_rule",
    "subtract_period",
    "sweep",
    "sweep_datasets",
]
