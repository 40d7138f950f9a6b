"""Session-scoped sandbox hosts for end-to-end tests; torn down also on failure and Ctrl-C."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from vibn_mail.sandbox import manager
from vibn_mail.sandbox.state import SandboxState

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
    """Two hosts with the local images loaded: the shared sandbox of the e2e suite."""
    return sandbox_factory("main", hosts=2)
