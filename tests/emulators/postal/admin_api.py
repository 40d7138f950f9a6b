"""The emulated admin API: same routes, bodies, statuses and error JSON as templates/postal/admin-api.rb.

Routing is a plain table of (method, pattern, handler), like the Ruby service's, so the two read alike.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.postal.service import VERSION, AdminError, PostalEmulator

Handler = Callable[[PostalEmulator, dict[str, str], dict[str, Any]], dict[str, Any]]
SEG = r"(?P<{}>[^/]+)"
ORG = "/v1/organizations/" + SEG.format("org")
SRV = ORG + "/servers/" + SEG.format("server")


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(r"\A" + pattern + r"\Z")


def _srv(p: dict[str, str]) -> str | None:
    return p.get("server")


ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("GET", _r("/v1/default-dkim-record"), lambda e, p, b: {"record": e.default_dkim_record()}),
    ("GET", _r("/v1/inventory"), lambda e, p, b: e.inventory()),
    ("GET", _r("/v1/users"), lambda e, p, b: e.list_users()),
    ("PUT", _r("/v1/users/" + SEG.format("email")), lambda e, p, b: e.ensure_user(p["email"], b)),
    ("GET", _r("/v1/users/" + SEG.format("email")), lambda e, p, b: e.get_user(p["email"])),
    ("GET", _r("/v1/organizations"), lambda e, p, b: e.list_organizations()),
    ("PUT", _r(ORG), lambda e, p, b: e.ensure_organization(p["org"], b)),
    ("GET", _r(ORG), lambda e, p, b: e.get_organization(p["org"])),
    ("DELETE", _r(ORG), lambda e, p, b: e.delete_organization(p["org"])),
    ("GET", _r(ORG + "/servers"), lambda e, p, b: e.list_servers(p["org"])),
    ("PUT", _r(SRV), lambda e, p, b: e.ensure_server(p["org"], p["server"], b)),
    ("GET", _r(SRV), lambda e, p, b: e.get_server(p["org"], p["server"])),
    ("DELETE", _r(SRV), lambda e, p, b: e.delete_server(p["org"], p["server"])),
    ("GET", _r(SRV + "/credentials"), lambda e, p, b: e.list_credentials(p["org"], p["server"])),
    ("PUT", _r(SRV + "/credentials/" + SEG.format("name")),
     lambda e, p, b: e.ensure_credential(p["org"], p["server"], p["name"], b)),
    ("GET", _r(SRV + "/credentials/" + SEG.format("name")),
     lambda e, p, b: e.get_credential(p["org"], p["server"], p["name"])),
    ("DELETE", _r(SRV + "/credentials/" + SEG.format("name")),
     lambda e, p, b: e.delete_credential(p["org"], p["server"], p["name"])),
    ("GET", _r(SRV + "/webhooks"), lambda e, p, b: e.list_webhooks(p["org"], p["server"])),
    ("PUT", _r(SRV + "/webhooks/" + SEG.format("name")),
     lambda e, p, b: e.ensure_webhook(p["org"], p["server"], p["name"], b)),
    ("GET", _r(SRV + "/webhooks/" + SEG.format("name")),
     lambda e, p, b: e.get_webhook(p["org"], p["server"], p["name"])),
    ("DELETE", _r(SRV + "/webhooks/" + SEG.format("name")),
     lambda e, p, b: e.delete_webhook(p["org"], p["server"], p["name"])),
]  # fmt: skip

# Domains exist under a server and under an organization; one set of routes for both owners.
for _owner in (SRV, ORG):
    _dom = _owner + "/domains/" + SEG.format("name")
    ROUTES += [
        ("GET", _r(_owner + "/domains"), lambda e, p, b: e.list_domains(p["org"], _srv(p))),
        ("PUT", _r(_dom), lambda e, p, b: e.ensure_domain(p["org"], _srv(p), p["name"], b)),
        ("GET", _r(_dom), lambda e, p, b: e.get_domain(p["org"], _srv(p), p["name"])),
        ("DELETE", _r(_dom), lambda e, p, b: e.delete_domain(p["org"], _srv(p), p["name"])),
        ("POST", _r(_dom + "/check-dns"), lambda e, p, b: e.check_dns(p["org"], _srv(p), p["name"])),
        ("POST", _r(_dom + "/verify"), lambda e, p, b: e.verify_domain(p["org"], _srv(p), p["name"])),
    ]  # fmt: skip


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(AdminError(status, code, message, field).json(), status_code=status)


def create_admin_app(emulator: PostalEmulator, token: str) -> Starlette:
    if len(token) < 16:
        raise ValueError("admin API token must be at least 16 characters")

    async def dispatch(request: Request) -> JSONResponse:
        path = request.url.path
        if path == "/health" and request.method == "GET":
            return JSONResponse({"status": "ok", "postal_version": VERSION})
        supplied = request.headers.get("authorization", "")
        if not hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode()):
            return _error(401, "Unauthorized", "missing or wrong bearer token (Authorization: Bearer <token>)")
        matches = [(m, h, rx.match(path)) for m, rx, h in ROUTES]
        hits = [(m, h, mt) for m, h, mt in matches if mt is not None]
        if not hits:
            return _error(404, "NotFound", f"no route for {path}")
        chosen = next(((h, mt) for m, h, mt in hits if m == request.method), None)
        if chosen is None:
            allowed = ", ".join(sorted({m for m, _, _ in hits}))
            return _error(405, "MethodNotAllowed", f"{request.method} not allowed here; use {allowed}")
        handler, match = chosen
        raw = await request.body()
        body: Any = {}
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                return _error(400, "BadRequest", "request body is not valid JSON")
            if not isinstance(body, dict):
                return _error(400, "BadRequest", "request body must be a JSON object")
        params = {k: unquote(v) for k, v in match.groupdict().items()}
        try:
            result = await run_in_threadpool(handler, emulator, params, body)
        except AdminError as exc:
            return JSONResponse(exc.json(), status_code=exc.status)
        return JSONResponse(result)

    methods = ["GET", "PUT", "POST", "DELETE", "PATCH"]
    return Starlette(routes=[Route("/{path:path}", dispatch, methods=methods)])
