"""Restore a MariaDB dump taken by the upgrade path (or by hand) into the Postal stack.

    pyinfra inventory/production.py deploys/restore.py \
        --data restore_dump=postal-3.3.5-20260101T000000Z.sql.gz

``restore_dump`` names a file in ``<postal_root>/backups/``. The Postal services are stopped, the
dump is loaded into MariaDB (the dump recreates every database it contains), ``postal upgrade``
brings the schema to the running version (a no-op at the same version), and the stack restarts.
Deliberately not idempotent: it runs only when asked for.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from pyinfra.api.deploy import deploy
from pyinfra.api.exceptions import DeployError
from pyinfra.context import host
from pyinfra.operations import server

from deploys.config import load_settings
from deploys.ops import POSTAL_SERVICES, Stack
from deploys.postal import compose_command

_DUMP = re.compile(r"^[A-Za-z0-9._-]+\.sql(\.gz)?$")


def restore_commands(stack: Stack, dump: str) -> list[str]:
    """Commands that load ``backups/<dump>``; the DB password stays inside the MariaDB container."""
    if not _DUMP.match(dump):
        raise ValueError(f"restore_dump={dump!r}: give a file name from backups/, e.g. postal-3.3.5-….sql.gz")
    path = shlex.quote(f"{stack.root}/backups/{dump}")
    reader = "gunzip -c" if dump.endswith(".gz") else "cat"
    load = "exec -T mariadb sh -c " + shlex.quote('MYSQL_PWD="$MARIADB_ROOT_PASSWORD" exec mariadb -uroot')
    return [
        f"test -s {path}",
        stack.cmd("stop " + " ".join(POSTAL_SERVICES)),
        stack.cmd("up -d mariadb"),
        f"{reader} {path} | ( {stack.cmd(load)} )",
        stack.cmd("run --rm -T runner postal upgrade"),
        stack.cmd("up -d"),
    ]


@deploy("Restore Postal database")
def deploy_restore() -> None:
    data: dict[str, Any] = dict(host.data.dict())  # type: ignore[no-untyped-call]
    dump = data.pop("restore_dump", None)
    if not dump:
        raise DeployError("set restore_dump=<a file in backups/>, e.g. --data restore_dump=NAME.sql.gz")
    settings = load_settings(data)
    compose = compose_command(settings)
    stack = Stack(root=settings.postal_root, project=settings.compose_project, compose=compose)
    try:
        commands = restore_commands(stack, str(dump))
    except ValueError as exc:
        raise DeployError(str(exc)) from None
    for command in commands:
        server.shell(name=f"Restore: {command[:60]}", commands=[command])


if __name__ == "builtins":  # executed by the pyinfra CLI as a deploy file
    deploy_restore()
