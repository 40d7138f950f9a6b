"""Targets the Postal contract suite runs against.

A target is everything the suite needs to reach one Postal (or stand-in): the web URL and the Host it
answers to, the admin API URL and token, and optional extras (SMTP address, a way to receive
webhooks, a DNS zone it will query). Each factory either returns a :class:`PostalTarget` (tearing
down what it started through the given ExitStack) or calls ``pytest.skip`` saying what is missing.

To add a target (e.g. the emulator container on a sandbox host), add a factory to ``TARGETS``; a
factory for "some already running Postal" is one call to :func:`external_target` with its own
environment-variable prefix.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import pytest

from tests.emulators.postal import keys
from tests.emulators.postal.config import PostalConfig
from tests.emulators.postal.inprocess import run_emulator
from tests.emulators.postal.service import Settings
from tests.emulators.postal.store import Store


@dataclass(frozen=True)
class ReceivedWebhook:
    body: bytes
    headers: dict[str, str]


class WebhookReceiver:
    """A loopback HTTP endpoint that records POSTs; ``url`` is what the target should call."""

    def __init__(self, bind: tuple[str, int], url: str | None = None) -> None:
        self.received: Queue[ReceivedWebhook] = Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.put(ReceivedWebhook(body, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(bind, Handler)
        port = int(self.server.server_address[1])
        self.url = url or f"http://{bind[0]}:{port}/webhook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, timeout: float) -> ReceivedWebhook:
        try:
            return self.received.get(timeout=timeout)
        except Empty:
            raise AssertionError(f"no webhook arrived within {timeout}s") from None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@dataclass
class PostalTarget:
    name: str
    web_url: str
    web_hostname: str
    admin_url: str
    admin_token: str
    api_key: str | None = None
    smtp: tuple[str, int] | None = None
    smtp_hostname: str | None = None
    webhooks: WebhookReceiver | None = None
    # Publishes DNS records the target's check_dns will see: {name: [(type, value), ...]}. Only targets
    # that query a resolver the tests control offer it.
    publish_dns: Callable[[dict[str, list[tuple[str, str]]]], None] | None = None
    extras: dict[str, Any] = field(default_factory=dict)


CONTRACT_CONFIG: dict[str, Any] = {
    "postal": {"web_hostname": "postal.contract.test", "smtp_hostname": "smtp.contract.test"},
    "dns": {
        "return_path_domain": "rp.postal.contract.test",
        "spf_include": "spf.postal.contract.test",
        "mx_records": ["mx.postal.contract.test"],
    },
}


def emulator_target(stack: ExitStack, name: str, config: PostalConfig, store: Store | None = None) -> PostalTarget:
    """The in-process emulator, its DNS checks pointed at a loopback DNS server the tests fill."""
    from tests.contract.postal.loopback_dns import LoopbackDns

    dns = stack.enter_context(LoopbackDns())
    settings = Settings(time_scale=0.001, dns_nameserver="127.0.0.1", dns_port=dns.port)
    run = stack.enter_context(run_emulator(config, store=store, settings=settings, smtp=True))
    receiver = WebhookReceiver(("127.0.0.1", 0))
    stack.callback(receiver.close)
    assert run.smtp_port is not None
    return PostalTarget(
        name=name,
        web_url=run.web_url,
        web_hostname=run.web_hostname,
        admin_url=run.admin_url,
        admin_token=run.admin_token,
        smtp=("127.0.0.1", run.smtp_port),
        smtp_hostname=config.postal.smtp_hostname,
        webhooks=receiver,
        publish_dns=dns.publish,
        extras={"emulator": run.emulator},
    )


def _emulator(stack: ExitStack) -> PostalTarget:
    # STARTTLS on, as deployed (smtp_tls): the SMTP tests then run with TLS offered but not used,
    # and upgraded; the other emulator targets keep it off, Postal's default.
    tls_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    cert, key = keys.write_self_signed(tls_dir, str(CONTRACT_CONFIG["postal"]["smtp_hostname"]))
    tls = {"tls_enabled": True, "tls_certificate_path": str(cert), "tls_private_key_path": str(key)}
    return emulator_target(stack, "emulator", PostalConfig.model_validate({**CONTRACT_CONFIG, "smtp_server": tls}))


def _emulator_mariadb(stack: ExitStack) -> PostalTarget:
    from tests.contract.postal.loopback_mariadb import mariadb_store_or_skip

    store, config = mariadb_store_or_skip(stack)
    return emulator_target(stack, "emulator-mariadb", config, store)


REQUIRED = ("URL", "WEB_HOSTNAME", "API_KEY", "ADMIN_URL", "ADMIN_TOKEN")


def external_target(name: str, prefix: str, stack: ExitStack, env: Mapping[str, str] | None = None) -> PostalTarget:
    """A running Postal described by ``<prefix>URL``, ``WEB_HOSTNAME``, ``API_KEY``, ``ADMIN_URL``,
    ``ADMIN_TOKEN``; optional ``SMTP_HOST``/``SMTP_PORT``/``SMTP_HOSTNAME`` and
    ``WEBHOOK_BIND`` (host:port to listen on) + ``WEBHOOK_URL`` (how Postal reaches it)."""
    env = os.environ if env is None else env
    missing = [prefix + key for key in REQUIRED if not env.get(prefix + key)]
    if missing:
        pytest.skip(f"{name} target not configured: set {', '.join(prefix + k for k in REQUIRED)}")
    receiver = None
    if env.get(prefix + "WEBHOOK_BIND"):
        host, _, port = env[prefix + "WEBHOOK_BIND"].rpartition(":")
        receiver = WebhookReceiver((host, int(port)), env.get(prefix + "WEBHOOK_URL"))
        stack.callback(receiver.close)
    smtp = None
    if env.get(prefix + "SMTP_HOST"):
        smtp = (env[prefix + "SMTP_HOST"], int(env.get(prefix + "SMTP_PORT", "25")))
    return PostalTarget(
        name=name,
        web_url=env[prefix + "URL"],
        web_hostname=env[prefix + "WEB_HOSTNAME"],
        admin_url=env[prefix + "ADMIN_URL"],
        admin_token=env[prefix + "ADMIN_TOKEN"],
        api_key=env[prefix + "API_KEY"],
        smtp=smtp,
        smtp_hostname=env.get(prefix + "SMTP_HOSTNAME"),
        webhooks=receiver,
    )


def _real(stack: ExitStack) -> PostalTarget:
    return external_target("real Postal", "POSTAL_", stack)


def _emulator_processes(stack: ExitStack) -> PostalTarget:
    from tests.contract.postal.emulator_processes import start_processes

    return start_processes(stack)


def _sandbox_container(stack: ExitStack) -> PostalTarget:
    # Set by tests/e2e/test_postal_contract_on_host.py: the emulator image deployed by deploys/all.py
    # on a sandbox host, on the stack's MariaDB, reached through SSH tunnels.
    return external_target("emulator container on a sandbox host", "VIBN_SANDBOX_POSTAL_", stack)


TARGETS: dict[str, Callable[[ExitStack], PostalTarget]] = {
    "emulator": _emulator,
    "emulator-mariadb": _emulator_mariadb,
    "emulator-processes": _emulator_processes,
    "sandbox-container": _sandbox_container,
    "real": _real,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
