"""The host doctor: facts gathered through a command runner, DNS and TLS judged by the checks engine.

Commands run on the host (firewall, Docker, disk, Postal health, outbound 25 from the host's own
network); DNS questions (PTR, blocklists) go through the given resolver and TLS probes connect from
where the doctor runs, as a sending MTA or browser would.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vibn_mail.checks import dnsbl
from vibn_mail.checks.ptr import check_fcrdns
from vibn_mail.checks.resolver import Resolver
from vibn_mail.checks.results import CheckResult, HostReport, Status
from vibn_mail.checks.smtp_probe import (
    DEFAULT_PROVIDER,
    PROBE_SCRIPT,
    judge_outbound_25,
    parse_probe_output,
    provider_mx,
)
from vibn_mail.checks.tls import probe_tls
from vibn_mail.doctor import facts
from vibn_mail.doctor.runner import CommandRunner

MIN_FREE_DISK_KB = 2 * 1024 * 1024
WARN_FREE_DISK_KB = 10 * 1024 * 1024
MIN_MEMORY_KB = 2 * 1024 * 1024
MIN_AVAILABLE_KB = 256 * 1024


class DoctorSettings(BaseModel):
    """What the doctor needs to know about a host, read from its pyinfra data (other keys ignored).

    The keys are the deploy's own (deploys/config.py: web_hostname, smtp_hostname, dns_helo_hostname,
    compose_project, public_ipv4/6); keys only the doctor reads start with ``doctor_``, a prefix the
    deploy's settings model leaves alone.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    smtp_hostname: str | None = None
    dns_helo_hostname: str | None = None
    web_hostname: str | None = None
    public_ipv4: str | None = None
    public_ipv6: str | None = None
    doctor_health_urls: list[str] = Field(default_factory=list)
    compose_project: str = "postal"
    #: ``host:port`` to probe instead of the provider's MX (tests, or a provider that blocks probes).
    doctor_outbound_25_target: str | None = None
    #: Where TLS probes connect (default: public_ipv4, else the hostname itself).
    doctor_tls_connect_address: str | None = None

    @property
    def smtp_host(self) -> str | None:
        """As the deploy: smtp_hostname defaults to web_hostname."""
        return self.smtp_hostname or self.web_hostname

    @property
    def helo(self) -> str | None:
        return self.dns_helo_hostname or self.smtp_host

    @classmethod
    def from_host_data(cls, data: Mapping[str, Any]) -> DoctorSettings:
        return cls.model_validate(dict(data))


