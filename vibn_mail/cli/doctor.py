"""`vibn-mail doctor [INVENTORY]`: preflight of mail hosts, over SSH from a pyinfra inventory or locally."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from vibn_mail.checks.dnsbl import DEFAULT_DOMAIN_ZONES, DEFAULT_IP_ZONES
from vibn_mail.checks.results import HostReport
from vibn_mail.cli.options import (
    AuthoritativeOpt,
    JsonOpt,
    NameserverOpt,
    NsPortOpt,
    StrictOpt,
    TimeoutOpt,
    build_resolver,
)
from vibn_mail.cli.verify import render
from vibn_mail.doctor import (
    DoctorSettings,
    HostCheckConfig,
    LocalRunner,
    SshRunner,
    SshTarget,
    load_inventory,
    run_doctor,
)
from vibn_mail.doctor.inventory import InventoryError
from vibn_mail.doctor.runner import CommandRunner


def doctor(
    inventory: Annotated[Path | None, typer.Argument(help="pyinfra inventory file; omit to check this machine")] = None,
    limit: Annotated[list[str] | None, typer.Option(help="Only these inventory hosts (repeatable)")] = None,
    ipv4: Annotated[str | None, typer.Option(help="Local mode: the sending IPv4")] = None,
    ipv6: Annotated[str | None, typer.Option(help="Local mode: the sending IPv6")] = None,
    smtp_hostname: Annotated[str | None, typer.Option(help="Local mode: Postal's smtp_hostname (HELO)")] = None,
    web_hostname: Annotated[str | None, typer.Option(help="Local mode: Postal's web_hostname")] = None,
    health_url: Annotated[list[str] | None, typer.Option(help="Local mode: health URL (repeatable)")] = None,
    dnsbl_zone: Annotated[list[str] | None, typer.Option(help="IP blocklist zone (repeatable)")] = None,
    dbl_zone: Annotated[list[str] | None, typer.Option(help="Domain blocklist zone (repeatable)")] = None,
    outbound_target: Annotated[str | None, typer.Option(help="host:port to probe instead of gmail.com's MX")] = None,
    cafile: Annotated[str | None, typer.Option(help="CA bundle for the TLS probes")] = None,
    tls_connect: Annotated[str | None, typer.Option(help="Address the TLS probes connect to")] = None,
    nameserver: NameserverOpt = None,
    authoritative: AuthoritativeOpt = False,
    ns_port: NsPortOpt = 53,
    timeout: TimeoutOpt = 3.0,
    as_json: JsonOpt = False,
    strict: StrictOpt = False,
) -> None:
    """Check hosts: firewall table, Docker, disk, memory, Postal health, port 25, PTR, blocklists, TLS."""
    config = HostCheckConfig(
        ip_zones=tuple(dnsbl_zone or DEFAULT_IP_ZONES),
        domain_zones=tuple(dbl_zone or DEFAULT_DOMAIN_ZONES),
        tls_cafile=cafile,
    )
    resolver = build_resolver(nameserver or [], authoritative, ns_port, timeout)
    targets: list[tuple[str, DoctorSettings, CommandRunner]] = []
    try:
        if inventory is None:
            settings = DoctorSettings(
                public_ipv4=ipv4,
                public_ipv6=ipv6,
                smtp_hostname=smtp_hostname,
                web_hostname=web_hostname,
                doctor_health_urls=health_url or [],
                doctor_outbound_25_target=outbound_target,
                doctor_tls_connect_address=tls_connect,
            )
            targets.append(("localhost", settings, LocalRunner()))
        else:
            for host in load_inventory(inventory):
                if limit and host.name not in limit:
                    continue
                overrides = {"doctor_outbound_25_target": outbound_target, "doctor_tls_connect_address": tls_connect}
                data = host.data | {k: v for k, v in overrides.items() if v}
                targets.append(
                    (
                        host.name,
                        DoctorSettings.from_host_data(data),
                        SshRunner(SshTarget.from_host_data(host.name, host.data)),
                    )
                )
    except InventoryError as e:
        raise typer.BadParameter(str(e), param_hint="INVENTORY") from e
    except ValidationError as e:
        raise typer.BadParameter(str(e), param_hint="INVENTORY") from e
    if not targets:
        raise typer.BadParameter(f"no host matches --limit {limit}", param_hint="--limit")
    reports: list[HostReport] = [run_doctor(name, s, runner, resolver, config) for name, s, runner in targets]
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in reports], indent=2))
    else:
        console = Console()
        for report in reports:
            render(console, f"host {report.host}", report.results)
    if any(r.fails(strict=strict) for report in reports for r in report.results):
        raise typer.Exit(1)
