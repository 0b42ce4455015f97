"""The dataset file: what a SQL database holds about people and how to reach and erase it.

A dataset describes *collections* (tables) and their *fields* (columns). A field carries its
data categories (fideslang keys such as ``user.contact.email``), may be an *identity* a search
starts from (``email``, ``phone``, ``customer_id``…), may *reference* a field of another
collection (a foreign key), and may name the *masking* strategy erasure applies to it. See
``docs/connectors.md`` for the whole format and an example.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from privacyops.connectors._yaml import Located, read_located
from privacyops.policy.schema import LegalBasis

__all__ = [
    "Collection",
    "Connection",
    "Dataset",
    "DatasetField",
    "Masking",
    "Reference",
    "load_dataset",
    "parse_dataset",
]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")

MaskingStrategy = Literal["nullify", "hash", "random_string", "fixed_string", "delete_row"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Masking(_Model):
    """How erasure treats one field.

    ``nullify`` sets NULL; ``hash`` replaces the value by a keyed HMAC-SHA256 (the salt comes
    from ``PRIVACYOPS_CONNECTOR_HASH_SALT``), cut to ``length``; ``random_string`` writes
    ``length`` random characters; ``fixed_string`` writes ``value``; ``delete_row`` deletes
    the whole row (then every field of the row goes).
    """

    strategy: MaskingStrategy
    value: str | None = Field(default=None, description="The text fixed_string writes.")
    length: int | None = Field(default=None, ge=1, le=512, description="Cut or random length.")

    @model_validator(mode="after")
    def _value_for_fixed(self) -> Masking:
        if self.strategy == "fixed_string" and self.value is None:
            raise ValueError("fixed_string needs a value")
        return self


class Reference(_Model):
    """This field holds values of ``collection.field`` (a foreign key, or a looser link)."""

    collection: str
    field: str


def _masking(value: Any) -> Any:
    if isinstance(value, str):
        return {"strategy": value}
    return value


def _references(value: Any) -> Any:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, str):
            collection, _, field = item.partition(".")
            out.append({"collection": collection, "field": field})
        else:
            out.append(item)
    return out


class DatasetField(_Model):
    """One column."""

    name: str
    categories: list[str] = Field(default_factory=list, alias="data_categories")
    identity: str | None = Field(
        default=None, description="Identity type a search may start from (email, phone…)."
    )
    primary_key: bool = False
    references: list[Reference] = Field(default_factory=list)
    masking: Masking | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("masking", mode="before")
    @classmethod
    def _masking_shorthand(cls, value: Any) -> Any:
        return _masking(value)

    @field_validator("references", mode="before")
    @classmethod
    def _references_shorthand(cls, value: Any) -> Any:
        return _references(value)

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError("must be a plain SQL identifier")
        return value

    @field_validator("categories")
    @classmethod
    def _category_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            if not _CATEGORY.match(key):
                raise ValueError(f"{key!r} is not a data category key like user.contact.email")
        return value


class Collection(_Model):
    """One table."""

    name: str
    description: str | None = None
    schema_name: str | None = Field(default=None, alias="schema")
    timestamp: str | None = Field(
        default=None, description="Column giving the record's age (retention uses it)."
    )
    legal_basis: LegalBasis | None = Field(
        default=None,
        description="GDPR Art. 6 basis the rows are held on; consent or contract makes them "
        "part of a portability export (Art. 20).",
    )
    fields: list[DatasetField]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError("must be a plain SQL identifier")
        return value

    def field(self, name: str) -> DatasetField | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def primary_key(self) -> list[str]:
        return [f.name for f in self.fields if f.primary_key]

    @property
    def deletes_rows(self) -> bool:
        return any(f.masking and f.masking.strategy == "delete_row" for f in self.fields)

    @property
    def masked_fields(self) -> list[DatasetField]:
        return [
            f for f in self.fields if f.masking is not None and f.masking.strategy != "delete_row"
        ]

    @property
    def erases(self) -> bool:
        return self.deletes_rows or bool(self.masked_fields)


class Connection(_Model):
    """Where the database is: ``url_env`` names an environment variable holding the URL (so
    passwords stay out of files); ``url`` is for password-less URLs (SQLite files)."""

    url: str | None = None
    url_env: str | None = None


class Dataset(_Model):
    """A dataset file's ``dataset:`` block."""

    name: str
    description: str | None = None
    connection: Connection | None = None
    system: str | None = Field(
        default=None, description="The policy's name for the system this database belongs to."
    )
    collections: list[Collection]

    def collection(self, name: str) -> Collection | None:
        return next((c for c in self.collections if c.name == name), None)

    @property
    def identity_types(self) -> set[str]:
        return {f.identity for c in self.collections for f in c.fields if f.identity}


class _DatasetFile(_Model):
    dataset: Dataset


class ParsedDataset:
    """A dataset and the located YAML it came from (lint uses the lines)."""

    def __init__(self, dataset: Dataset, doc: Located) -> None:
        self.dataset = dataset
        self.doc = doc

    def loc_of_collection(self, name: str) -> tuple[str | int, ...]:
        for i, c in enumerate(self.dataset.collections):
            if c.name == name:
                return ("dataset", "collections", i)
        return ("dataset",)

    def loc_of_field(self, collection: str, field: str) -> tuple[str | int, ...]:
        for i, c in enumerate(self.dataset.collections):
            if c.name == collection:
                for j, f in enumerate(c.fields):
                    if f.name == field:
                        return ("dataset", "collections", i, "fields", j)
                return ("dataset", "collections", i)
        return ("dataset",)

    def where(self, loc: tuple[str | int, ...]) -> str:
        return self.doc.where(loc)


def parse_dataset(doc: Located) -> ParsedDataset:
    """Validate a located YAML document as a dataset file.

    Raises:
        InvalidInput: with one ``file:line`` item per problem.
    """
    parsed = doc.validate(_DatasetFile, what="Dataset file")
    return ParsedDataset(parsed.dataset, doc)


def load_dataset(path: Path | str) -> ParsedDataset:
    """Read, parse and validate a dataset file (no database needed; see ``lint_dataset``)."""
    return parse_dataset(read_located(Path(path)))
