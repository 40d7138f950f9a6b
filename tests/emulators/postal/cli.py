"""Command line mirroring Postal's image: ``python -m tests.emulators.postal <command>``.

``web-server`` (PORT / BIND_ADDRESS, else web_server.default_*), ``smtp-server`` (health 9091),
``worker`` (health 9090), ``initialize``, ``upgrade``/``update``, ``default-dkim-record``,
``version``, and ``rails runner FILE``, which starts the emulated admin API (ADMIN_API_PORT,
VIBN_ADMIN_TOKEN_FILE) in place of running the Ruby admin API file. Like Postal's entrypoint, every
command first waits for WAIT_FOR_TARGETS (``host:port`` list) up to WAIT_FOR_TIMEOUT seconds.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pymysql

from tests.emulators.postal import keys
from tests.emulators.postal.admin_api import create_admin_app
from tests.emulators.postal.config import load_config
from tests.emulators.postal.runtime import (
    HttpServerThread,
    WorkerThread,
    bind,
    build_emulator,
    health_app,
    serve_forever,
    smtp_controller,
    smtp_tls_context,
)
from tests.emulators.postal.service import VERSION
from tests.emulators.postal.store import MessageDatabaseMissing

USAGE = (
    "usage: python -m tests.emulators.postal "
    "{web-server|smtp-server|worker|initialize|upgrade|update|default-dkim-record|version|rails runner FILE}"
)


def wait_for_targets(env: Mapping[str, str]) -> None:
    targets = env.get("WAIT_FOR_TARGETS", "").replace(",", " ").split()
    deadline = time.monotonic() + float(env.get("WAIT_FOR_TIMEOUT", "60"))
    for target in targets:
        host, _, port = target.rpartition(":")
        while True:
            try:
                with socket.create_connection((host.strip("[]"), int(port)), timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"WAIT_FOR_TARGETS: {target} not reachable within WAIT_FOR_TIMEOUT") from None
                time.sleep(0.5)


def _health(env: Mapping[str, str], default_port: int) -> HttpServerThread:
    host = env.get("HEALTH_SERVER_BIND_ADDRESS", "127.0.0.1")
    port = int(env.get("HEALTH_SERVER_PORT", str(default_port)))
    return HttpServerThread(health_app(), bind(host, port)).start()


def _block() -> None:
    threading.Event().wait()


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    try:
        return _run(argv, env)
    except pymysql.err.OperationalError as exc:
        print(
            f"database error: {exc}; check main_db/message_db in postal.yml (or MAIN_DB_*/MESSAGE_DB_* "
            "environment variables) and that the user has ALL on `postal` and `postal-*`",
            file=sys.stderr,
        )
        return 1


def _run(argv: Sequence[str] | None, env: Mapping[str, str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if env is None else env
    if not args:
        print(USAGE, file=sys.stderr)
        return 2
    command = args[0]
    if command == "version":
        print(VERSION)
        return 0
    wait_for_targets(env)
    config = load_config(environ=env)
    if command == "default-dkim-record":
        print(keys.dkim_record(keys.load_signing_key(config.signing_key_path)))
        return 0
    emulator = build_emulator(config, env)
    if command == "initialize":
        emulator.store.initialize()
        print(f"initialized main database {config.main_db.database}")
        return 0
    if command in ("upgrade", "update"):
        emulator.store.initialize()
        for server in emulator.store.rows("servers"):
            try:
                emulator.store.get_message(server["id"], 0)
            except MessageDatabaseMissing:
                print(f"creating missing message database {emulator.store.provision_message_db(server['id'])}")
        return 0
    if command == "web-server":
        from tests.emulators.postal.web_api import create_web_app

        host = env.get("BIND_ADDRESS", config.web_server.default_bind_address)
        serve_forever(create_web_app(emulator), host, int(env.get("PORT", str(config.web_server.default_port))))
        return 0
    if command == "worker":
        _health(env, 9090)
        WorkerThread(emulator, interval=float(env.get("EMULATOR_WORKER_INTERVAL", "1.0"))).run()
        return 0
    if command == "smtp-server":
        _health(env, 9091)
        host = config.smtp_server.default_bind_address
        port = int(env.get("SMTP_SERVER_DEFAULT_PORT", str(config.smtp_server.default_port)))
        # Postal's `[::]:25` is dual-stack; asyncio makes "::" IPv6-only, so IPv4 gets its own listener.
        hosts = [host, "0.0.0.0"] if host == "::" else [host]
        try:
            tls_context = smtp_tls_context(config)
        except RuntimeError as exc:
            print(f"smtp-server: {exc}", file=sys.stderr)
            return 1
        started = 0
        for bind_host in hosts:
            try:
                smtp_controller(emulator, bind_host, port, tls_context).start()
                started += 1
            except (OSError, RuntimeError) as exc:
                print(f"smtp-server: cannot listen on [{bind_host}]:{port}: {exc}", file=sys.stderr)
        if not started:
            return 1
        _block()
        return 0
    if command == "rails" and len(args) >= 3 and args[1] == "runner":
        token_file = Path(env.get("VIBN_ADMIN_TOKEN_FILE", "/config/admin-api.token"))
        if not token_file.exists():
            print(f"admin API token file {token_file} missing: set VIBN_ADMIN_TOKEN_FILE", file=sys.stderr)
            return 1
        token = token_file.read_text().strip()
        port = int(env.get("ADMIN_API_PORT", "5001"))
        serve_forever(create_admin_app(emulator, token), env.get("ADMIN_API_BIND_ADDRESS", "0.0.0.0"), port)
        return 0
    print(USAGE, file=sys.stderr)
    return 2
