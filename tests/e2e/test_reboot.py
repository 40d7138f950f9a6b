"""What a deploy sets up survives a reboot: the firewall loads at boot, the stack restarts by itself.
Runs last (file order): it power-cycles the standalone host."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import Deployed, sh
from tests.e2e.probes import smtp_banner, tcp_connect_scan
from vibn_mail.sandbox import manager
from vibn_mail.sandbox.state import SandboxState

pytestmark = pytest.mark.e2e


def test_firewall_and_stack_come_back_after_a_reboot(sandbox: SandboxState, stack: dict[str, Deployed]) -> None:
    d = stack["standalone"]
    manager.reboot(sandbox.name, d.host.name)
    assert "table inet vibn_mail" in sh(sandbox, d.host, "nft list tables")
    deadline = time.monotonic() + 180
    status = ""
    while time.monotonic() < deadline:
        status = sh(
            sandbox, d.host, "docker ps --filter label=com.docker.compose.project=postal --format '{{.Status}}'"
        )
        lines = status.splitlines()
        if len(lines) >= 5 and not any("starting" in s or "unhealthy" in s for s in lines):
            break
        time.sleep(2)
    assert len(status.splitlines()) >= 5 and "unhealthy" not in status, status
    assert smtp_banner(d.host.ip)[0] == 220
    assert tcp_connect_scan(d.host.ip) == {22, 25, 80, 443}
