"""Hosts from a pyinfra inventory file, with their data (group_data included), via pyinfra's loader."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class InventoryHost:
    name: str
    data: dict[str, Any]
    groups: tuple[str, ...]


class InventoryError(ValueError):
    pass


def load_inventory(path: Path) -> list[InventoryHost]:
    """Every host of the inventory file at ``path`` (a Python module of host groups)."""
    from pyinfra.api.state import State
    from pyinfra.context import ctx_state
    from pyinfra_cli.inventory import make_inventory  # type: ignore[import-untyped]

    if not path.is_file():
        raise InventoryError(f"inventory: {path} is not a file; give a pyinfra inventory .py file")
    try:
        # pyinfra's loader records the file being executed on the current state: give it one.
        with ctx_state.use(State()):
            inventory = make_inventory(str(path), cwd=str(path.parent))
    except Exception as e:  # pyinfra raises plain exceptions for syntax and data errors
        raise InventoryError(f"inventory: {path} could not be loaded: {e}") from e
    hosts = [InventoryHost(h.name, dict(h.data.dict()), tuple(h.groups)) for h in inventory]
    if not hosts:
        raise InventoryError(
            f"inventory: {path} defines no hosts (module-level lists of names or (name, data))"
        )
    return hosts
