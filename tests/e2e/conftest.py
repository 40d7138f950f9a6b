"""Session-scoped sandbox hosts for end-to-end tests; torn down also on failure and Ctrl-C."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.converge import Converge, converge
from vibn_mail.sandbox import coolify, manager
from vibn_mail.sandbox.health import wait_healthy
from vibn_mail.sandbox.machine import ssh
from vibn_mail.sandbox.state import HostState, SandboxState

SandboxFactory = Callable[..., SandboxState]


def run_name(tag: str) -> str:
    """A sandbox name unique to this test run, so two runs on one machine never collide."""
    return f"t{os.getpid():x}-{tag}"[:20]


@pytest.fixture(scope="session")
def sandbox_factory() -> Iterator[SandboxFactory]:
    created: list[str] = []

    def make(tag: str, hosts: int = 1, images: bool = True) -> SandboxState:
        name = run_name(tag)
        created.append(name)
        return manager.up(name, hosts, images=images)

    try:
        yield make
    finally:
        for name in created:
            manager.down(name)


@pytest.fixture(scope="session")
def sandbox(sandbox_factory: SandboxFactory) -> SandboxState:
    """Three hosts with the local images loaded, shared by the e2e suite: host 1 becomes a Coolify host
    and host 2 a plain host (the `stack` fixture); host 3 stays bare, as `sandbox up` leaves it."""
    return sandbox_factory("main", hosts=3)


STANDALONE = {"proxy_mode": "standalone", "caddy_tls": "internal"}


@dataclass(frozen=True)
class Deployed:
    host: HostState
    mode: str
    data: dict[str, str]
    first: Converge

    @property
    def web_hostname(self) -> str:
        return f"postal.{self.host.name}.test"


def sh(sandbox: SandboxState, host: HostState, command: str, timeout: float = 120) -> str:
    proc = ssh(sandbox, host, command, timeout=timeout)
    assert proc.returncode == 0, f"{command!r} on {host.name}: {proc.stderr.decode()[-1500:]}"
    return proc.stdout.decode()


@pytest.fixture(scope="session")
def stack(sandbox: SandboxState) -> dict[str, Deployed]:
    coolify_host, plain_host = sandbox.hosts[0], sandbox.hosts[1]
    coolify.install_proxy(sandbox, coolify_host)
    out = {}
    for host, mode, data in ((coolify_host, "coolify", {}), (plain_host, "standalone", STANDALONE)):
        first = converge(sandbox, host, **data)
        first.assert_ok()
        print(f"\nfirst converge of {host.name} ({mode}): {first.seconds:.1f} s, {len(first.changed)} ops changed")
        out[mode] = Deployed(host, mode, data, first)
    for d in out.values():
        wait_healthy(sandbox, d.host)
    return out
