"""Outbound 25 against a fake provider MX on loopback, and TLS probes against loopback servers."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.dns.knot import free_port
from tests.dns.servers import Certs, banner, https_handler, smtp_handler, tcp_server
from vibn_mail.checks.results import Status
from vibn_mail.checks.smtp_probe import (
    PROBE_SCRIPT,
    ProbeOutcome,
    judge_outbound_25,
    parse_probe_output,
    probe,
)
from vibn_mail.checks.tls import probe_tls

pytestmark = pytest.mark.dns


def both_probes(port: int, timeout: float) -> list[tuple[ProbeOutcome, Status]]:
    """The in-process probe and the script the doctor runs on hosts must agree."""
    out = []
    local = probe("127.0.0.1", port, timeout)
    script = subprocess.run(
        [sys.executable, "-c", PROBE_SCRIPT, "127.0.0.1", str(port), str(timeout)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    remote = parse_probe_output(script.stdout)
    for p in (local, remote):
        out.append((p.outcome, judge_outbound_25(p, "127.0.0.1", port, timeout).status))
    return out


def test_open_port_25_sends_a_banner() -> None:
    with tcp_server(banner) as port:
        assert both_probes(port, 2) == [(ProbeOutcome.BANNER, Status.OK)] * 2


def test_refused_is_not_reported_as_a_provider_filter() -> None:
    results = both_probes(free_port(), 2)
    assert results == [(ProbeOutcome.REFUSED, Status.INVALID)] * 2
    assert "firewall" in judge_outbound_25(probe("127.0.0.1", free_port(), 1), "h", 25, 1).fix


def test_silent_server_times_out_as_filtered() -> None:
    with tcp_server(None) as port:
        assert both_probes(port, 0.5) == [(ProbeOutcome.TIMEOUT, Status.INVALID)] * 2
        assert (
            "provider blocks outbound port 25" in judge_outbound_25(probe("127.0.0.1", port, 0.3), "h", port, 0.3).fix
        )


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(Path(tmp_path_factory.mktemp("certs")))


@pytest.mark.parametrize("starttls", [False, True], ids=["https", "starttls"])
def test_trusted_certificate_for_the_name_is_ok(certs: Certs, starttls: bool) -> None:
    ctx = certs.leaf("mail.postal.test")
    handler = smtp_handler(ctx) if starttls else https_handler(ctx)
    with tcp_server(handler) as port:
        result = probe_tls(
            "127.0.0.1", port, "mail.postal.test", starttls=starttls, timeout=3, cafile=str(certs.ca_file)
        )
    assert result.status is Status.OK, result.observed
    assert result.check == ("host.tls.starttls" if starttls else "host.tls.https")


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("wrong-name", "not valid for mail.postal.test"),
        ("expired", "expired"),
        ("self-signed", "not trusted"),
    ],
)
def test_bad_starttls_certificates_are_reported_with_the_reason(certs: Certs, kind: str, needle: str) -> None:
    ctx = {
        "wrong-name": lambda: certs.leaf("other.postal.test"),
        "expired": lambda: certs.leaf("mail.postal.test", expired=True),
        "self-signed": lambda: certs.leaf("mail.postal.test", self_signed=True),
    }[kind]()
    with tcp_server(smtp_handler(ctx)) as port:
        result = probe_tls("127.0.0.1", port, "mail.postal.test", starttls=True, timeout=3, cafile=str(certs.ca_file))
    assert result.status is (Status.WARN if kind == "self-signed" else Status.INVALID)
    assert needle in result.observed
    assert result.fix


def test_self_signed_https_is_invalid_but_starttls_only_warns(certs: Certs) -> None:
    ctx = certs.leaf("mail.postal.test", self_signed=True)
    with tcp_server(https_handler(ctx)) as port:
        https = probe_tls("127.0.0.1", port, "mail.postal.test", timeout=3, cafile=str(certs.ca_file))
    with tcp_server(smtp_handler(ctx)) as port:
        smtp = probe_tls("127.0.0.1", port, "mail.postal.test", starttls=True, timeout=3, cafile=str(certs.ca_file))
    assert https.status is Status.INVALID and "not trusted" in https.observed
    assert smtp.status is Status.WARN and "MTA-STS" in smtp.fix


def test_expiring_soon_is_a_warning(certs: Certs) -> None:
    with tcp_server(https_handler(certs.leaf("mail.postal.test", days=5))) as port:
        result = probe_tls("127.0.0.1", port, "mail.postal.test", timeout=3, cafile=str(certs.ca_file))
    assert result.status is Status.WARN


def test_no_starttls_offered_is_missing(certs: Certs) -> None:
    with tcp_server(smtp_handler(None)) as port:
        result = probe_tls("127.0.0.1", port, "mail.postal.test", starttls=True, timeout=3)
    assert result.status is Status.MISSING


def test_clock_decides_expiry(certs: Certs) -> None:
    with tcp_server(https_handler(certs.leaf("mail.postal.test", days=90))) as port:
        later = datetime.now(UTC) + timedelta(days=100)
        result = probe_tls("127.0.0.1", port, "mail.postal.test", timeout=3, cafile=str(certs.ca_file), now=later)
    assert result.status is Status.INVALID and "expired" in result.observed
