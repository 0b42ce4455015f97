"""A real HTTP server for the reliability suites: uvicorn serving an app in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from _mailbox import free_port

#: Limits high enough that a load test measures the store, not the rate limiters.
NO_RATE_LIMITS: dict[str, object] = {
    "intake_rate_limit_per_minute": 1_000_000,
    "consent_rate_limit": 1_000_000,
    "rights_submit_per_hour": 1_000_000,
    "public_form_posts_per_minute": 1_000_000,
    "login_attempts_per_minute": 1_000_000,
}


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` over real HTTP on 127.0.0.1; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", workers=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
