"""A host's own network: a namespace and a veth pair with a private /30 (sandbox-hosts.md §2)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from vibn_mail.sandbox.layout import HostLayout
from vibn_mail.sandbox.system import run


def networks_in_use() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network the build machine already has an address or a route in."""
    out: list[ipaddress.IPv4Network] = []
    for line in run(["ip", "-4", "-o", "addr", "show"]).stdout.splitlines():
        fields = line.split()
        if "inet" in fields:
            out.append(ipaddress.IPv4Interface(fields[fields.index("inet") + 1]).network)
    for line in run(["ip", "-4", "route", "show", "table", "all"]).stdout.splitlines():
        dest = line.split()[0] if line.split() else ""
        if dest in ("default", "broadcast", "local", "unreachable", "blackhole", "prohibit"):
            continue
        try:
            out.append(ipaddress.IPv4Network(dest, strict=False))
        except ValueError:
            continue
    # The whole Internet's default route is not a conflict; our pool is private.
    return [n for n in out if n.prefixlen > 0]


def netns_exists(name: str) -> bool:
    return Path("/run/netns", name).exists()


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def create(host: HostLayout) -> None:
    ns = host.netns
    run(["ip", "netns", "add", ns])
    run(["ip", "link", "add", host.veth_host, "type", "veth", "peer", "name", host.veth_guest, "netns", ns])
    run(["ip", "addr", "add", str(host.host_address), "dev", host.veth_host])
    run(["ip", "link", "set", host.veth_host, "up"])
    run(["ip", "-n", ns, "addr", "add", str(host.guest_address), "dev", host.veth_guest])
    run(["ip", "-n", ns, "link", "set", host.veth_guest, "up"])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    # IPv6 too, so the firewall's IPv6 half is tested with real packets; nodad: usable at once.
    run(["ip", "-6", "addr", "add", str(host.host_address6), "dev", host.veth_host, "nodad"])
    run(["ip", "-n", ns, "-6", "addr", "add", str(host.guest_address6), "dev", host.veth_guest, "nodad"])
    # nspawn mounts /proc/sys read-only in the guest, and dockerd refuses to start unless it can turn
    # forwarding on; net.* sysctls belong to the namespace, so set them from outside instead.
    for key in ("net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"):
        run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{key}=1"])


def destroy(netns: str, veth_host: str) -> None:
    """Remove the namespace (which takes the guest end, and so the pair, with it) and any stray end."""
    if netns_exists(netns):
        run(["ip", "netns", "delete", netns])
    if link_exists(veth_host):
        run(["ip", "link", "delete", veth_host], check=False)
