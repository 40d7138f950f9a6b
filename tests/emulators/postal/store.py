"""Where the emulator keeps its state: one interface, two backends.

Rows are JSON-able dicts with an integer ``id`` assigned by the store. Main tables mirror Postal's
main database (``postal``); messages and deliveries live in one message database per mail server,
created when the server is created and dropped with it, as Postal does. :class:`MemoryStore` serves
in-process tests; :class:`~tests.emulators.postal.mariadb_store.MariaDBStore` serves the container.
"""

from __future__ import annotations

import copy
import threading
from typing import Any, Literal, Protocol, get_args

Row = dict[str, Any]
MainTable = Literal[
    "users",
    "organizations",
    "servers",
    "credentials",
    "domains",
    "webhooks",
    "queued_messages",
    "webhook_requests",
]
MAIN_TABLES: tuple[MainTable, ...] = get_args(MainTable)


class MessageDatabaseMissing(LookupError):
    """The server's message database does not exist (not provisioned, or dropped)."""


class Store(Protocol):
    """Contract for a backend. Implementations must be safe to call from several threads, must assign
    increasing ids per table (per message database for messages), and must return copies, so callers
    never mutate stored state without ``update``."""

    def initialize(self) -> None:
        """Create the main database and its tables if absent (``postal initialize``)."""

    def insert(self, table: MainTable, row: Row) -> int: ...

    def update(self, table: MainTable, row_id: int, row: Row) -> None: ...

    def delete(self, table: MainTable, row_id: int) -> None: ...

    def rows(self, table: MainTable) -> list[Row]: ...

    def provision_message_db(self, server_id: int) -> str:
        """Drop and recreate the server's message database; return its name."""
        ...

    def drop_message_db(self, server_id: int) -> None: ...

    def message_db_name(self, server_id: int) -> str: ...

    def add_message(self, server_id: int, row: Row) -> int: ...

    def update_message(self, server_id: int, message_id: int, row: Row) -> None: ...

    def get_message(self, server_id: int, message_id: int) -> Row | None: ...

    def add_delivery(self, server_id: int, message_id: int, row: Row) -> int: ...

    def deliveries(self, server_id: int, message_id: int) -> list[Row]: ...


class _MessageDb:
    def __init__(self) -> None:
        self.messages: dict[int, Row] = {}
        self.deliveries: dict[int, Row] = {}


class MemoryStore:
    """Everything in dicts behind one lock."""

    def __init__(self, database_name_prefix: str = "postal") -> None:
        self._lock = threading.RLock()
        self._prefix = database_name_prefix
        self._tables: dict[str, dict[int, Row]] = {t: {} for t in MAIN_TABLES}
        self._next: dict[str, int] = {}
        self._message_dbs: dict[int, _MessageDb] = {}

    def _id(self, counter: str) -> int:
        self._next[counter] = self._next.get(counter, 0) + 1
        return self._next[counter]

    def initialize(self) -> None:
        return None

    def insert(self, table: MainTable, row: Row) -> int:
        with self._lock:
            row_id = self._id(table)
            self._tables[table][row_id] = {**copy.deepcopy(row), "id": row_id}
            return row_id

    def update(self, table: MainTable, row_id: int, row: Row) -> None:
        with self._lock:
            self._tables[table][row_id] = {**copy.deepcopy(row), "id": row_id}

    def delete(self, table: MainTable, row_id: int) -> None:
        with self._lock:
            self._tables[table].pop(row_id, None)

    def rows(self, table: MainTable) -> list[Row]:
        with self._lock:
            return [copy.deepcopy(r) for _, r in sorted(self._tables[table].items())]

    def message_db_name(self, server_id: int) -> str:
        return f"{self._prefix}-server-{server_id}"

    def provision_message_db(self, server_id: int) -> str:
        with self._lock:
            self._message_dbs[server_id] = _MessageDb()
            return self.message_db_name(server_id)

    def drop_message_db(self, server_id: int) -> None:
        with self._lock:
            self._message_dbs.pop(server_id, None)

    def _db(self, server_id: int) -> _MessageDb:
        db = self._message_dbs.get(server_id)
        if db is None:
            raise MessageDatabaseMissing(self.message_db_name(server_id))
        return db

    def add_message(self, server_id: int, row: Row) -> int:
        with self._lock:
            message_id = self._id(f"messages-{server_id}")
            self._db(server_id).messages[message_id] = {**copy.deepcopy(row), "id": message_id}
            return message_id

    def update_message(self, server_id: int, message_id: int, row: Row) -> None:
        with self._lock:
            self._db(server_id).messages[message_id] = {**copy.deepcopy(row), "id": message_id}

    def get_message(self, server_id: int, message_id: int) -> Row | None:
        with self._lock:
            row = self._db(server_id).messages.get(message_id)
            return copy.deepcopy(row) if row is not None else None

    def add_delivery(self, server_id: int, message_id: int, row: Row) -> int:
        with self._lock:
            delivery_id = self._id(f"deliveries-{server_id}")
            self._db(server_id).deliveries[delivery_id] = {
                **copy.deepcopy(row),
                "id": delivery_id,
                "message_id": message_id,
            }
            return delivery_id

    def deliveries(self, server_id: int, message_id: int) -> list[Row]:
        with self._lock:
            found = self._db(server_id).deliveries.items()
            return [copy.deepcopy(d) for _, d in sorted(found) if d["message_id"] == message_id]
