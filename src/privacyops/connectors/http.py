"""HTTP connector: a CRM-like API described by a YAML file instead of code.

A connector file lists *resources* (contacts, notes, deals…). Each has a ``search`` endpoint
that finds the person's records from an identity (``{identity.email}``) or from a parent
resource's records (``{parent.id}``), with pagination, and an ``erase`` endpoint (DELETE, or a
PATCH/PUT whose body overwrites the fields) called for each record found. Calls that fail for
a passing reason — connection refused, timeout, 5xx, 429, an answer that is not the JSON
expected — are retried with exponential back-off; when the retries run out the connector raises
``DependencyUnavailable`` and nothing is reported as done.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator
from sqlalchemy.orm import Session

from privacyops.connectors.base import ConnectorResult, Identities, normalise_identities
from privacyops.errors import ConfigurationError, DependencyUnavailable
from privacyops.policy.schema import LegalBasis

__all__ = [
    "Auth",
    "Endpoint",
    "HTTPConnector",
    "HTTPConnectorFile",
    "HTTPConnectorSpec",
    "Pagination",
    "Resource",
]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Auth(_Model):
    """A header sent with every call: ``<header>: <scheme> <token>``. Prefer ``token_env``
    (the name of an environment variable) to a token written in the file."""

    header: str = "Authorization"
    scheme: str | None = "Bearer"
    token: str | None = None
    token_env: str | None = None

    def value(self) -> str:
        token = self.token
        if self.token_env:
            token = os.environ.get(self.token_env)
        if not token:
            raise ConfigurationError(
                f"The token of an HTTP connector is missing (environment {self.token_env})."
            )
        return f"{self.scheme} {token}" if self.scheme else token


class Pagination(_Model):
    """How to get the next page.

    ``cursor``: the answer's ``next`` field (a dotted path) holds a cursor sent back as query
    parameter ``param``; ``page``: query parameter ``param`` counts pages from ``start``, until
    a page has fewer than ``size`` items; ``link``: the answer's ``next`` field is the next URL.
    """

    type: Literal["cursor", "page", "link"]
    param: str | None = None
    next: str | None = None
    size_param: str | None = None
    size: int = Field(default=100, ge=1)
    start: int = 1
    max_pages: int = Field(default=1000, ge=1)


class Endpoint(_Model):
    """One call. ``path``, ``params`` and ``body`` may hold placeholders: ``{identity.email}``,
    ``{parent.id}`` (a field of the parent resource's record), ``{id}`` (a field of the record
    being erased)."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: str
    params: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] | None = None
    items: str | None = Field(
        default=None, description="Dotted path to the list of records; none: the body is it."
    )
    pagination: Pagination | None = None


class Resource(_Model):
    """A kind of record the API holds about a person."""

    name: str
    categories: list[str] = Field(default_factory=list)
    parent: str | None = Field(default=None, description="Search once per record of this.")
    search: Endpoint
    read: Endpoint | None = Field(
        default=None,
        description="Fetch each record found in full (``items`` = dotted path to it, if "
        "wrapped); when absent the search's records are returned as they are.",
    )
    erase: Endpoint | None = None
    key: str = Field(default="id", description="Field identifying a record.")
    legal_basis: LegalBasis | None = Field(
        default=None,
        description="GDPR Art. 6 basis the records are held on; consent or contract makes them "
        "part of a portability export (Art. 20).",
    )


class HTTPConnectorSpec(_Model):
    """A connector file's ``connector:`` block with ``type: http``."""

    name: str
    type: Literal["http"] = "http"
    system: str | None = None
    base_url: HttpUrl
    auth: Auth | None = None
    timeout_seconds: float | None = Field(default=None, gt=0)
    retries: int | None = Field(default=None, ge=0, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0)
    resources: list[Resource] = Field(min_length=1)

    @model_validator(mode="after")
    def _parents_exist(self) -> HTTPConnectorSpec:
        names = [r.name for r in self.resources]
        for r in self.resources:
            if r.parent is not None and r.parent not in names[: names.index(r.name)]:
                raise ValueError(
                    f"resource {r.name}: parent {r.parent} must be a resource listed before it"
                )
        return self


class HTTPConnectorFile(_Model):
    """A connector file holding an HTTP connector."""

    connector: HTTPConnectorSpec