class HostCheckConfig(BaseModel):
    """Choices of the run, shared by all hosts: blocklist zones, probe target, timeouts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ip_zones: tuple[str, ...] = dnsbl.DEFAULT_IP_ZONES
    domain_zones: tuple[str, ...] = dnsbl.DEFAULT_DOMAIN_ZONES
    reverse_v4_zone: str = "in-addr.arpa"
    reverse_v6_zone: str = "ip6.arpa"
    provider: str = DEFAULT_PROVIDER
    probe_timeout: float = 8.0
    tls_timeout: float = 10.0
    tls_cafile: str | None = None
    command_timeout: float = 30.0


def _result(check: str, subject: str, status: Status, observed: str, expected: str, fix: str = "") -> CheckResult:
    return CheckResult(check=check, subject=subject, status=status, observed=observed, expected=expected, fix=fix)


def check_firewall(fact: facts.FirewallTable, host: str) -> CheckResult:
    family, table = facts.FIREWALL_TABLE
    expected = f"nftables table {family} {table} loaded"
    if fact.present:
        observed = f"table {family} {table}: chains {', '.join(fact.chains) or 'none'}; {fact.rules} rules"
        return _result("host.firewall", host, Status.OK, observed, expected)
    if fact.error:
        return _result(
            "host.firewall",
            host,
            Status.UNKNOWN,
            f"nft failed: {fact.error}",
            expected,
            "Run the doctor as root (nft needs CAP_NET_ADMIN) and check nftables is installed.",
        )
    return _result(
        "host.firewall",
        host,
        Status.MISSING,
        f"no table {family} {table}",
        expected,
        "Apply the firewall deploy (deploys/firewall.py) to this host.",
    )


def check_docker(fact: facts.DockerVersions, host: str) -> CheckResult:
    expected = "a running Docker engine and Compose (docker compose v2 or docker-compose v1)"
    if fact.server is None:
        return _result(
            "host.docker",
            host,
            Status.MISSING,
            fact.error or "no Docker engine",
            expected,
            "Install Docker (Coolify hosts have it) and start the daemon.",
        )
    observed = f"engine {fact.server}, client {fact.client}"
    if fact.compose is None:
        return _result(
            "host.docker",
            host,
            Status.INVALID,
            f"{observed}; no Compose",
            expected,
            "Install the Compose plugin (docker-compose-plugin) or docker-compose.",
        )
    return _result(
        "host.docker", host, Status.OK, f"{observed}; compose {fact.compose} ({fact.compose_kind})", expected
    )


def check_disk(fss: list[facts.Filesystem], host: str) -> list[CheckResult]:
    expected = f"at least {WARN_FREE_DISK_KB // 1024 // 1024} GiB free"
    if not fss:
        return [_result("host.disk", host, Status.UNKNOWN, "df gave no output", expected, "Check df on the host.")]
    out = []
    for fs in fss:
        observed = f"{fs.mount}: {fs.avail_kb / 1024 / 1024:.1f} GiB free of {fs.size_kb / 1024 / 1024:.1f} GiB"
        if fs.avail_kb < MIN_FREE_DISK_KB:
            status, fix = (
                Status.INVALID,
                "Free space now: MariaDB and the message queue stop when the disk fills.",
            )
        elif fs.avail_kb < WARN_FREE_DISK_KB:
            status, fix = Status.WARN, "Plan more space (prune old images, grow the volume)."
        else:
            status, fix = Status.OK, ""
        out.append(_result(f"host.disk.{fs.mount}", host, status, observed, expected, fix))
    return out


def check_memory(mem: facts.Memory, host: str) -> CheckResult:
    expected = f"at least {MIN_MEMORY_KB // 1024 // 1024} GiB RAM, {MIN_AVAILABLE_KB // 1024} MiB available"
    if mem.total_kb is None or mem.available_kb is None:
        return _result("host.memory", host, Status.UNKNOWN, "unreadable /proc/meminfo", expected, "Check the host.")
    observed = f"{mem.available_kb / 1024:.0f} MiB available of {mem.total_kb / 1024:.0f} MiB"
    if mem.available_kb < MIN_AVAILABLE_KB:
        return _result(
            "host.memory",
            host,
            Status.INVALID,
            observed,
            expected,
            "Stop what uses the memory or add RAM: Postal's workers are killed under pressure.",
        )
    if mem.total_kb < MIN_MEMORY_KB:
        return _result(
            "host.memory",
            host,
            Status.WARN,
            observed,
            expected,
            "Postal, MariaDB and Coolify together want 2 GiB or more.",
        )
    return _result("host.memory", host, Status.OK, observed, expected)


def check_coolify(evidence: tuple[str, ...], host: str) -> CheckResult:
    observed = f"detected ({', '.join(evidence)})" if evidence else "not detected (standalone proxy mode)"
    return _result("host.coolify", host, Status.OK, observed, "informational: Coolify present or not")


def check_postal_health(fact: facts.PostalHealth, host: str, project: str) -> CheckResult:
    expected = f"compose project {project}: every container running, none unhealthy; health URLs answer 2xx"
    if not fact.containers and not fact.urls:
        return _result(
            "host.postal_health",
            host,
            Status.MISSING,
            f"no containers of project {project}",
            expected,
            "Deploy the Postal stack (deploys/postal.py), or set compose_project.",
        )
    parts, worst = [], Status.OK
    for c in fact.containers:
        parts.append(f"{c.service} {c.state}{f' ({c.health})' if c.health else ''}")
        one_shot = c.state == "exited" and c.service == "runner"
        if (c.state != "running" and not one_shot) or c.health == "unhealthy":
            worst = Status.INVALID
        elif c.health == "health: starting" and worst is Status.OK:
            worst = Status.WARN
    for url, code in sorted(fact.urls.items()):
        parts.append(f"{url} → {code}")
        if not code.startswith("2"):
            worst = Status.INVALID
    fix = "" if worst is Status.OK else f"Look at `docker compose -p {project} logs` for the failing services."
    return _result("host.postal_health", host, worst, "; ".join(parts), expected, fix)


def run_doctor(
    name: str, settings: DoctorSettings, runner: CommandRunner, resolver: Resolver, config: HostCheckConfig
) -> HostReport:
    """Every host check for one host, in a fixed order."""
    t = config.command_timeout

    def fact(command: str, process: Callable[[Any], Any]) -> Any:
        return process(runner.run(command, t))

    results: list[CheckResult] = [
        check_firewall(fact(facts.firewall_command(), facts.firewall_process), name),
        check_docker(fact(facts.DOCKER_COMMAND, facts.docker_process), name),
        *check_disk(fact(facts.DISK_COMMAND, facts.disk_process), name),
        check_memory(fact(facts.MEMORY_COMMAND, facts.memory_process), name),
        check_coolify(fact(facts.COOLIFY_COMMAND, facts.coolify_process), name),
        check_postal_health(
            fact(
                facts.postal_health_command(settings.compose_project, settings.doctor_health_urls),
                facts.postal_health_process,
            ),
            name,
            settings.compose_project,
        ),
        outbound_25(settings, runner, resolver, config),
    ]
    helo = settings.helo
    for ip in (settings.public_ipv4, settings.public_ipv6):
        if ip is None:
            continue
        if helo is not None:
            results.append(
                check_fcrdns(ip, helo, resolver, v4_zone=config.reverse_v4_zone, v6_zone=config.reverse_v6_zone)
            )
        results += dnsbl.check_ip(ip, resolver, config.ip_zones)
    if helo is not None and helo.count(".") >= 2:
        results += dnsbl.check_domain_listing(helo.split(".", 1)[1], resolver, config.domain_zones)
    connect = settings.doctor_tls_connect_address or settings.public_ipv4
    if settings.web_hostname:
        results.append(
            probe_tls(
                connect or settings.web_hostname,
                443,
                settings.web_hostname,
                timeout=config.tls_timeout,
                cafile=config.tls_cafile,
            )
        )
    if settings.smtp_host:
        results.append(
            probe_tls(
                connect or settings.smtp_host,
                25,
                settings.smtp_host,
                starttls=True,
                timeout=config.tls_timeout,
                cafile=config.tls_cafile,
            )
        )
    return HostReport(host=name, results=tuple(results))


def outbound_25(
    settings: DoctorSettings, runner: CommandRunner, resolver: Resolver, config: HostCheckConfig
) -> CheckResult:
    """Probe from the host itself: only its own network shows the provider's filter."""
    if settings.doctor_outbound_25_target:
        host, _, port_text = settings.doctor_outbound_25_target.rpartition(":")
        if not host or not port_text.isdigit():
            raise ValueError(
                f"doctor_outbound_25_target {settings.doctor_outbound_25_target!r}: write host:port, e.g. mx.example:25"
            )
        port = int(port_text)
    else:
        found = provider_mx(resolver, config.provider)
        if found is None:
            return _result(
                "host.outbound_25",
                runner.name,
                Status.UNKNOWN,
                f"no MX found for {config.provider}",
                f"a 220 banner from {config.provider}'s MX",
                "Check the resolver, or set doctor_outbound_25_target.",
            )
        host, port = found, 25
    command = " ".join(
        ["python3", "-c", shlex.quote(PROBE_SCRIPT), shlex.quote(host), str(port), str(config.probe_timeout)]
    )
    out = runner.run(command, config.probe_timeout + config.command_timeout)
    if out.exit_code != 0:
        return _result(
            "host.outbound_25",
            f"{host}:{port}",
            Status.UNKNOWN,
            f"probe did not run (exit {out.exit_code}): {out.stderr.strip()[:200]}",
            "a 220 banner from a large provider's MX",
            "Install python3 on the host and re-run.",
        )
    return judge_outbound_25(parse_probe_output(out.stdout), host, port, config.probe_timeout)
