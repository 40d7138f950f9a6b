"""The emulator as separate processes, started the way its container image runs them: a config
directory with postal.yml and signing.key, ``initialize``, then ``web-server``, ``worker``,
``smtp-server`` and ``rails runner`` with Postal's environment variables, against a loopback MariaDB.

This is the shape of the "container on a sandbox host" target without the container.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import yaml

from tests.contract.postal.loopback_dns import LoopbackDns
from tests.contract.postal.loopback_mariadb import start_mariadb
from tests.contract.postal.targets import CONTRACT_CONFIG, PostalTarget, WebhookReceiver, free_port
from tests.emulators.postal import keys
from tests.processes import stop

REPO = Path(__file__).resolve().parents[3]


def write_config_dir(root: Path, db_port: int, db_password: str) -> Path:
    config = root / "config"
    config.mkdir()
    db = {"host": "127.0.0.1", "port": db_port, "username": "postal", "password": "set-by-env"}
    document = {
        "version": 2,
        **CONTRACT_CONFIG,
        "main_db": {**db, "database": "postal"},
        "message_db": {**db, "database_name_prefix": "postal"},
    }
    (config / "postal.yml").write_text(yaml.safe_dump(document))
    (config / "signing.key").write_text(keys.private_pem(keys.generate_rsa(2048)))
    (config / "admin-api.token").write_text(secrets.token_urlsafe(24) + "\n")
    return config


def emulator_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tests.emulators.postal", *args]


def base_env(config: Path, db_port: int, db_password: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTAL_", "MAIN_DB_", "MESSAGE_DB_"))}
    return {
        **env,
        "PYTHONPATH": str(REPO),
        "POSTAL_CONFIG_FILE_PATH": str(config / "postal.yml"),
        # Passwords through the environment, as a compose file would; postal.yml holds a dummy.
        "MAIN_DB_PASSWORD": db_password,
        "MESSAGE_DB_PASSWORD": db_password,
        "WAIT_FOR_TARGETS": f"127.0.0.1:{db_port}",
        "WAIT_FOR_TIMEOUT": "30",
    }


def _wait_http(url: str, proc: subprocess.Popen[bytes], headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"{url} did not come up (exit {proc.poll()}):\n{out[-2000:]}")
        time.sleep(0.1)


def start_processes(stack: ExitStack) -> PostalTarget:
    db_port, db_password = start_mariadb(stack)
    root = Path(tempfile.mkdtemp(prefix="vibn-postal-emulator-"))
    stack.callback(shutil.rmtree, root, ignore_errors=True)
    config = write_config_dir(root, db_port, db_password)
    dns = stack.enter_context(LoopbackDns())
    env = {
        **base_env(config, db_port, db_password),
        "EMULATOR_DNS_NAMESERVER": "127.0.0.1",
        "EMULATOR_DNS_PORT": str(dns.port),
        "EMULATOR_TIME_SCALE": "0.001",
        "EMULATOR_WORKER_INTERVAL": "0.1",
    }
    subprocess.run(emulator_command("initialize"), env=env, cwd=REPO, check=True, capture_output=True, timeout=60)
    web_port, admin_port, smtp_port = free_port(), free_port(), free_port()
    worker_health, smtp_health = free_port(), free_port()
    commands = {
        "web": (emulator_command("web-server"), {"PORT": str(web_port)}),
        "worker": (emulator_command("worker"), {"HEALTH_SERVER_PORT": str(worker_health)}),
        "smtp": (
            emulator_command("smtp-server"),
            {
                "SMTP_SERVER_DEFAULT_PORT": str(smtp_port),
                "HEALTH_SERVER_PORT": str(smtp_health),
                "SMTP_SERVER_DEFAULT_BIND_ADDRESS": "127.0.0.1",
            },
        ),
        "admin": (
            emulator_command("rails", "runner", str(config / "admin-api.rb")),
            {
                "ADMIN_API_PORT": str(admin_port),
                "ADMIN_API_BIND_ADDRESS": "127.0.0.1",
                "VIBN_ADMIN_TOKEN_FILE": str(config / "admin-api.token"),
            },
        ),
    }
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name, (argv, extra) in commands.items():
        proc = subprocess.Popen(argv, env={**env, **extra}, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs[name] = proc

        stack.callback(stop, proc)
    web_hostname = str(CONTRACT_CONFIG["postal"]["web_hostname"])
    _wait_http(f"http://127.0.0.1:{web_port}/login", procs["web"], {"Host": web_hostname})
    _wait_http(f"http://127.0.0.1:{admin_port}/health", procs["admin"])
    _wait_http(f"http://127.0.0.1:{worker_health}/health", procs["worker"])
    _wait_http(f"http://127.0.0.1:{smtp_health}/health", procs["smtp"])
    receiver = WebhookReceiver(("127.0.0.1", 0))
    stack.callback(receiver.close)
    return PostalTarget(
        name="emulator-processes",
        web_url=f"http://127.0.0.1:{web_port}",
        web_hostname=web_hostname,
        admin_url=f"http://127.0.0.1:{admin_port}",
        admin_token=(config / "admin-api.token").read_text().strip(),
        smtp=("127.0.0.1", smtp_port),
        smtp_hostname=str(CONTRACT_CONFIG["postal"]["smtp_hostname"]),
        webhooks=receiver,
        publish_dns=dns.publish,
        extras={"config_dir": config, "env": env, "db_port": db_port, "db_password": db_password},
    )
