"""`vibn-mail sandbox …`: real Debian test hosts on this machine."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vibn_mail.sandbox import manager, state
from vibn_mail.sandbox.errors import SandboxError
from vibn_mail.sandbox.machine import ssh_args

app = typer.Typer(help="Real Debian test hosts (systemd-nspawn in network namespaces) on this machine.")
err = Console(stderr=True)
# soft_wrap: commands and paths printed for copy-paste must not be folded at 80 columns.
out = Console(soft_wrap=True)

NameOpt = Annotated[
    str | None, typer.Option("--name", "-n", help="sandbox name (default: $VIBN_SANDBOX, else the only one)")
]


def _fail(exc: SandboxError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc.message}")
    if exc.fix:
        err.print(f"[bold]fix:[/] {exc.fix}")
    if exc.detail:
        err.print(exc.detail, markup=False, highlight=False)
    return typer.Exit(1)


@app.command()
def up(
    hosts: Annotated[int, typer.Option("--hosts", help="how many hosts (1-8)")] = 1,
    name: Annotated[str | None, typer.Option("--name", "-n", help="sandbox name")] = None,
    boot_timeout: Annotated[float, typer.Option(help="seconds to wait for each host to boot")] = 180,
    images: Annotated[bool, typer.Option(help="build and load the local container images")] = True,
) -> None:
    """Boot HOSTS Debian hosts, each with sshd, nftables and Docker, in its own network namespace."""
    name = name or os.environ.get("VIBN_SANDBOX") or "default"
    started = time.monotonic()
    try:
        st = manager.up(
            name,
            hosts,
            boot_timeout=boot_timeout,
            images=images,
            progress=lambda m: err.print(f"[dim]…[/] {m}"),
        )
    except SandboxError as exc:
        raise _fail(exc) from None
    err.print(f"sandbox [bold]{st.name}[/] up in {time.monotonic() - started:.1f} s")
    _print_hosts(st)


def _print_hosts(st: state.SandboxState) -> None:
    table = Table(title=f"sandbox {st.name} (id {st.id}, {st.slot})")
    for col in ("#", "host", "address", "netns"):
        table.add_column(col)
    for h in st.hosts:
        table.add_row(str(h.index), h.name, h.ip, h.netns)
    out.print(table)
    out.print(f"ssh:       vibn-mail sandbox ssh --name {st.name} 1   (or ssh -F {st.ssh_config} {st.hosts[0].name})")
    out.print(f"pyinfra:   VIBN_SANDBOX={st.name} pyinfra inventory/sandbox.py deploys/…")
    out.print(f"testinfra: pytest tests/host --hosts=ssh://{st.hosts[0].name} --ssh-config={st.ssh_config}")


@app.command()
def status(
    name: NameOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show sandboxes and whether their hosts are running."""
    try:
        states = [state.resolve(name)] if name or os.environ.get("VIBN_SANDBOX") else state.all_states()
    except SandboxError as exc:
        raise _fail(exc) from None
    report = [
        {
            "name": st.name,
            "id": st.id,
            "ssh_config": st.ssh_config,
            "hosts": [vars(h) for h in manager.status(st)],
        }
        for st in states
    ]
    if as_json:
        out.print_json(json.dumps(report))
        return
    if not states:
        out.print("no sandbox is up")
        return
    for st, rep in zip(states, report, strict=True):
        table = Table(title=f"sandbox {st.name} (id {st.id}, {st.slot})")
        for col in ("#", "host", "address", "running", "systemd"):
            table.add_column(col)
        for h in manager.status(st):
            table.add_row(str(h.index), h.name, h.address, "yes" if h.running else "no", h.systemd)
        out.print(table)
        del rep


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def ssh(
    host: Annotated[str, typer.Argument(help="host name or 1-based index")],
    command: Annotated[list[str] | None, typer.Argument(help="command to run (after --)")] = None,
    name: NameOpt = None,
) -> None:
    """Open a shell on HOST, or run COMMAND there: `vibn-mail sandbox ssh 1 -- systemctl status`."""
    try:
        st = state.resolve(name)
        target = st.host(host)
    except SandboxError as exc:
        raise _fail(exc) from None
    args = ssh_args(st, target, *(command or []))
    if not command and sys.stdin.isatty():
        args.insert(1, "-t")
    sys.stdout.flush()
    os.execvp(args[0], args)


@app.command()
def reboot(
    host: Annotated[str, typer.Argument(help="host name or 1-based index")],
    name: NameOpt = None,
) -> None:
    """Shut HOST down and boot it again (same disk, same address)."""
    try:
        started = time.monotonic()
        rebooted = manager.reboot(state.resolve_name(name), host)
    except SandboxError as exc:
        raise _fail(exc) from None
    err.print(f"{rebooted.name} rebooted in {time.monotonic() - started:.1f} s")


@app.command()
def down(name: NameOpt = None) -> None:
    """Stop the hosts and remove everything the sandbox created."""
    try:
        resolved = state.resolve_name(name)
        manager.down(resolved)
    except SandboxError as exc:
        raise _fail(exc) from None
    err.print(f"sandbox [bold]{resolved}[/] is down")


@app.command()
def demo() -> None:
    """Boot the `demo` sandbox as a Coolify host, deploy the whole stack, and show what runs where."""
    from vibn_mail.sandbox import demo as demo_run

    try:
        report = demo_run.run(progress=lambda m: err.print(f"[dim]…[/] {m}"))
    except SandboxError as exc:
        raise _fail(exc) from None
    st, host = report.state, report.state.hosts[0]
    ssh_cmd = f"vibn-mail sandbox ssh --name {st.name} 1"
    out.print(f"\n[bold]Postal on {host.name}[/] ({host.ip}), deployed in {report.deploy_seconds:.0f} s")
    out.print(report.containers, markup=False, highlight=False)
    out.print(
        f"web (Coolify's Traefik): curl -k --resolve {report.web_hostname}:443:{host.ip} "
        f"https://{report.web_hostname}/login"
    )
    out.print(f"smtp:                     {host.ip}:25   (try: nc {host.ip} 25)")
    out.print(
        "admin login:              ops@" + host.name + ".test, password: "
        f"{ssh_cmd} -- cat /opt/postal/secrets/admin-password"
    )
    out.print(f"firewall:                 {ssh_cmd} -- nft list table inet vibn_mail")
    out.print(
        f"host checks:              VIBN_WEB_HOSTNAME={report.web_hostname} VIBN_PUBLIC_TCP_PORTS=25,80,443,8080 "
        f".venv/bin/pytest tests/host --hosts=ssh://{host.name} --ssh-config={st.ssh_config}"
    )
    out.print(f"deploy log:               {report.log}")
    out.print("remove it all:            make demo-down")


@app.command()
def images(name: NameOpt = None) -> None:
    """Build the local container images (MariaDB, Caddy, Traefik, Postal stand-in) and load them."""
    from vibn_mail.sandbox import images as image_builds

    try:
        st = state.resolve(name)
        image_builds.load_all(st, progress=lambda m: err.print(f"[dim]…[/] {m}"))
    except SandboxError as exc:
        raise _fail(exc) from None
