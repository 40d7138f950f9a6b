"""A throw-away MariaDB on 127.0.0.1 for the emulator's MariaDB backend: its own data directory,
a ``postal`` user with a password and Postal's grants (``postal`` and ``postal-*``), stopped by PID."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import pymysql
import pytest

from tests.contract.postal.targets import CONTRACT_CONFIG, free_port
from tests.emulators.postal.config import PostalConfig
from tests.emulators.postal.mariadb_store import MariaDBStore
from tests.processes import stop

_HINT = "install Debian's mariadb-server (listed in .ci/apt-packages.txt)"


def start_mariadb(stack: ExitStack) -> tuple[int, str]:
    """Start mariadbd; return (port, password of user ``postal``)."""
    server = shutil.which("mariadbd") or shutil.which("mysqld", path="/usr/sbin:/usr/bin")
    install = shutil.which("mariadb-install-db")
    if server is None or install is None:
        pytest.skip(f"MariaDB not installed: {_HINT}")
    root = Path(tempfile.mkdtemp(prefix="vibn-mariadb-"))
    stack.callback(shutil.rmtree, root, ignore_errors=True)
    data, sock = root / "data", root / "mysqld.sock"
    subprocess.run(
        [
            install,
            "--no-defaults",
            f"--datadir={data}",
            "--user=root",
            "--skip-test-db",
            "--auth-root-authentication-method=socket",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            server,
            "--no-defaults",
            f"--datadir={data}",
            f"--socket={sock}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            "--user=root",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=32M",
            f"--pid-file={root / 'mysqld.pid'}",
            f"--log-error={root / 'error.log'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    stack.callback(stop, proc, 30)
    password = secrets.token_hex(16)
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)
            break
        except pymysql.err.OperationalError:
            if time.monotonic() > deadline or proc.poll() is not None:
                log = (root / "error.log").read_text(errors="replace")[-2000:] if (root / "error.log").exists() else ""
                raise RuntimeError(f"mariadbd did not start:\n{log}") from None
            time.sleep(0.2)
    with conn.cursor() as cur:
        cur.execute("CREATE USER 'postal'@'127.0.0.1' IDENTIFIED BY %s", (password,))
        cur.execute("GRANT ALL ON `postal`.* TO 'postal'@'127.0.0.1'")
        cur.execute("GRANT ALL ON `postal-%`.* TO 'postal'@'127.0.0.1'")
    conn.close()
    return port, password


def postal_config(port: int, password: str) -> PostalConfig:
    db = {"host": "127.0.0.1", "port": port, "username": "postal", "password": password}
    return PostalConfig.model_validate(
        {
            **CONTRACT_CONFIG,
            "main_db": {**db, "database": "postal"},
            "message_db": {**db, "database_name_prefix": "postal"},
        }
    )


def mariadb_store_or_skip(stack: ExitStack) -> tuple[MariaDBStore, PostalConfig]:
    port, password = start_mariadb(stack)
    config = postal_config(port, password)
    store = MariaDBStore(config.main_db, config.message_db)
    store.initialize()
    return store, config