def _dig(data: Any, path: str | None) -> Any:
    if not path:
        return data
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


class _Garbage(Exception):
    """An answer that is not what the endpoint's description says (retried)."""


class HTTPConnector:
    """Access and erasure over one HTTP API.

    Args:
        spec: the validated connector file.
        timeout: seconds per call (the file's ``timeout_seconds`` wins).
        retries: retries after a failed call (the file's ``retries`` wins).
        transport: an httpx transport (tests may pass one; default: the network).
    """

    kind = "http"

    def __init__(
        self,
        spec: HTTPConnectorSpec,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.system or spec.name
        self.timeout = spec.timeout_seconds or timeout
        self.retries = spec.retries if spec.retries is not None else retries
        self._transport = transport

    def __repr__(self) -> str:
        return f"<HTTPConnector {self.name} {self.spec.base_url}>"

    def _client(self) -> httpx.Client:
        headers = {"Accept": "application/json"}
        if self.spec.auth is not None:
            headers[self.spec.auth.header] = self.spec.auth.value()
        return httpx.Client(
            base_url=str(self.spec.base_url).rstrip("/"),
            headers=headers,
            timeout=self.timeout,
            transport=self._transport,
            follow_redirects=False,
        )

    # --- calls with retries -------------------------------------------------------------

    def _call(
        self,
        client: httpx.Client,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        want_json: bool = True,
        missing_ok: bool = False,
        items_path: str | None = None,
    ) -> Any:
        """One call, retried on passing failures; the parsed JSON (or None)."""
        attempt = 0
        while True:
            wait: float | None = None
            try:
                response = client.request(method, url, params=params, json=json_body)
                if response.status_code == 404 and missing_ok:
                    return None
                if response.status_code == 429 or response.status_code >= 500:
                    retry_after = response.headers.get("Retry-After", "")
                    if retry_after.isdigit():
                        wait = min(float(retry_after), 30.0)
                    raise _Garbage(f"status {response.status_code}")
                if response.status_code in (401, 403):
                    raise ConfigurationError(f"{self.name} refused the connector's credentials.")
                if response.status_code >= 400:
                    raise ConfigurationError(
                        f"{self.name} answered {response.status_code} to {method} "
                        "(check the connector file)."
                    )
                if not want_json or response.status_code == 204 or not response.content:
                    return None
                try:
                    body = response.json()
                except ValueError:
                    raise _Garbage("not JSON") from None
                if items_path is not None:
                    items = _dig(body, items_path or None)
                    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                        raise _Garbage("not a list of records")
                return body
            except (httpx.TransportError, _Garbage):
                if attempt >= self.retries:
                    raise DependencyUnavailable(
                        f"{self.name} did not answer properly after {attempt + 1} attempt(s)."
                    ) from None
                if wait is None:
                    wait = self.spec.backoff_seconds * (2**attempt)
                    wait *= 0.5 + random.random()  # jitter, so retries do not stampede
                time.sleep(wait)
                attempt += 1

    # --- templating ---------------------------------------------------------------------

    @staticmethod
    def _fill(text: str, values: dict[str, Any], *, in_path: bool) -> str | None:
        """Replace placeholders; None when one has no value (the call is skipped)."""
        missing = False

        def sub(match: re.Match[str]) -> str:
            nonlocal missing
            value = values.get(match.group(1))
            if value is None:
                missing = True
                return ""
            return quote(str(value), safe="") if in_path else str(value)

        out = _PLACEHOLDER.sub(sub, text)
        return None if missing else out

    def _fill_body(self, body: Any, values: dict[str, Any]) -> Any:
        if isinstance(body, dict):
            return {k: self._fill_body(v, values) for k, v in body.items()}
        if isinstance(body, list):
            return [self._fill_body(v, values) for v in body]
        if isinstance(body, str):
            whole = _PLACEHOLDER.fullmatch(body)
            if whole:
                return values.get(whole.group(1))
            return self._fill(body, values, in_path=False)
        return body

    # --- search -------------------------------------------------------------------------

    def _search(
        self, client: httpx.Client, endpoint: Endpoint, values: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        path = self._fill(endpoint.path, values, in_path=True)
        params: dict[str, Any] = {}
        for k, v in endpoint.params.items():
            filled = self._fill(v, values, in_path=False)
            if filled is None:
                return
            params[k] = filled
        if path is None:
            return
        page = endpoint.pagination
        url: str = path
        if page and page.type == "page":
            if page.param:
                params[page.param] = page.start
            if page.size_param:
                params[page.size_param] = page.size
        for _ in range(page.max_pages if page else 1):
            body = self._call(
                client, endpoint.method, url, params=params or None, items_path=endpoint.items or ""
            )
            items = _dig(body, endpoint.items)
            yield from items
            if page is None:
                return
            if page.type == "page":
                if len(items) < page.size or page.param is None:
                    return
                params[page.param] = int(params[page.param]) + 1
            elif page.type == "cursor":
                cursor = _dig(body, page.next)
                if not cursor or page.param is None:
                    return
                params[page.param] = cursor
            else:  # link
                nxt = _dig(body, page.next)
                if not nxt:
                    return
                url, params = str(nxt), {}

    def _collect(
        self, client: httpx.Client, identities: Identities
    ) -> dict[str, list[dict[str, Any]]]:
        ids = normalise_identities(identities)
        found: dict[str, list[dict[str, Any]]] = {}
        for resource in self.spec.resources:
            seen: set[str] = set()
            records: list[dict[str, Any]] = []
            contexts: list[dict[str, Any]] = []
            if resource.parent is None:
                keys = sorted(
                    {
                        m.group(1)
                        for m in _PLACEHOLDER.finditer(
                            resource.search.path + " " + " ".join(resource.search.params.values())
                        )
                        if m.group(1).startswith("identity.")
                    }
                )
                for key in keys:
                    for value in ids.get(key.removeprefix("identity."), []):
                        contexts.append({key: value})
            else:
                for parent in found.get(resource.parent, []):
                    contexts.append({f"parent.{k}": v for k, v in parent.items()})
            for context in contexts:
                for item in self._search(client, resource.search, context):
                    marker = str(item.get(resource.key, repr(sorted(item.items()))))
                    if marker not in seen:
                        seen.add(marker)
                        records.append(self._read(client, resource, item))
            found[resource.name] = records
        return found

    def _read(
        self, client: httpx.Client, resource: Resource, item: dict[str, Any]
    ) -> dict[str, Any]:
        endpoint = resource.read
        if endpoint is None:
            return item
        path = self._fill(endpoint.path, item, in_path=True)
        if path is None:
            return item
        body = _dig(self._call(client, endpoint.method, path, missing_ok=True), endpoint.items)
        return body if isinstance(body, dict) else item

    # --- public API ---------------------------------------------------------------------

    def access(
        self,
        identities: Identities,
        *,
        request_ref: str | None = None,
        subject_ref: str | None = None,
        session: Session | None = None,
    ) -> ConnectorResult:
        """Every record of the person the API's search endpoints return."""
        with self._client() as client:
            found = self._collect(client, identities)
        records = {k: v for k, v in found.items() if v}
        total = sum(len(v) for v in records.values())
        return ConnectorResult(
            connector=self.name,
            kind=self.kind,
            action="access",
            records=records,
            note=f"{total} record(s) from {len(records)} resource(s).",
        )

    def erase(
        self,
        identities: Identities,
        *,
        request_ref: str | None = None,
        subject_ref: str | None = None,
        session: Session | None = None,
    ) -> ConnectorResult:
        """Call each resource's erase endpoint for each record found, children first."""
        affected: dict[str, int] = {}
        with self._client() as client:
            found = self._collect(client, identities)
            for resource in reversed(self.spec.resources):
                endpoint = resource.erase
                items = found.get(resource.name, [])
                if endpoint is None or not items:
                    continue
                count = 0
                for item in items:
                    path = self._fill(endpoint.path, item, in_path=True)
                    if path is None:
                        raise ConfigurationError(
                            f"Resource {resource.name} of {self.name}: the erase path names a "
                            "field its records do not have."
                        )
                    body = self._fill_body(endpoint.body, item) if endpoint.body else None
                    self._call(
                        client,
                        endpoint.method,
                        path,
                        json_body=body,
                        want_json=False,
                        missing_ok=True,
                    )
                    count += 1
                affected[resource.name] = count
        total = sum(affected.values())
        return ConnectorResult(
            connector=self.name,
            kind=self.kind,
            action="erasure",
            affected=affected,
            note=f"{total} record(s) erased in {len(affected)} resource(s).",
        )
