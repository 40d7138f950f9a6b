"""Issue 5 on a deployed host: `vibn-mail doctor inventory/sandbox.py` over SSH, with the host's PTR,
forward name and blocklist answers served by a test Knot, and a fake "large provider MX" on the build
machine's end of the host's link for the outbound-25 probe (run on the host itself)."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dns.knot import Knot, run_knot, zone_text
from tests.dns.servers import banner, tcp_server
from tests.e2e.conftest import Deployed
from vibn_mail import REPO_ROOT
from vibn_mail.dns.records import DnsRecord, RecordType
from vibn_mail.sandbox.state import SandboxState

pytestmark = pytest.mark.e2e

LISTED = "standalone"  # this host's IP is on the test blocklist; the other is clean


def _reverse(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer


@pytest.fixture(scope="module")
def knot(tmp_path_factory: pytest.TempPathFactory, stack: dict[str, Deployed]) -> Iterator[Knot]:
    forward, reverse, reverse6, zen = [], [], [], []
    for d in stack.values():
        assert d.host.ip6
        forward.append(DnsRecord(name=d.web_hostname, type=RecordType.A, content=d.host.ip))
        forward.append(DnsRecord(name=d.web_hostname, type=RecordType.AAAA, content=d.host.ip6))
        reverse.append(DnsRecord(name=_reverse(d.host.ip), type=RecordType.PTR, content=d.web_hostname))
        reverse6.append(DnsRecord(name=_reverse(d.host.ip6), type=RecordType.PTR, content=d.web_hostname))
    listed = stack[LISTED].host.ip
    zen.append(
        DnsRecord(
            name=f"{_reverse(listed).removesuffix('.in-addr.arpa')}.zen.test", type=RecordType.A, content="127.0.0.2"
        )
    )
    zones = {
        "test": zone_text("test", forward),
        "10.in-addr.arpa": zone_text("10.in-addr.arpa", reverse),
        # Sandbox links carry unique local IPv6 addresses (fd00::/8).
        "d.f.ip6.arpa": zone_text("d.f.ip6.arpa", reverse6),
        "zen.test": zone_text("zen.test", zen),
        "dbl.test": zone_text("dbl.test", []),
    }
    with run_knot(tmp_path_factory.mktemp("doctor-knot"), zones) as server:
        yield server


def _doctor(sandbox: SandboxState, d: Deployed, knot: Knot, mx_port: int) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "vibn_mail.cli",
            "doctor",
            "inventory/sandbox.py",
            "--json",
            "--limit",
            d.host.name,
            "--nameserver",
            f"{knot.host}:{knot.port}",
            "--dnsbl-zone",
            "zen.test",
            "--dbl-zone",
            "dbl.test",
            "--outbound-target",
            f"{d.host.gateway}:{mx_port}",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "VIBN_SANDBOX": sandbox.name},
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Exit code 1 is expected: a sandbox host has no trusted TLS certificate.
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    reports: list[dict[str, Any]] = json.loads(proc.stdout)
    assert [r["host"] for r in reports] == [d.host.name]
    return list(reports[0]["results"])


@pytest.mark.parametrize("mode", ["coolify", "standalone"])
def test_doctor_reports_the_deployed_host(
    sandbox: SandboxState, stack: dict[str, Deployed], knot: Knot, mode: str, tmp_path: Path
) -> None:
    d = stack[mode]
    with tcp_server(banner, bind=d.host.gateway) as mx_port:
        results = _doctor(sandbox, d, knot, mx_port)
    # IP checks run once per address: key them by (check, subject) where the subject is an address.
    by_check = {r["check"]: r for r in results if r["subject"] != d.host.ip6}
    by_check_v6 = {r["check"]: r for r in results if r["subject"] == d.host.ip6}
    print("\n" + "\n".join(f"{r['check']:<28} {r['status']:<8} {r['observed']}" for r in results))

    assert by_check["host.firewall"]["status"] == "ok"
    docker = by_check["host.docker"]
    assert docker["status"] == "ok" and "20.10" in docker["observed"] and "compose" in docker["observed"]
    assert by_check["host.postal_health"]["status"] == "ok"
    assert by_check["host.outbound_25"]["status"] == "ok"
    assert by_check["host.ptr.ipv4"]["status"] == "ok"
    assert by_check_v6["host.ptr.ipv6"]["status"] == "ok"
    assert by_check_v6["host.dnsbl.zen.test"]["status"] == "ok"
    assert by_check["host.memory"]["status"] in ("ok", "warn")
    coolify = by_check["host.coolify"]["observed"].lower()
    assert ("not" not in coolify) if mode == "coolify" else ("not" in coolify)
    # STARTTLS is offered with the deploy's self-signed certificate: fine for opportunistic TLS, a warning.
    assert by_check["host.tls.starttls"]["status"] == "warn"
    assert "self-signed" in by_check["host.tls.starttls"]["observed"]
    zen = by_check["host.dnsbl.zen.test"]
    if mode == LISTED:
        assert zen["status"] == "invalid" and zen["fix"]
    else:
        assert zen["status"] == "ok"
