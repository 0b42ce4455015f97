"""No anonymous caller holds the service with a slow body (slowloris): a client that sends its
headers and then trickles the body gets 408 in the one error shape once
``PRIVACYOPS_REQUEST_BODY_TIMEOUT_SECONDS`` pass, nothing of it is stored, and the public
intake answers the next caller as usual. Real ``serve``, real sockets."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from tests._faults import start_serve

from _mailbox import free_port
from privacyops.settings import Settings
from privacyops.store import open_database

pytestmark = [pytest.mark.slow]


def _slow_post(port: int, body: bytes, trickle_for: float) -> tuple[float, bytes]:
    """Send the headers and then one byte of ``body`` every 0.5 s; returns the seconds until
    the server answered and what it answered (b"" when it only closed)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/v1/intake/web_form HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n" + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        sock.settimeout(0.5)
        answer = b""
        for byte in body:
            if time.monotonic() - started > trickle_for:
                break
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # the server closed the connection
                break
            try:
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            if answer:
                break
        sock.settimeout(30)
        while not _complete(answer):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return time.monotonic() - started, answer


def _complete(answer: bytes) -> bool:
    """Whether ``answer`` holds a whole HTTP response (head and Content-Length body)."""
    head, found, body = answer.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return True


def test_a_slow_body_gets_408_in_bounded_time_and_others_are_served(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    proc = start_serve(data_dir, port, PRIVACYOPS_REQUEST_BODY_TIMEOUT_SECONDS="2")
    try:
        body = json.dumps({"email": "slow@example.com", "name": "S" * 200}).encode()
        seconds, answer = _slow_post(port, body, trickle_for=25)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            quick = http.post("/api/v1/intake/web_form", json={"email": "quick@example.com"})
        assert quick.status_code == 202
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert seconds < 10, f"the slow client was held {seconds:.1f} s"
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:200]
    error = json.loads(rest)["error"]
    assert error["code"] == "request_timeout"
    db = open_database(Settings(data_dir=data_dir))
    with db.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM personal_data_records")).scalar_one()
    db.dispose()
    assert stored == 1  # the quick one; nothing of the slow one


def test_the_deadline_ends_once_the_body_has_arrived() -> None:
    """An answer that takes longer than the body deadline is not cut: after the whole body,
    a call to ``receive`` (Starlette listening for a disconnect) waits without a deadline."""
    import asyncio

    from starlette.types import Message, Receive, Scope, Send

    from privacyops.web.security import SecurityMiddleware

    sent: list[Message] = []
    inbox: list[Message] = [
        {"type": "http.request", "body": b"{}", "more_body": False},
        {"type": "http.disconnect"},
    ]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["body"] == b"{}"
        await asyncio.sleep(0.3)  # slow work, past the 0.1 s body deadline
        assert (await receive())["type"] == "http.disconnect"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> Message:
        await asyncio.sleep(0.05 if len(inbox) == 1 else 0)
        return inbox.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = SecurityMiddleware(app, max_body_bytes=1024, https=False, body_seconds=0.1)
    scope = {"type": "http", "method": "POST", "path": "/x", "headers": []}
    asyncio.run(middleware(scope, receive, send))
    assert sent[0]["status"] == 200
