"""`up`, `down`, `status`: the sandbox's life cycle, written so that any failure leaves nothing behind."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vibn_mail.sandbox import aptproxy, machine, network, rootfs
from vibn_mail.sandbox.errors import SandboxError
from vibn_mail.sandbox.layout import (
    MAX_HOSTS,
    address_pool,
    choose_slot,
    host_layouts,
    sandbox_id,
    validate_name,
)
from vibn_mail.sandbox.processes import alive, terminate
from vibn_mail.sandbox.state import HostState, SandboxState, all_states, load, load_raw, state_dir
from vibn_mail.sandbox.system import preflight, run
from vibn_mail.templating import render

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def up(
    name: str,
    hosts: int = 1,
    *,
    boot_timeout: float = 180,
    images: bool = True,
    progress: Progress = _quiet,
) -> SandboxState:
    """Create the sandbox ``name`` with ``hosts`` booted guests. On any failure, tear down and re-raise."""
    preflight()
    validate_name(name)
    directory = state_dir(name)
    if (directory / "state.json").exists():
        raise SandboxError(
            f"sandbox {name!r} is already up",
            fix=f"use it (`vibn-mail sandbox status`), or `vibn-mail sandbox down --name {name}` first",
        )
    progress("root filesystem (cached after the first build)")
    golden = rootfs.ensure_golden()

    taken = network.networks_in_use() + [ipaddress.IPv4Network(s.slot) for s in all_states()]
    slot = choose_slot(name, address_pool(), taken)
    layouts = host_layouts(name, slot, hosts)
    directory.mkdir(parents=True, exist_ok=True)
    key = directory / "id_ed25519"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"vibn-sandbox-{name}", "-f", str(key)])
    state = SandboxState(
        name=name,
        id=sandbox_id(name),
        slot=str(slot),
        directory=str(directory),
        ssh_key=str(key),
        ssh_config=str(directory / "ssh_config"),
        proxy_port=aptproxy.PORT,
    )
    state.save()
    try:
        for lay in layouts:
            host = HostState(
                index=lay.index,
                name=lay.name,
                netns=lay.netns,
                veth_host=lay.veth_host,
                veth_guest=lay.veth_guest,
                host_address=str(lay.host_address),
                guest_address=str(lay.guest_address),
                host_address6=str(lay.host_address6),
                guest_address6=str(lay.guest_address6),
                rootfs=str(directory / "hosts" / lay.name / "rootfs"),
                log=str(directory / "hosts" / lay.name / "console.log"),
            )
            # Record before creating, so a failure half-way is still cleaned up by down().
            state.hosts.append(host)
            state.save()
            progress(f"{host.name}: network namespace {host.netns}, {host.ip}")
            network.create(lay)
            rootfs.fresh_copy(golden, Path(host.rootfs))
            machine.prepare_root(state, host)
        _write_ssh_config(state)

        for host in state.hosts:
            host.proxy_pid, host.proxy_started = aptproxy.start(directory, host)
            state.save()
            host.nspawn_pid, host.nspawn_started = machine.boot(host)
            state.save()
        for host in state.hosts:
            progress(f"{host.name}: booting")
            machine.wait_ready(state, host, boot_timeout)
        if images:
            from vibn_mail.sandbox import images as image_builds

            progress("container images (built once, then cached)")
            image_builds.load_all(state, progress=progress)
    except BaseException:
        # Ctrl-C included: a half-built sandbox must not outlive the command that made it.
        down(name)
        raise
    return state


def reboot(name: str, host_ref: str, *, boot_timeout: float = 180) -> HostState:
    """Power-cycle one host: an orderly shutdown of its systemd, then a fresh boot of the same root.

    Its namespace, address and disk stay, as a real machine's would: this is how tests prove that
    what a deploy set up (firewall, containers) comes back by itself.
    """
    preflight()
    state = load(name)
    host = state.host(host_ref)
    machine.stop(host)
    host.nspawn_pid, host.nspawn_started = machine.boot(host)
    state.save()
    machine.wait_ready(state, host, boot_timeout)
    return host


def _write_ssh_config(state: SandboxState) -> None:
    Path(state.ssh_config).write_text(
        render(
            "sandbox/ssh_config.j2",
            sandbox=state.name,
            path=state.ssh_config,
            key=state.ssh_key,
            hosts=state.hosts,
        )
    )


def down(name: str) -> None:
    """Remove every trace of the sandbox: guests, namespaces, veths, proxy, mounts, files. Idempotent."""
    preflight()
    directory = state_dir(name)
    try:
        state = load(name)
    except SandboxError:
        _salvage(name)
        shutil.rmtree(directory, ignore_errors=True)
        return
    for host in state.hosts:
        machine.stop(host)
    for host in state.hosts:
        if host.proxy_pid is not None:
            terminate(host.proxy_pid, host.proxy_started, grace=10)
        network.destroy(host.netns, host.veth_host)
    for target in _mounts_under(directory):
        run(["umount", "-l", target], check=False)
    shutil.rmtree(directory, ignore_errors=True)


def _salvage(name: str) -> None:
    """Clean up after a state file that no longer parses: everything it names, by id and pid."""
    raw = load_raw(name)
    hosts = raw.get("hosts") or []
    pids = [(raw.get("proxy_pid"), raw.get("proxy_started"))]
    for h in hosts if isinstance(hosts, list) else []:
        if isinstance(h, dict):
            pids += [
                (h.get("nspawn_pid"), h.get("nspawn_started")),
                (h.get("proxy_pid"), h.get("proxy_started")),
            ]
    for pid, started in pids:
        if isinstance(pid, int):
            terminate(pid, started if isinstance(started, int) else None, grace=30)
    sid = sandbox_id(name)
    for i in range(1, MAX_HOSTS + 1):
        network.destroy(f"vibn-{sid}-{i}", f"vb{sid}{i}h")
    for target in _mounts_under(state_dir(name)):
        run(["umount", "-l", target], check=False)


def _mounts_under(directory: Path) -> list[str]:
    out = run(["findmnt", "-rn", "-o", "TARGET"], check=False).stdout.splitlines()
    prefix = str(directory).rstrip("/") + "/"
    # Deepest first, so parents unmount after their children.
    return sorted((m for m in out if m.startswith(prefix)), key=len, reverse=True)


@dataclass(frozen=True)
class HostStatus:
    name: str
    index: int
    address: str
    running: bool
    systemd: str


def status(state: SandboxState) -> list[HostStatus]:
    out = []
    for host in state.hosts:
        running = host.nspawn_pid is not None and alive(host.nspawn_pid, host.nspawn_started)
        systemd = "stopped"
        if running:
            try:
                proc = machine.ssh(state, host, "systemctl is-system-running", timeout=10)
                systemd = proc.stdout.decode().strip() or "no answer"
            except subprocess.TimeoutExpired:
                systemd = "no answer"
        out.append(HostStatus(host.name, host.index, host.ip, running, systemd))
    return out
