"""Test tiers: unit (no root, seconds), `dns` (Knot on loopback), `e2e` (root; sandbox hosts).

tests/host is the testinfra suite for *deployed* hosts: it is collected only when --hosts is given
(CI and the e2e tests point it at real hosts).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name == "host" and collection_path.parent.name == "tests":
        hosts = config.getoption("hosts", default=None)
        return not hosts
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="e2e tests boot sandbox hosts and need root (run `make test` as root)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)
