"""A sandbox's state file: what `up` created, so `status`, `ssh`, `down` and the inventory can find it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from vibn_mail.sandbox.errors import SandboxError
from vibn_mail.sandbox.layout import state_root, validate_name


class HostState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int
    name: str
    netns: str
    veth_host: str
    veth_guest: str
    host_address: str  # with prefix, e.g. 10.213.4.1/30
    guest_address: str
    host_address6: str | None = None  # with prefix, e.g. fd12:3456:789a:1::1/64
    guest_address6: str | None = None
    rootfs: str
    nspawn_pid: int | None = None
    nspawn_started: int | None = None
    proxy_pid: int | None = None
    proxy_started: int | None = None
    log: str

    @property
    def ip(self) -> str:
        return self.guest_address.split("/")[0]

    @property
    def gateway(self) -> str:
        return self.host_address.split("/")[0]

    @property
    def ip6(self) -> str | None:
        return self.guest_address6.split("/")[0] if self.guest_address6 else None


class SandboxState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    id: str
    slot: str
    directory: str
    ssh_key: str
    ssh_config: str
    proxy_port: int = 3142
    hosts: list[HostState] = []
    images: list[str] = []

    @property
    def path(self) -> Path:
        return Path(self.directory)

    def host(self, ref: str) -> HostState:
        """A host by its name, its short name or its 1-based index."""
        for h in self.hosts:
            if ref in (h.name, str(h.index)):
                return h
        names = ", ".join(h.name for h in self.hosts)
        raise SandboxError(f"no host {ref!r} in sandbox {self.name}", fix=f"use one of: {names} (or an index)")

    def save(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / "state.json.tmp"
        tmp.write_text(self.model_dump_json(indent=2))
        os.replace(tmp, self.path / "state.json")


def state_dir(name: str) -> Path:
    return state_root() / validate_name(name)


def load(name: str) -> SandboxState:
    path = state_dir(name) / "state.json"
    if not path.exists():
        raise SandboxError(f"no sandbox named {name!r}", fix="create it with `vibn-mail sandbox up --name NAME`")
    try:
        return SandboxState.model_validate(json.loads(path.read_text()))
    except (ValueError, ValidationError) as exc:
        raise SandboxError(
            f"the state file of sandbox {name!r} is unreadable ({path})",
            fix=f"`vibn-mail sandbox down --name {name}` still cleans up what it names",
            detail=str(exc),
        ) from exc


def load_raw(name: str) -> dict[str, Any]:
    """The state file as plain JSON, for salvage when it no longer matches the model."""
    path = state_dir(name) / "state.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def all_states() -> list[SandboxState]:
    root = state_root()
    if not root.is_dir():
        return []
    return [load(p.parent.name) for p in sorted(root.glob("*/state.json"))]


def resolve_name(name: str | None) -> str:
    """The named sandbox; else VIBN_SANDBOX; else the only one there is (no state parsing)."""
    name = name or os.environ.get("VIBN_SANDBOX") or None
    if name:
        return validate_name(name)
    root = state_root()
    names = sorted(p.parent.name for p in root.glob("*/state.json")) if root.is_dir() else []
    if len(names) == 1:
        return names[0]
    if not names:
        raise SandboxError("no sandbox is up", fix="run `vibn-mail sandbox up` first")
    raise SandboxError(
        f"{len(names)} sandboxes are up ({', '.join(names)})",
        fix="choose one with --name NAME or VIBN_SANDBOX=NAME",
    )


def resolve(name: str | None) -> SandboxState:
    return load(resolve_name(name))
