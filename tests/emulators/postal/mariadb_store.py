"""The emulator's state in MariaDB, laid out like Postal's: main database ``main_db.database`` and one
``<message_db.database_name_prefix>-server-<id>`` database per mail server, reached with the
credentials from postal.yml — so a stack with wrong database wiring fails as Postal would.

Rows are stored as JSON documents; the emulator has no need for Postal's column layout, only for its
databases, grants and connection settings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pymysql
import pymysql.cursors

from tests.emulators.postal.config import DbSection, MainDbSection, MessageDbSection
from tests.emulators.postal.store import MAIN_TABLES, MainTable, MessageDatabaseMissing, Row

_TABLE_OPTIONS = "ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
_ER_BAD_DB = 1049


def _q(name: str) -> str:
    if "`" in name:
        raise ValueError(f"database name {name!r} contains a backtick")
    return f"`{name}`"


class MariaDBStore:
    """A connection per operation keeps it thread-safe and survives a database restart."""

    def __init__(self, main_db: MainDbSection, message_db: MessageDbSection) -> None:
        self._main = main_db
        self._msg = message_db

    @contextmanager
    def _connect(self, section: DbSection, database: str | None, *, message_db: bool = False) -> Iterator[Any]:
        try:
            conn = pymysql.connect(
                host=section.host,
                port=section.port,
                user=section.username,
                password=section.password,
                database=database,
                charset="utf8mb4",
                autocommit=True,
                connect_timeout=10,
            )
        except pymysql.err.OperationalError as exc:
            if message_db and exc.args and exc.args[0] == _ER_BAD_DB:
                raise MessageDatabaseMissing(database) from exc
            raise
        try:
            with conn.cursor() as cursor:
                yield cursor
        finally:
            conn.close()

    def _main_cursor(self) -> Any:
        return self._connect(self._main, self._main.database)

    def _message_cursor(self, server_id: int) -> Any:
        return self._connect(self._msg, self.message_db_name(server_id), message_db=True)

    def initialize(self) -> None:
        with self._connect(self._main, None) as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {_q(self._main.database)} CHARACTER SET utf8mb4")
        with self._main_cursor() as cur:
            for table in MAIN_TABLES:
                cur.execute(
                    f"CREATE TABLE IF NOT EXISTS {_q(table)} "
                    f"(id INT AUTO_INCREMENT PRIMARY KEY, data LONGTEXT NOT NULL) {_TABLE_OPTIONS}"
                )

    def insert(self, table: MainTable, row: Row) -> int:
        with self._main_cursor() as cur:
            cur.execute(f"INSERT INTO {_q(table)} (data) VALUES (%s)", (json.dumps(row),))
            return int(cur.lastrowid)

    def update(self, table: MainTable, row_id: int, row: Row) -> None:
        with self._main_cursor() as cur:
            cur.execute(f"UPDATE {_q(table)} SET data = %s WHERE id = %s", (json.dumps(row), row_id))

    def delete(self, table: MainTable, row_id: int) -> None:
        with self._main_cursor() as cur:
            cur.execute(f"DELETE FROM {_q(table)} WHERE id = %s", (row_id,))

    def rows(self, table: MainTable) -> list[Row]:
        with self._main_cursor() as cur:
            cur.execute(f"SELECT id, data FROM {_q(table)} ORDER BY id")
            return [{**json.loads(data), "id": int(row_id)} for row_id, data in cur.fetchall()]

    def message_db_name(self, server_id: int) -> str:
        return f"{self._msg.database_name_prefix}-server-{server_id}"

    def provision_message_db(self, server_id: int) -> str:
        name = self.message_db_name(server_id)
        with self._connect(self._msg, None) as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {_q(name)}")
            cur.execute(f"CREATE DATABASE {_q(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        with self._message_cursor(server_id) as cur:
            cur.execute(
                f"CREATE TABLE messages (id INT AUTO_INCREMENT PRIMARY KEY, data LONGTEXT NOT NULL) {_TABLE_OPTIONS}"
            )
            cur.execute(
                "CREATE TABLE deliveries (id INT AUTO_INCREMENT PRIMARY KEY, message_id INT NOT NULL, "
                f"data LONGTEXT NOT NULL, KEY on_message_id (message_id)) {_TABLE_OPTIONS}"
            )
        return name

    def drop_message_db(self, server_id: int) -> None:
        with self._connect(self._msg, None) as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {_q(self.message_db_name(server_id))}")

    def add_message(self, server_id: int, row: Row) -> int:
        with self._message_cursor(server_id) as cur:
            cur.execute("INSERT INTO messages (data) VALUES (%s)", (json.dumps(row),))
            return int(cur.lastrowid)

    def update_message(self, server_id: int, message_id: int, row: Row) -> None:
        with self._message_cursor(server_id) as cur:
            cur.execute("UPDATE messages SET data = %s WHERE id = %s", (json.dumps(row), message_id))

    def get_message(self, server_id: int, message_id: int) -> Row | None:
        with self._message_cursor(server_id) as cur:
            cur.execute("SELECT data FROM messages WHERE id = %s", (message_id,))
            found = cur.fetchone()
            return None if found is None else {**json.loads(found[0]), "id": message_id}

    def add_delivery(self, server_id: int, message_id: int, row: Row) -> int:
        with self._message_cursor(server_id) as cur:
            cur.execute("INSERT INTO deliveries (message_id, data) VALUES (%s, %s)", (message_id, json.dumps(row)))
            return int(cur.lastrowid)

    def deliveries(self, server_id: int, message_id: int) -> list[Row]:
        with self._message_cursor(server_id) as cur:
            cur.execute("SELECT id, data FROM deliveries WHERE message_id = %s ORDER BY id", (message_id,))
            return [{**json.loads(d), "id": int(i), "message_id": message_id} for i, d in cur.fetchall()]
