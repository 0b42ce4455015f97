"""A small CRM API (contacts, notes, deals) served by uvicorn on 127.0.0.1 in a thread, for
the HTTP connector tests. ``faults`` makes it misbehave: answer 503, answer garbage, or be slow
for the next N calls."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response

TOKEN = "crm-secret-token"


@dataclass
class CRM:
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, dict[str, Any]] = field(default_factory=dict)
    deals: dict[int, dict[str, Any]] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)  # "503", "garbage", "slow"
    calls: list[str] = field(default_factory=list)
    #: called with each request's "METHOD path" as it arrives (in the server's thread)
    on_call: Callable[[str], None] | None = None


def seed(crm: CRM) -> None:
    crm.contacts.update(
        {
            1: {"id": 1, "email": "ada@example.com", "name": "Ada Lovelace"},
            2: {"id": 2, "email": "ada@example.com", "name": "Ada L. (duplicate)"},
            3: {"id": 3, "email": "ada@example.com", "name": "Ada (third)"},
            4: {"id": 4, "email": "bob@example.com", "name": "Bob"},
        }
    )
    crm.notes.update(
        {
            10: {"id": 10, "contact_id": 1, "text": "Called about the engine"},
            11: {"id": 11, "contact_id": 3, "text": "Met at conference"},
            12: {"id": 12, "contact_id": 4, "text": "Bob's note"},
        }
    )
    crm.deals.update(
        {
            100 + i: {
                "id": 100 + i,
                "contact_email": "ada@example.com",
                "title": f"Deal {i}",
                "owner_note": "Ada wants it",
            }
            for i in range(5)
        }
    )
    crm.deals[200] = {
        "id": 200,
        "contact_email": "bob@example.com",
        "title": "Bob's deal",
        "owner_note": "x",
    }


def make_app(crm: CRM) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def faults(request: Request, call_next: Any) -> Any:
        crm.calls.append(f"{request.method} {request.url.path}")
        if crm.on_call is not None:
            crm.on_call(f"{request.method} {request.url.path}")
        if crm.faults:
            fault = crm.faults.pop(0)
            if fault == "503":
                return Response(status_code=503)
            if fault == "garbage":
                return Response(content=b"<html>oops", media_type="application/json")
            if fault == "slow":
                await asyncio.sleep(1.5)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Response(status_code=401)
        return await call_next(request)

    @app.get("/api/contacts")
    def contacts(email: str, cursor: int = 0) -> dict[str, Any]:
        found = sorted(
            (c for c in crm.contacts.values() if c["email"] == email), key=lambda c: c["id"]
        )
        page = found[cursor : cursor + 2]  # two per page: pagination is exercised
        nxt = cursor + 2 if cursor + 2 < len(found) else None
        return {"data": page, "next_cursor": nxt}

    @app.get("/api/contacts/{contact_id}")
    def contact(contact_id: int) -> dict[str, Any]:
        found = crm.contacts.get(contact_id)
        if found is None:
            raise HTTPException(404)
        return {"contact": {**found, "source": "full record"}}

    @app.get("/api/contacts/{contact_id}/notes")
    def notes(contact_id: int) -> dict[str, Any]:
        return {"data": [n for n in crm.notes.values() if n["contact_id"] == contact_id]}

    @app.get("/api/deals")
    def deals(contact_email: str, page: int = 1, per_page: int = 2) -> list[dict[str, Any]]:
        found = sorted(
            (d for d in crm.deals.values() if d["contact_email"] == contact_email),
            key=lambda d: d["id"],
        )
        return found[(page - 1) * per_page : page * per_page]

    @app.delete("/api/contacts/{contact_id}", status_code=204)
    def delete_contact(contact_id: int) -> None:
        if crm.contacts.pop(contact_id, None) is None:
            raise HTTPException(404)

    @app.delete("/api/notes/{note_id}", status_code=204)
    def delete_note(note_id: int) -> None:
        if crm.notes.pop(note_id, None) is None:
            raise HTTPException(404)

    @app.patch("/api/deals/{deal_id}")
    def patch_deal(deal_id: int, body: dict[str, Any]) -> dict[str, Any]:
        deal = crm.deals.get(deal_id)
        if deal is None:
            raise HTTPException(404)
        deal.update(body)
        return deal

    return app


@contextmanager
def serve(crm: CRM) -> Iterator[str]:
    """Run the CRM on a free port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        make_app(crm), log_level="warning", lifespan="off", ws="none", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


CONNECTOR_YAML = """\
connector:
  name: crm
  type: http
  system: Company CRM
  base_url: {base_url}/api
  auth: {{header: Authorization, scheme: Bearer, token_env: CRM_TOKEN}}
  timeout_seconds: 1
  retries: 3
  backoff_seconds: 0.01
  resources:
    - name: contacts
      categories: [user.contact.email, user.name]
      search:
        path: /contacts
        params: {{email: "{{identity.email}}"}}
        items: data
        pagination: {{type: cursor, param: cursor, next: next_cursor}}
      read: {{path: "/contacts/{{id}}", items: contact}}
      erase: {{method: DELETE, path: "/contacts/{{id}}"}}
    - name: notes
      parent: contacts
      categories: [user.content.private]
      search: {{path: "/contacts/{{parent.id}}/notes", items: data}}
      erase: {{method: DELETE, path: "/notes/{{id}}"}}
    - name: deals
      categories: [user.contact.email]
      search:
        path: /deals
        params: {{contact_email: "{{identity.email}}"}}
        pagination: {{type: page, param: page, size_param: per_page, size: 2}}
      erase:
        method: PATCH
        path: "/deals/{{id}}"
        body: {{contact_email: "erased-{{id}}@invalid", owner_note: null}}
"""
