"""The emulator keeps state where Postal does, so wrong database wiring fails as it would with Postal."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pymysql
import pytest

from tests.contract.postal.emulator_processes import REPO, base_env, emulator_command, write_config_dir
from tests.contract.postal.loopback_mariadb import postal_config, start_mariadb
from tests.emulators.postal import keys
from tests.emulators.postal.mariadb_store import MariaDBStore
from tests.emulators.postal.service import PostalEmulator, Settings


@pytest.fixture(scope="module")
def mariadb() -> Iterator[tuple[int, str]]:
    with ExitStack() as stack:
        yield start_mariadb(stack)


def _databases(port: int, password: str) -> set[str]:
    conn = pymysql.connect(host="127.0.0.1", port=port, user="postal", password=password)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES")
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def test_initialize_with_a_wrong_password_fails(mariadb: tuple[int, str]) -> None:
    port, password = mariadb
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config_dir(Path(tmp), port, password)
        env = {**base_env(config, port, password), "MAIN_DB_PASSWORD": "wrong-password"}
        done = subprocess.run(emulator_command("initialize"), env=env, cwd=REPO, capture_output=True, timeout=60)
    assert done.returncode != 0
    assert b"Access denied" in done.stderr


def test_servers_get_their_own_message_database(mariadb: tuple[int, str]) -> None:
    port, password = mariadb
    config = postal_config(port, password)
    store = MariaDBStore(config.main_db, config.message_db)
    store.initialize()
    emulator = PostalEmulator(config, store, keys.generate_rsa(2048), Settings())
    emulator.ensure_organization("dbtest", {"name": "DB test", "owner_email_address": "db@vibn.test"})
    server = emulator.ensure_server("dbtest", "one", {"name": "One"})["server"]
    assert server["message_database"] == f"postal-server-{server['id']}"
    assert {"postal", server["message_database"]} <= _databases(port, password)


def test_a_database_user_without_postal_grants_cannot_create_message_databases(
    mariadb: tuple[int, str],
) -> None:
    port, password = mariadb
    config = postal_config(port, password)
    # Postal's DB user needs ALL on `postal-*`; a prefix outside the grant must fail loudly.
    config.message_db.database_name_prefix = "other"
    store = MariaDBStore(config.main_db, config.message_db)
    store.initialize()
    emulator = PostalEmulator(config, store, keys.generate_rsa(2048), Settings())
    emulator.ensure_organization("grants", {"name": "Grants", "owner_email_address": "g@vibn.test"})
    with pytest.raises(pymysql.err.OperationalError, match="Access denied"):
        emulator.ensure_server("grants", "one", {"name": "One"})
