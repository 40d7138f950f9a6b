"""Assembling and running the emulator's processes: build from postal.yml + environment, serve
HTTP apps with uvicorn, the SMTP server with aiosmtpd, the worker loop and the health servers."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from tests.emulators.postal import keys
from tests.emulators.postal.config import PostalConfig
from tests.emulators.postal.mariadb_store import MariaDBStore
from tests.emulators.postal.service import VERSION, PostalEmulator, Settings
from tests.emulators.postal.store import MemoryStore, Store

# Postal itself accepts AUTH without TLS when smtp_server.tls_enabled is false; so does the emulator.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS", category=UserWarning)


def settings_from_env(env: Mapping[str, str]) -> Settings:
    return Settings(
        time_scale=float(env.get("EMULATOR_TIME_SCALE", "1.0")),
        dns_nameserver=env.get("EMULATOR_DNS_NAMESERVER") or None,
        dns_port=int(env.get("EMULATOR_DNS_PORT", "53")),
    )


def build_emulator(config: PostalConfig, env: Mapping[str, str] | None = None) -> PostalEmulator:
    """The emulator a container process runs: MariaDB state unless ``EMULATOR_STORE=memory``."""
    env = os.environ if env is None else env
    store: Store
    if env.get("EMULATOR_STORE", "mariadb") == "memory":
        store = MemoryStore(config.message_db.database_name_prefix)
    else:
        store = MariaDBStore(config.main_db, config.message_db)
    return PostalEmulator(config, store, keys.load_signing_key(config.signing_key_path), settings_from_env(env))


def health_app() -> Starlette:
    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("OK")

    async def metrics(request: Request) -> PlainTextResponse:
        return PlainTextResponse("# emulator: no metrics\n")

    return Starlette(routes=[Route("/health", ok), Route("/metrics", metrics)])


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind((host, port))
    return sock


class HttpServerThread:
    """A uvicorn server on an already bound socket, in a thread; ``stop()`` joins it."""

    def __init__(self, app: ASGIApp, sock: socket.socket) -> None:
        self.sock = sock
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def start(self, timeout: float = 10.0) -> HttpServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("HTTP server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def serve_forever(app: ASGIApp, host: str, port: int) -> None:
    uvicorn.Server(uvicorn.Config(app, log_level="info", lifespan="off")).run(sockets=[bind(host, port)])


# -- worker ----------------------------------------------------------------------------------------------


def post_webhook(url: str, body: bytes, headers: dict[str, str]) -> int:
    """Postal::HTTP.post with ``timeout: 5``; no answer counts as status 0 (a failure)."""
    try:
        return httpx.post(url, content=body, headers=headers, timeout=5.0).status_code
    except httpx.HTTPError:
        return 0


class WorkerThread:
    def __init__(self, emulator: PostalEmulator, interval: float = 0.2) -> None:
        self.emulator, self.interval = emulator, interval
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def tick(self) -> None:
        self.emulator.process_queue()
        self.emulator.deliver_webhooks(post_webhook)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # the worker must survive a failed tick, as Postal's does
                print(f"worker: {type(exc).__name__}: {exc}", flush=True)
            self._stop.wait(self.interval)

    def start(self) -> WorkerThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=10)


# -- SMTP ------------------------------------------------------------------------------------------------


@dataclass
class _Authenticated:
    cred: dict[str, Any]
    server: dict[str, Any]


class SmtpHandler:
    def __init__(self, emulator: PostalEmulator) -> None:
        self.emulator = emulator

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        # Postal: any username; the password must be the key of one of the server's SMTP credentials.
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        found = self.emulator.authenticate_smtp(auth_data.password.decode(errors="replace"))
        if found is None:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=_Authenticated(*found))

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        auth = session.auth_data
        if not isinstance(auth, _Authenticated):
            return "530 Authentication required"
        raw = envelope.original_content or b""
        error = await asyncio.to_thread(
            self.emulator.accept_smtp,
            auth.cred,
            auth.server,
            str(envelope.mail_from),
            list(envelope.rcpt_tos),
            raw,
        )
        return error or "250 OK"


def smtp_tls_context(config: PostalConfig) -> ssl.SSLContext | None:
    """The STARTTLS context when ``smtp_server.tls_enabled``; None otherwise.

    Postal reads the pair on the first STARTTLS and then fails that handshake; the emulator reads it
    at start so a missing or unreadable file (the key must be readable by uid 999) fails loudly.
    """
    if not config.smtp_server.tls_enabled:
        return None
    cert, key = config.smtp_tls_certificate_path, config.smtp_tls_private_key_path
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise RuntimeError(f"smtp_server.tls_enabled but cannot load {cert} and {key}: {exc}") from exc
    return context


def smtp_controller(
    emulator: PostalEmulator, host: str, port: int, tls_context: ssl.SSLContext | None = None
) -> Controller:
    """aiosmtpd shaped like Postal's SMTP server: AUTH always required for relaying and never TLS-only
    (Postal accepts AUTH in plain text too); STARTTLS offered, not required, when ``tls_context``."""
    handler = SmtpHandler(emulator)
    return Controller(
        handler,
        hostname=host,
        port=port,
        server_hostname=emulator.config.postal.smtp_hostname,
        ident=f"ESMTP Postal/{VERSION}",
        authenticator=handler.authenticate,
        auth_required=True,
        auth_require_tls=False,
        tls_context=tls_context,
        require_starttls=False,
        data_size_limit=emulator.config.smtp_server.max_message_size * 1024 * 1024,
    )
