"""The emulated ``postal web-server``: the legacy HTTP API, the JWKS, and Rails' host check."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.emulators.postal import keys
from tests.emulators.postal.service import LegacyError, PostalEmulator
from tests.emulators.postal.store import Row

Action = Callable[[Row, Row, dict[str, Any]], Any]


class HostCheck:
    """Rails' HostAuthorization: any Host other than web_hostname gets 403 "Blocked hosts"."""

    def __init__(self, app: ASGIApp, allowed: str) -> None:
        self.app, self.allowed = app, allowed.lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            bare = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if bare.lower() != self.allowed:
                response = PlainTextResponse(f"Blocked hosts: {host}", status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _api_params(request: Request) -> dict[str, Any]:
    # Postal's LegacyAPI::BaseController#api_params: a JSON body, or JSON in a `params` form field.
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = {}
        return {**dict(request.query_params), **(body if isinstance(body, dict) else {})}
    form = await request.form()
    raw = form.get("params") or request.query_params.get("params")
    if isinstance(raw, str) and raw:
        parsed = json.loads(raw)
        return parsed if isinstance(parsed, dict) else {}
    return {}


def create_web_app(emulator: PostalEmulator) -> ASGIApp:
    def endpoint(action: Action) -> Callable[[Request], Any]:
        async def handle(request: Request) -> Response:
            started = time.time()
            params = await _api_params(request)

            def run() -> dict[str, Any]:
                try:
                    cred, server = emulator.authenticate_api_key(request.headers.get("x-server-api-key"))
                    return {"status": "success", "data": action(cred, server, params)}
                except LegacyError as exc:
                    return {"status": exc.status, "data": exc.data}

            outcome = await run_in_threadpool(run)
            elapsed = round(time.time() - started, 3)
            return JSONResponse({"status": outcome["status"], "time": elapsed, "flags": {}, "data": outcome["data"]})

        return handle

    async def jwks(request: Request) -> Response:
        return JSONResponse(keys.jwks(emulator.signing_key))

    async def login(request: Request) -> Response:
        return HTMLResponse("<html><body><h1>Postal (emulator)</h1><form>Login</form></body></html>")

    methods = ["GET", "POST", "PUT", "PATCH"]
    routes = [
        Route("/api/v1/send/message", endpoint(emulator.send_message), methods=methods),
        Route("/api/v1/send/raw", endpoint(emulator.send_raw), methods=methods),
        Route("/api/v1/messages/message", endpoint(lambda c, s, p: emulator.message(s, p)), methods=methods),
        Route(
            "/api/v1/messages/deliveries",
            endpoint(lambda c, s, p: emulator.deliveries(s, p)),
            methods=methods,
        ),
        Route("/.well-known/jwks.json", jwks),
        Route("/login", login),
    ]
    return HostCheck(Starlette(routes=routes), emulator.config.postal.web_hostname)
