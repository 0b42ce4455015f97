"""Prometheus metrics: request counts and latencies by route, served at ``/metrics``.

``/metrics`` needs the ``metrics:read`` scope (an admin session, or an API token
created with that scope: ``privacyops admin token create --name prometheus --scope
metrics:read``). Labels are route *templates* (``/privacy/requests/{ref}``), never concrete
paths, so no reference or personal data ends up in a metric.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privacyops.web.auth import require_scope

__all__ = ["REQUESTS", "REQUEST_SECONDS", "MetricsMiddleware", "router"]

REQUESTS = Counter(
    "privacyops_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
REQUEST_SECONDS = Histogram(
    "privacyops_http_request_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0),
)

router = APIRouter(tags=["service"])


@router.get("/metrics", dependencies=[Depends(require_scope("metrics:read"))])
def metrics() -> Response:
    """Prometheus exposition format (needs the ``metrics:read`` scope)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts and times each HTTP request under its route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = _route_template(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            REQUEST_SECONDS.labels(scope["method"], route).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    # The router records the matched route in the scope (nested routers included).
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"
