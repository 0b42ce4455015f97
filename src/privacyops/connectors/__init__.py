"""Connectors: where personal data also lives, and how to reach it.

SQL databases described by a dataset file (``SQLConnector``), HTTP/SaaS APIs described by a
connector file (``HTTPConnector``), and systems with no API (manual tasks and e-mails to
processors). The rights engine calls ``access`` and ``erase`` on each; connectors never call
back into it (DESIGN.md layers).
"""

from privacyops.connectors.base import (
    Connector,
    ConnectorResult,
    Identities,
    normalise_identities,
)
from privacyops.connectors.dataset import (
    Collection,
    Dataset,
    DatasetField,
    Masking,
    ParsedDataset,
    Reference,
    load_dataset,
    parse_dataset,
)
from privacyops.connectors.generate import generate_dataset, guess_category
from privacyops.connectors.http import HTTPConnector, HTTPConnectorSpec
from privacyops.connectors.lint import LintProblem, lint_dataset, raise_for_problems
from privacyops.connectors.loader import load_connector_file, load_connectors
from privacyops.connectors.manual import (
    ManualConnector,
    ManualConnectorSpec,
    cancel_tasks,
    complete_task,
    drop_task_records,
    list_tasks,
    remind_tasks,
    task_brief,
    task_records,
)
from privacyops.connectors.sql import SQLConnector, make_engine

__all__ = [
    "Collection",
    "Connector",
    "ConnectorResult",
    "Dataset",
    "DatasetField",
    "HTTPConnector",
    "HTTPConnectorSpec",
    "Identities",
    "LintProblem",
    "ManualConnector",
    "ManualConnectorSpec",
    "Masking",
    "ParsedDataset",
    "Reference",
    "SQLConnector",
    "cancel_tasks",
    "complete_task",
    "drop_task_records",
    "generate_dataset",
    "guess_category",
    "lint_dataset",
    "list_tasks",
    "load_connector_file",
    "load_connectors",
    "load_dataset",
    "make_engine",
    "normalise_identities",
    "parse_dataset",
    "raise_for_problems",
    "remind_tasks",
    "task_brief",
    "task_records",
]
