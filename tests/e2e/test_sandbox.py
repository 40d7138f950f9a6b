"""The foundation's promise: real Debian hosts that boot, answer SSH, run Docker and nftables,
reach apt through the sandbox, and leave the machine exactly as they found it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.e2e.conftest import run_name
from tests.e2e.conftest import sh as run_on
from tests.e2e.snapshot import MachineSnapshot
from vibn_mail.sandbox import manager
from vibn_mail.sandbox.errors import SandboxError
from vibn_mail.sandbox.state import SandboxState, state_dir

pytestmark = pytest.mark.e2e


BARE = 3  # the host no test deploys to (see the `sandbox` fixture)


def sh(st: SandboxState, host: int, command: str, timeout: float = 300) -> str:
    return run_on(st, st.hosts[host - 1], command, timeout=timeout)


def test_every_host_boots_systemd_and_runs_docker_and_nftables(sandbox: SandboxState) -> None:
    assert len(sandbox.hosts) == 3
    for i in (1, 2, 3):
        assert sh(sandbox, i, "systemctl is-system-running || true").strip() in ("running", "degraded")
        assert sh(sandbox, i, "cat /proc/1/comm").strip() == "systemd"
        assert sh(sandbox, i, "docker info --format '{{.ServerVersion}}'").strip()
        assert "table" in sh(sandbox, i, "nft add table inet probe && nft list ruleset && nft delete table inet probe")
        assert sh(sandbox, i, "hostname").strip() == sandbox.hosts[i - 1].name


def test_hosts_have_their_own_network_stack(sandbox: SandboxState) -> None:
    first, second = (h.ip for h in sandbox.hosts[:2])
    assert first != second
    assert first in sh(sandbox, 1, "ip -4 -o addr show")
    assert second not in sh(sandbox, 1, "ip -4 -o addr show")


def test_a_container_runs_and_its_published_port_is_reachable_from_outside(sandbox: SandboxState) -> None:
    sh(
        sandbox,
        BARE,
        "docker run -d --rm --name probe -p 8765:80 vibn-local/caddy:2 caddy file-server --listen :80 --root /etc",
    )
    try:
        url = f"http://{sandbox.hosts[BARE - 1].ip}:8765/hostname"
        deadline = time.monotonic() + 30
        body = ""
        while time.monotonic() < deadline:
            proc = subprocess.run(["curl", "-sf", "--max-time", "3", url], capture_output=True, text=True)
            if proc.returncode == 0:
                body = proc.stdout
                break
            time.sleep(0.5)
        assert body.strip(), "published container port did not answer from the build machine"
    finally:
        sh(sandbox, BARE, "docker rm -f probe >/dev/null 2>&1 || true")


def test_apt_works_inside_through_the_sandbox_proxy(sandbox: SandboxState) -> None:
    sh(sandbox, BARE, "apt-get update -q", timeout=600)
    sh(sandbox, BARE, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq", timeout=600)
    assert sh(sandbox, BARE, "jq -n 1+1").strip() == "2"


def test_the_sandbox_inventory_feeds_pyinfra(sandbox: SandboxState) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pyinfra", "-y", "inventory/sandbox.py", "exec", "--", "cat /etc/hostname"],
        env={**os.environ, "VIBN_SANDBOX": sandbox.name},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for host in sandbox.hosts:
        assert host.name in proc.stdout + proc.stderr


def test_down_leaves_the_machine_as_it_was() -> None:
    name = run_name("down")
    before = MachineSnapshot.take(name)
    st = manager.up(name, 2, images=False)
    during = MachineSnapshot.take(name)
    assert {h.netns for h in st.hosts} <= during.netns
    assert during.processes, "the sandbox's daemons should be visible while it is up"
    manager.down(name)
    after = MachineSnapshot.take(name)
    assert after == before
    assert not state_dir(name).exists()


def test_a_host_that_does_not_boot_in_time_is_reported_and_cleaned_up() -> None:
    name = run_name("slow")
    before = MachineSnapshot.take(name)
    with pytest.raises(SandboxError) as exc:
        manager.up(name, 1, images=False, boot_timeout=0.01)
    assert "did not boot within" in exc.value.message
    assert "journal" in (exc.value.detail or "")
    assert MachineSnapshot.take(name) == before


def test_ctrl_c_during_up_leaves_nothing_behind() -> None:
    name = run_name("intr")
    before = MachineSnapshot.take(name)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vibn_mail.cli", "sandbox", "up", "--name", name, "--no-images"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # Interrupt once the first guest is booting: its namespace exists by then.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(name in p for p in MachineSnapshot.take(name).processes):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    assert proc.returncode != 0
    assert MachineSnapshot.take(name) == before
    assert not state_dir(name).exists()
