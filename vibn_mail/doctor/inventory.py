"""Hosts from a pyinfra inventory file, with their data, read the way pyinfra reads them.

pyinfra's own loader lives in ``pyinfra_cli``, whose import monkey-patches the whole process with
gevent (sockets, threads, ssl): unacceptable inside the checks engine's threads and tests. The rules
are short, so they are followed here: module-level lists (or ``(hosts, data)`` tuples) of host names
or ``(name, data)`` tuples are groups; ``group_data/all.py`` and ``group_data/<group>.py`` next to the
file add data; host data beats group data beats ``all``. Names starting with ``_`` are ignored.
"""

from __future__ import annotations

import ast
import runpy
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


def _imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _module_vars(path: Path) -> dict[str, Any]:
    try:
        attrs = runpy.run_path(str(path))
    except Exception as e:  # an inventory is user code: any error is "this file is broken"
        raise InventoryError(f"inventory: {path} could not be loaded: {type(e).__name__}: {e}") from e
    skip = _imported_names(path)
    return {k: v for k, v in attrs.items() if not k.startswith("_") and k not in skip}


def _group_data(path: Path) -> dict[str, dict[str, Any]]:
    directory = path.parent / "group_data"
    if not directory.is_dir():
        return {}
    return {f.stem: _module_vars(f) for f in sorted(directory.glob("*.py"))}


def load_inventory(path: Path) -> list[InventoryHost]:
    """Every host of the inventory file at ``path``, in file order."""
    if not path.is_file():
        raise InventoryError(f"inventory: {path} is not a file; give a pyinfra inventory .py file")
    group_files = _group_data(path)
    # name → (data from its groups, its own data, its groups)
    hosts: dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]] = {}
    for group, value in _module_vars(path).items():
        members, group_data = (value[0], value[1]) if isinstance(value, tuple) and len(value) == 2 else (value, {})
        if not isinstance(members, list | tuple) or not all(isinstance(m, str | tuple) for m in members):
            continue
        for member in members:
            name, data = (member[0], dict(member[1])) if isinstance(member, tuple) else (member, {})
            from_groups, own, groups = hosts.setdefault(name, ({}, {}, []))
            groups.append(group)
            from_groups.update({**group_files.get(group, {}), **dict(group_data)})
            own.update(data)
    group_name = path.stem
    out = []
    for name, (from_groups, own, groups) in hosts.items():
        merged = {**group_files.get("all", {}), **group_files.get(group_name, {}), **from_groups, **own}
        out.append(InventoryHost(name, merged, (*groups, group_name)))
    if not out:
        raise InventoryError(f"inventory: {path} defines no hosts (module-level lists of names or (name, data))")
    return out
