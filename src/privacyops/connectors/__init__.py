"""Connectors: where personal data also lives, and how to reach it.

Remote systems (:class:`RemoteSystem`): SQL databases described by a dataset file
(``SQLConnector``), HTTP/SaaS APIs described by a connector file (``HTTPConnector``). Task
systems (:class:`TaskSystem`): systems with no API, reached through manual tasks for staff and
e-mails to processors (``ManualConnector``). Connectors are told what to do and report back;
they know nothing of requests or consent and never write another package's tables
(docs/architecture.md).
"""

from privacyops.connectors.base import (
    Connector,
    ConnectorResult,
    Identities,
    RemoteSystem,
    TaskSystem,
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
    "RemoteSystem",
    "SQLConnector",
    "TaskSystem",
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
