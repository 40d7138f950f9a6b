"""Issue 4 end to end: the Postal stack and the firewall on sandbox hosts, in both proxy modes.

Host 1 is a "Coolify host" (Coolify's Traefik proxy on the `coolify` network); host 2 is a plain host
with our own Caddy. Each is converged, converged again (nothing may change), checked by the testinfra
suite, and probed from outside the way the Internet sees it.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import Deployed, sh
from tests.e2e.converge import converge, run_pytest
from tests.e2e.probes import https_status, smtp_banner, tcp_connect_scan
from vibn_mail.sandbox.machine import ssh
from vibn_mail.sandbox.state import SandboxState

pytestmark = pytest.mark.e2e

SECRETS = (
    "/opt/postal/config/signing.key",
    "/opt/postal/config/admin-api.token",
    "/opt/postal/secrets/db-password",
    "/opt/postal/secrets/rails-secret-key",
    "/opt/postal/secrets/admin-password",
)

MODES = ["coolify", "standalone"]


@pytest.mark.parametrize("mode", MODES)
def test_second_converge_changes_nothing(sandbox: SandboxState, stack: dict[str, Deployed], mode: str) -> None:
    d = stack[mode]
    again = converge(sandbox, d.host, **d.data)
    again.assert_ok()
    print(f"\nno-op converge of {d.host.name} ({mode}): {again.seconds:.1f} s")
    assert again.changed == [], f"second converge changed: {again.changed}"


@pytest.mark.parametrize("mode", MODES)
def test_testinfra_suite_passes_against_the_host(sandbox: SandboxState, stack: dict[str, Deployed], mode: str) -> None:
    d = stack[mode]
    proc = run_pytest(
        "tests/host",
        f"--hosts=ssh://{d.host.name}",
        f"--ssh-config={sandbox.ssh_config}",
        env={
            "VIBN_WEB_HOSTNAME": d.web_hostname,
            "VIBN_PROXY_MODE": mode,
            # Coolify's proxy publishes 8080 as on a real Coolify host; the firewall keeps it shut.
            "VIBN_PUBLIC_TCP_PORTS": "25,80,443,8080" if mode == "coolify" else "25,80,443",
        },
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout


@pytest.mark.parametrize("mode", MODES)
def test_an_outside_scan_finds_exactly_ssh_smtp_and_web(stack: dict[str, Deployed], mode: str) -> None:
    d = stack[mode]
    open_ports = tcp_connect_scan(d.host.ip)
    print(f"\nopen TCP ports on {d.host.name} ({mode}), IPv4: {sorted(open_ports)}")
    assert open_ports == {22, 25, 80, 443}
    # Said twice on purpose: these are the ports whose exposure would hurt.
    assert not open_ports & {3306, 5000, 5001, 8080, 9090, 9091}


@pytest.mark.parametrize("mode", MODES)
def test_an_outside_ipv6_scan_finds_ssh_and_web_only(stack: dict[str, Deployed], mode: str) -> None:
    """Over IPv6 Docker publishes through docker-proxy (input hook, not DNAT): the input policy must
    hold there too. Port 25 is published on IPv4 only, on purpose (docker-proxy would present IPv6
    senders as the gateway address, breaking SPF and reputation)."""
    d = stack[mode]
    assert d.host.ip6
    open_ports = tcp_connect_scan(d.host.ip6)
    print(f"\nopen TCP ports on {d.host.name} ({mode}), IPv6: {sorted(open_ports)}")
    assert open_ports == {22, 80, 443}


@pytest.mark.parametrize("mode", MODES)
def test_port_25_greets_with_postal_smtp_hostname(stack: dict[str, Deployed], mode: str) -> None:
    code, message = smtp_banner(stack[mode].host.ip)
    assert code == 220
    assert stack[mode].web_hostname in message


@pytest.mark.parametrize("mode", MODES)
def test_web_routes_to_postal_by_host_name(stack: dict[str, Deployed], mode: str) -> None:
    d = stack[mode]
    deadline = time.monotonic() + 60
    status = (0, "")
    while time.monotonic() < deadline:
        status = https_status(d.host.ip, d.web_hostname)
        if status[0] == 200:
            break
        time.sleep(1)
    assert status[0] == 200, f"https://{d.web_hostname}/login answered {status}"
    code, redirect = https_status(d.host.ip, d.web_hostname, scheme="http")
    assert code in (301, 302, 307, 308) and redirect.startswith(f"https://{d.web_hostname}")
    # Another name must not reach Postal.
    assert https_status(d.host.ip, "other.invalid")[0] != 200


def test_secrets_survive_a_redeploy_from_scratch(sandbox: SandboxState, stack: dict[str, Deployed]) -> None:
    d = stack["standalone"]
    fingerprint = f"sha256sum {' '.join(SECRETS)}"
    before = sh(sandbox, d.host, fingerprint)
    values = [sh(sandbox, d.host, f"cat {path}").strip() for path in SECRETS[1:]]
    # Wipe everything the deploy renders; only secrets stay. A redeploy must rebuild around them.
    sh(
        sandbox,
        d.host,
        "rm -f /opt/postal/config/postal.yml /opt/postal/docker-compose.yml /opt/postal/caddy/Caddyfile",
    )
    again = converge(sandbox, d.host, **d.data)
    again.assert_ok()
    assert sh(sandbox, d.host, fingerprint) == before
    for value in values:
        assert value and value not in again.output + d.first.output, "a secret appeared in pyinfra's output"


def test_a_firewall_that_locks_ssh_out_reverts_by_itself(sandbox: SandboxState, stack: dict[str, Deployed]) -> None:
    d = stack["standalone"]
    started = time.monotonic()
    locked = converge(sandbox, d.host, "deploys/firewall.py", **d.data, firewall_ssh_sources=["192.0.2.1/32"])
    assert locked.returncode != 0, "a rule set that shuts SSH out must not be confirmed"
    deadline = started + 180
    reverted_after = None
    while time.monotonic() < deadline:
        proc = ssh(sandbox, d.host, "true", timeout=10)
        if proc.returncode == 0:
            reverted_after = time.monotonic() - started
            break
        time.sleep(2)
    assert reverted_after is not None, "SSH did not come back within 3 minutes"
    print(f"\nlockout reverted {reverted_after:.0f} s after the deploy started")
    assert reverted_after < 120
    # The reverted host converges cleanly again and keeps SSH open.
    converge(sandbox, d.host, **d.data).assert_ok()
