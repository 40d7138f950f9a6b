"""What a deploy sets up survives a reboot: the firewall loads at boot, the stack restarts by itself.
It power-cycles the standalone host, after the stack and upgrade tests have used it (file order)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Deployed, sh
from tests.e2e.probes import smtp_banner, tcp_connect_scan
from vibn_mail.sandbox import manager
from vibn_mail.sandbox.health import wait_healthy
from vibn_mail.sandbox.state import SandboxState

pytestmark = pytest.mark.e2e


def test_firewall_and_stack_come_back_after_a_reboot(sandbox: SandboxState, stack: dict[str, Deployed]) -> None:
    d = stack["standalone"]
    manager.reboot(sandbox.name, d.host.name)
    assert "table inet vibn_mail" in sh(sandbox, d.host, "nft list tables")
    wait_healthy(sandbox, d.host)
    assert smtp_banner(d.host.ip)[0] == 220
    assert tcp_connect_scan(d.host.ip) == {22, 25, 80, 443}
