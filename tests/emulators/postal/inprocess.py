"""Run the emulator inside the test process: web and admin APIs on loopback ports, optionally SMTP,
a worker thread, all torn down when the context exits (also on test failure)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.emulators.postal import keys
from tests.emulators.postal.admin_api import create_admin_app
from tests.emulators.postal.config import PostalConfig
from tests.emulators.postal.runtime import HttpServerThread, WorkerThread, bind, smtp_controller, smtp_tls_context
from tests.emulators.postal.service import PostalEmulator, Settings
from tests.emulators.postal.store import MemoryStore, Store
from tests.emulators.postal.web_api import create_web_app


@dataclass(frozen=True)
class RunningEmulator:
    web_url: str
    admin_url: str
    admin_token: str
    web_hostname: str
    smtp_port: int | None
    emulator: PostalEmulator


@contextmanager
def run_emulator(
    config: PostalConfig | None = None,
    *,
    store: Store | None = None,
    signing_key: rsa.RSAPrivateKey | None = None,
    settings: Settings | None = None,
    smtp: bool = False,
    worker: bool = True,
    host: str = "127.0.0.1",
) -> Iterator[RunningEmulator]:
    config = config or PostalConfig()
    emulator = PostalEmulator(
        config,
        store or MemoryStore(config.message_db.database_name_prefix),
        signing_key or keys.generate_rsa(2048),
        settings or Settings(),
    )
    emulator.store.initialize()
    token = secrets.token_urlsafe(24)
    with ExitStack() as stack:
        web = HttpServerThread(create_web_app(emulator), bind(host, 0)).start()
        stack.callback(web.stop)
        admin = HttpServerThread(create_admin_app(emulator, token), bind(host, 0)).start()
        stack.callback(admin.stop)
        smtp_port = None
        if smtp:
            sock = bind(host, 0)
            smtp_port = int(sock.getsockname()[1])
            sock.close()
            controller = smtp_controller(emulator, host, smtp_port, smtp_tls_context(config))
            controller.start()
            stack.callback(controller.stop)
        if worker:
            stack.callback(WorkerThread(emulator, interval=0.05).start().stop)
        yield RunningEmulator(
            web_url=f"http://{host}:{web.port}",
            admin_url=f"http://{host}:{admin.port}",
            admin_token=token,
            web_hostname=config.postal.web_hostname,
            smtp_port=smtp_port,
            emulator=emulator,
        )
