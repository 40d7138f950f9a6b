"""Booting and stopping one guest: systemd-nspawn inside the host's network namespace (§3 of the recipe)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import IO

from vibn_mail.sandbox import aptproxy
from vibn_mail.sandbox.errors import SandboxError
from vibn_mail.sandbox.processes import alive, start_time, terminate
from vibn_mail.sandbox.state import HostState, SandboxState
from vibn_mail.templating import render


def prepare_root(sandbox: SandboxState, host: HostState) -> None:
    """Per-host files written into the fresh root before it boots."""
    root = Path(host.rootfs)
    (root / "etc/hostname").write_text(host.name + "\n")
    (root / "etc/hosts").write_text(render("sandbox/hosts.j2", name=host.name))
    ssh_dir = root / "root/.ssh"
    ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    pub = Path(sandbox.ssh_key + ".pub").read_text()
    keys = ssh_dir / "authorized_keys"
    keys.write_text(pub)
    keys.chmod(0o600)
    (root / "etc/apt/apt.conf.d/01vibn-proxy").write_text(
        render("sandbox/apt-proxy.conf.j2", gateway=host.gateway, port=aptproxy.PORT)
    )


def boot(host: HostState) -> tuple[int, int | None]:
    """Start the guest in the background; returns (nspawn pid, its start time)."""
    with Path(host.log).open("wb") as log:
        proc = _spawn(host, log)
    return proc.pid, start_time(proc.pid)


def _spawn(host: HostState, log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "systemd-nspawn",
            "--quiet",
            f"--directory={host.rootfs}",
            "--boot",
            f"--network-namespace-path=/run/netns/{host.netns}",
            # The build machine has no systemd as PID 1: nothing to register with.
            "--register=no",
            "--keep-unit",
            # nftables.service needs it; so does Docker's iptables.
            "--capability=CAP_NET_ADMIN",
            # runc needs keyrings; Docker's BPF device filter needs bpf.
            "--system-call-filter=add_key keyctl bpf",
            "--resolv-conf=copy-host",
            "--console=read-only",
            f"--machine={host.name}",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # Hybrid cgroups on the build machine; Docker in the guest needs the unified hierarchy.
        env={**os.environ, "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"},
    )


def ssh_args(sandbox: SandboxState, host: HostState, *command: str) -> list[str]:
    return ["ssh", "-F", sandbox.ssh_config, "-o", "BatchMode=yes", host.name, *command]


def ssh(
    sandbox: SandboxState, host: HostState, command: str, *, input: bytes | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ssh_args(sandbox, host, command), input=input, capture_output=True, timeout=timeout, check=False
    )


def wait_ready(sandbox: SandboxState, host: HostState, timeout: float) -> str:
    """Wait until systemd in the guest says running or degraded; return that state."""
    deadline = time.monotonic() + timeout
    last = "no answer over SSH"
    while time.monotonic() < deadline:
        if host.nspawn_pid is None or not alive(host.nspawn_pid, host.nspawn_started):
            raise SandboxError(
                f"host {host.name} stopped while booting",
                fix="see the boot log below; `vibn-mail sandbox down` cleans up",
                detail=journal_tail(host),
            )
        try:
            proc = ssh(sandbox, host, "systemctl is-system-running", timeout=15)
        except subprocess.TimeoutExpired:
            continue
        state = proc.stdout.decode().strip()
        if proc.returncode == 255:
            last = proc.stderr.decode().strip() or last
        elif state in ("running", "degraded"):
            return state
        else:
            last = f"systemd says {state!r}"
        time.sleep(0.5)
    raise SandboxError(
        f"host {host.name} did not boot within {timeout:.0f} s ({last})",
        fix="raise --boot-timeout on a slow machine, or read the journal tail below",
        detail=journal_tail(host),
    )


def journal_tail(host: HostState, lines: int = 30) -> str:
    journal = Path(host.rootfs) / "var/log/journal"
    proc = subprocess.run(
        ["journalctl", f"--directory={journal}", "--no-pager", "-n", str(lines)],
        capture_output=True,
        text=True,
        check=False,
    )
    text = proc.stdout.strip()
    if not text:
        log = Path(host.log)
        text = "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""
    return f"--- last lines of {host.name}'s journal ---\n{text}"


def stop(host: HostState) -> None:
    if host.nspawn_pid is not None:
        # nspawn turns SIGTERM into an orderly shutdown of the guest's systemd.
        terminate(host.nspawn_pid, host.nspawn_started, grace=45)
