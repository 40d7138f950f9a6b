"""`vibn-mail verify` and `vibn-mail doctor` end to end against Knot and a fake provider MX."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.dns.cases import DOMAIN_ZONE, IP_ZONE, MX, RETURN_PATH, SPF_INCLUDE, expected
from tests.dns.knot import Knot
from tests.dns.servers import banner, tcp_server
from vibn_mail.cli import app

pytestmark = pytest.mark.dns


def expectations(tmp_path: Path, *domains: str) -> Path:
    path = tmp_path / "expect.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                d: {
                    "dkim_record_name": expected(d).dkim_record_name,
                    "dkim_record": expected(d).dkim_record,
                    "verification_token": expected(d).verification_token,
                }
                for d in domains
            }
        )
    )
    return path


def verify(knot: Knot, tmp_path: Path, *args: str) -> tuple[int, str]:
    domains = [a for a in args if not a.startswith("-")]
    result = CliRunner().invoke(
        app,
        [
            "verify",
            *args,
            "--spf-include",
            SPF_INCLUDE,
            "--return-path",
            RETURN_PATH,
            "--mx",
            MX,
            "--expect",
            str(expectations(tmp_path, *domains)),
            "--nameserver",
            f"127.0.0.1:{knot.port}",
        ],
    )
    return result.exit_code, result.output


def test_verify_passing_domain_exits_zero(knot: Knot, tmp_path: Path) -> None:
    code, output = verify(knot, tmp_path, "good.test")
    assert code == 0, output
    assert "postal.dkim" in output and "Postal usable: yes" in output


def test_verify_failing_domain_exits_one_and_prints_the_fix(knot: Knot, tmp_path: Path) -> None:
    code, output = verify(knot, tmp_path, "good.test", "cli.test")
    assert code == 1
    assert "_dmarc.cli.test" in output and "v=DMARC1; p=none" in output


def test_verify_json(knot: Knot, tmp_path: Path) -> None:
    code, output = verify(knot, tmp_path, "cli.test", "--json")
    assert code == 1
    (report,) = json.loads(output)
    by_check = {r["check"]: r for r in report["results"]}
    assert by_check["dmarc.record"]["status"] == "missing"
    assert by_check["dmarc.record"]["changes"][0]["record"]["name"] == "_dmarc.cli.test"
    assert report["readiness"]["bulk_senders"] is False


def test_verify_names_what_is_missing() -> None:
    result = CliRunner().invoke(app, ["verify", "x.test", "--nameserver", "127.0.0.1"])
    assert result.exit_code == 2
    assert "spf_include" in result.output and "dkim_record" in result.output


def test_doctor_locally(knot: Knot) -> None:
    with tcp_server(banner) as mx_port:
        result = CliRunner().invoke(
            app,
            [
                "doctor",
                "--ipv4",
                "192.0.2.50",
                "--smtp-hostname",
                "mx50.postal.test",
                "--nameserver",
                f"127.0.0.1:{knot.port}",
                "--dnsbl-zone",
                IP_ZONE,
                "--dbl-zone",
                DOMAIN_ZONE,
                "--outbound-target",
                f"127.0.0.1:{mx_port}",
                "--tls-connect",
                "127.0.0.1",
                "--json",
            ],
        )
    assert result.exit_code == 1, result.output
    (report,) = json.loads(result.output)
    status = {r["check"]: r["status"] for r in report["results"]}
    assert status["host.ptr.ipv4"] == "invalid"
    assert status[f"host.dnsbl.{IP_ZONE}"] == "invalid"
    assert status[f"domain.dbl.{DOMAIN_ZONE}"] == "ok"
    assert status["host.outbound_25"] == "ok"
    # facts of this very machine: present whatever their value
    for check in ("host.firewall", "host.docker", "host.memory", "host.coolify", "host.postal_health"):
        assert check in status
    assert status["host.tls.starttls"] in ("unknown", "invalid")  # nothing serves mx50.postal.test here
