"""`vibn-mail verify DOMAIN…`: judge domains' DNS as Postal does, and as receivers do.

Thin: builds a resolver and the expected records from the options, calls the checks engine,
renders its results (table or JSON), exits 1 when a check fails.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from vibn_mail.checks import DomainCheckOptions, Status, check_domains
from vibn_mail.checks.results import CheckResult
from vibn_mail.cli.options import (
    AuthoritativeOpt,
    JsonOpt,
    NameserverOpt,
    NsPortOpt,
    StrictOpt,
    TimeoutOpt,
    build_resolver,
)
from vibn_mail.postal.domain_dns import PostalDomainDns

_STYLE = {
    Status.OK: "green",
    Status.WARN: "yellow",
    Status.UNKNOWN: "magenta",
    Status.MISSING: "red",
    Status.INVALID: "red",
}


def render(console: Console, title: str, results: Sequence[CheckResult]) -> None:
    table = Table(title=title, show_lines=False, expand=True)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("observed", overflow="fold")
    table.add_column("fix", overflow="fold")
    for r in results:
        table.add_row(
            r.check,
            f"[{_STYLE[r.status]}]{r.status.value}[/]",
            r.observed,
            r.fix if r.status is not Status.OK else "",
        )
    console.print(table)


def _load_expectations(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise typer.BadParameter(f"{path}: {e}", param_hint="--expect") from e
    if isinstance(data, list):
        data = {item.get("domain"): item for item in data if isinstance(item, dict)}
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path}: give a mapping domain → fields or a list of objects", param_hint="--expect")
    return {str(k): dict(v or {}) for k, v in data.items()}


def verify(
    domains: Annotated[list[str], typer.Argument(help="Domains to check.")],
    spf_include: Annotated[
        str | None, typer.Option(help="Postal's dns.spf_include, e.g. spf.postal.example.com")
    ] = None,
    return_path: Annotated[str | None, typer.Option(help="Postal's dns.return_path_domain")] = None,
    mx: Annotated[list[str] | None, typer.Option(help="Postal's dns.mx_records (repeatable)")] = None,
    dkim_name: Annotated[str | None, typer.Option(help="DKIM record name relative to the domain")] = None,
    dkim_record: Annotated[str | None, typer.Option(help="The DKIM TXT value Postal shows")] = None,
    verification_token: Annotated[str | None, typer.Option(help="Postal's verification token")] = None,
    expect: Annotated[Path | None, typer.Option(help="YAML/JSON: domain → PostalDomainDns fields")] = None,
    dmarc_rua: Annotated[str | None, typer.Option(help="Report address to put in a proposed DMARC record")] = None,
    nameserver: NameserverOpt = None,
    authoritative: AuthoritativeOpt = False,
    ns_port: NsPortOpt = 53,
    timeout: TimeoutOpt = 3.0,
    as_json: JsonOpt = False,
    strict: StrictOpt = False,
) -> None:
    """Check domains' SPF, DKIM, MX, return path, DMARC and more; exit 1 when any check fails."""
    per_domain = _load_expectations(expect) if expect else {}
    flags = {
        "spf_include": spf_include,
        "return_path_target": return_path,
        "dkim_record_name": dkim_name,
        "dkim_record": dkim_record,
        "verification_token": verification_token,
        "mx_records": tuple(mx) if mx else None,
    }
    expected = []
    for domain in domains:
        fields = {k: v for k, v in flags.items() if v is not None} | per_domain.get(domain, {}) | {"domain": domain}
        try:
            expected.append(PostalDomainDns.model_validate(fields))
        except ValidationError as e:
            names = ", ".join(".".join(str(p) for p in err["loc"]) for err in e.errors())
            raise typer.BadParameter(
                f"{domain}: missing or bad {names}; give them as options or in --expect", param_hint="DOMAIN"
            ) from e
    resolver = build_resolver(nameserver or [], authoritative, ns_port, timeout)
    reports = check_domains(expected, resolver, DomainCheckOptions(dmarc_rua=dmarc_rua))
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in reports], indent=2))
    else:
        console = Console()
        for report in reports:
            render(
                console,
                f"{report.domain}  (Postal usable: {'yes' if report.postal_usable else 'no'}; "
                f"bulk-sender ready: {'yes' if report.readiness.bulk_senders else 'no'})",
                report.results,
            )
    if any(r.fails(strict=strict) for report in reports for r in report.results):
        raise typer.Exit(1)
