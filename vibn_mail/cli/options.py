"""Options `verify` and `doctor` share, and the resolver they build from them: one spelling, one meaning."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from vibn_mail.checks import Resolver

NameserverOpt = Annotated[list[str] | None, typer.Option(help="Ask this server (IP[:PORT]), repeatable")]
AuthoritativeOpt = Annotated[bool, typer.Option(help="Ask each name's own nameservers, like Postal")]
NsPortOpt = Annotated[int, typer.Option(help="Port of the authoritative servers")]
TimeoutOpt = Annotated[float, typer.Option(help="Seconds per DNS lookup")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables")]
StrictOpt = Annotated[bool, typer.Option(help="Also fail on warn and unknown")]


def build_resolver(nameservers: Sequence[str], authoritative: bool, ns_port: int, timeout: float) -> Resolver:
    """``--nameserver IP[:PORT]`` (one port for all), else the system's; ``--authoritative`` on top."""
    if nameservers:
        ips, ports = [], set()
        for ns in nameservers:
            host, sep, port = ns.rpartition(":") if ns.count(":") == 1 else ("", "", "")
            ips.append(host if sep else ns)
            ports.add(int(port) if sep and port.isdigit() else 53)
        if len(ports) > 1:
            raise typer.BadParameter("all --nameserver values must use the same port", param_hint="--nameserver")
        base = Resolver.given(ips, port=ports.pop(), timeout=timeout)
    else:
        base = Resolver.system(timeout=timeout)
    return Resolver.authoritative(base, port=ns_port, timeout=timeout) if authoritative else base
