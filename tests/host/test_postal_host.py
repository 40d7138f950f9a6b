"""testinfra suite for a host deployed with deploys/all.py.

    pytest tests/host --hosts=ssh://HOST --ssh-config=FILE

Put ``StrictHostKeyChecking no`` / ``UserKnownHostsFile /dev/null`` in the ssh_config file for
throwaway hosts (testinfra ignores --ssh-extra-args). Without ``--hosts`` every test is skipped, so a
plain ``pytest`` never inspects the machine it runs on.

What the suite cannot guess comes from environment variables (defaults in brackets):
- ``VIBN_WEB_HOSTNAME`` [postal.example.com]: the Host Postal web answers to;
- ``VIBN_PROXY_MODE`` [coolify]: ``coolify`` or ``standalone`` (whether our Caddy must run);
- ``VIBN_POSTAL_ROOT`` [/opt/postal], ``VIBN_COMPOSE_PROJECT`` [postal];
- ``VIBN_SSH_PORT`` [22];
- ``VIBN_PUBLIC_TCP_PORTS`` [25,80,443]: ports besides SSH that may listen on public addresses
  (add e.g. 8000,8080,6001,6002 on a real Coolify host);
- ``VIBN_SMTP_TLS`` [1]: ``0`` for a host deployed with ``smtp_tls=False`` (no STARTTLS checks).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

WEB_HOSTNAME = os.environ.get("VIBN_WEB_HOSTNAME", "postal.example.com")
PROXY_MODE = os.environ.get("VIBN_PROXY_MODE", "coolify")
ROOT = os.environ.get("VIBN_POSTAL_ROOT", "/opt/postal")
PROJECT = os.environ.get("VIBN_COMPOSE_PROJECT", "postal")
SSH_PORT = int(os.environ.get("VIBN_SSH_PORT", "22"))
PUBLIC_PORTS = {int(p) for p in os.environ.get("VIBN_PUBLIC_TCP_PORTS", "25,80,443").split(",") if p}
SMTP_TLS = os.environ.get("VIBN_SMTP_TLS", "1") != "0"
POSTAL_UID = 999
HEALTHCHECKED = ("mariadb", "web", "smtp", "worker")
INTERNAL_PORTS = (3306, 5000, 5001, 9090, 9091)


@pytest.fixture(autouse=True)
def _only_against_a_named_host(request: pytest.FixtureRequest) -> None:
    if not request.config.getoption("hosts", None):
        pytest.skip("host suite: pass --hosts=ssh://… (never runs against the local machine)")


def _containers(host: Any) -> dict[str, str]:
    fmt = '{{.Label "com.docker.compose.service"}}\t{{.Status}}'
    out = host.check_output(f"docker ps --filter label=com.docker.compose.project={PROJECT} --format '{fmt}'")
    return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)


def _container_id(host: Any, service: str) -> str:
    cid: str = host.check_output(
        f"docker ps -q --filter label=com.docker.compose.project={PROJECT} "
        f"--filter label=com.docker.compose.service={service}"
    )
    assert cid, f"no running container for {service}"
    return cid.splitlines()[0]


def test_stack_containers_running_and_healthy(host: Any) -> None:
    containers = _containers(host)
    expected = [*HEALTHCHECKED, "admin-api"] + (["caddy"] if PROXY_MODE == "standalone" else [])
    for service in expected:
        assert containers.get(service, "").startswith("Up"), f"{service}: {containers.get(service)}"
    for service in HEALTHCHECKED:
        assert "(healthy)" in containers[service], f"{service}: {containers[service]}"


def test_public_ports_listen(host: Any) -> None:
    for port in (SSH_PORT, 25, 80, 443):
        assert host.socket(f"tcp://0.0.0.0:{port}").is_listening or host.socket(f"tcp://:::{port}").is_listening, port


def test_nothing_else_listens_on_public_addresses(host: Any) -> None:
    public = set()
    for sock in host.socket.get_listening_sockets():
        proto, _, rest = sock.partition("://")
        address, _, port = rest.rpartition(":")
        if proto == "tcp" and not (address.startswith("127.") or address == "::1"):
            public.add(int(port))
    assert public <= PUBLIC_PORTS | {SSH_PORT}, sorted(public - PUBLIC_PORTS - {SSH_PORT})
    assert not public & set(INTERNAL_PORTS)


def test_mariadb_and_internal_services_are_unpublished(host: Any) -> None:
    for service in ("mariadb", "admin-api", "worker", "web"):
        assert host.check_output(f"docker port {_container_id(host, service)}") == "", service


def test_secret_files_modes_and_owners(host: Any) -> None:
    for name in ("signing.key", "admin-api.token"):
        f = host.file(f"{ROOT}/config/{name}")
        assert f.exists and f.size > 0, name
        assert (f.uid, f.mode) == (POSTAL_UID, 0o600), name  # Postal (uid 999) reads them; nobody else
    secrets = host.file(f"{ROOT}/secrets")
    assert (secrets.uid, secrets.mode) == (0, 0o700)
    for name in ("postal.env", "mariadb.env", "db-password", "rails-secret-key", "admin-password"):
        f = host.file(f"{ROOT}/secrets/{name}")
        assert f.exists and f.size > 0 and (f.uid, f.mode) == (0, 0o600), name
    key = host.check_output(f"openssl rsa -in {ROOT}/config/signing.key -noout -text 2>/dev/null | head -n1")
    assert "2048 bit" in key


def test_smtp_tls_key_and_certificate(host: Any) -> None:
    if not SMTP_TLS:
        pytest.skip("VIBN_SMTP_TLS=0: host deployed with smtp_tls=False")
    key, cert = host.file(f"{ROOT}/config/smtp.key"), host.file(f"{ROOT}/config/smtp.cert")
    assert key.exists and key.size > 0 and cert.exists and cert.size > 0
    assert (key.uid, key.mode) == (POSTAL_UID, 0o600)  # Postal (uid 999) reads it on STARTTLS; nobody else
    assert cert.mode == 0o644
    # The certificate belongs to the key (an operator's replacement pair included); digests only, no key text.
    pub = "openssl {} -noout -pubkey 2>/dev/null | openssl sha256"
    cert_pub = host.check_output(pub.format(f"x509 -in {ROOT}/config/smtp.cert"))
    key_pub = host.check_output(f"openssl pkey -in {ROOT}/config/smtp.key -pubout 2>/dev/null | openssl sha256")
    assert cert_pub.split("=")[-1].strip() == key_pub.split("=")[-1].strip()


def test_port_25_offers_starttls(host: Any) -> None:
    if not SMTP_TLS:
        pytest.skip("VIBN_SMTP_TLS=0: host deployed with smtp_tls=False")
    # From the host itself (the firewall admits loopback); stdin closed so s_client quits after the handshake.
    out = host.run("timeout 30 openssl s_client -starttls smtp -connect 127.0.0.1:25 </dev/null 2>&1")
    assert "BEGIN CERTIFICATE" in out.stdout, out.stdout
    assert "Cipher is (NONE)" not in out.stdout, out.stdout


def test_postal_yml_has_no_secrets(host: Any) -> None:
    conf = host.file(f"{ROOT}/config/postal.yml")
    assert conf.contains("^version: 2")
    assert conf.contains(f'web_hostname: "{WEB_HOSTNAME}"')
    assert not conf.contains("password:")


def test_bind_mounts_only(host: Any) -> None:
    mounts = json.loads(host.check_output(f"docker inspect -f '{{{{json .Mounts}}}}' {_container_id(host, 'mariadb')}"))
    assert [m["Type"] for m in mounts] == ["bind"]
    assert mounts[0]["Source"] == f"{ROOT}/mariadb"


def _nft_table(host: Any) -> list[dict[str, Any]]:
    doc = json.loads(host.check_output("nft -j list table inet vibn_mail"))
    items: list[dict[str, Any]] = doc["nftables"]
    return items


def test_our_nft_table_with_drop_policy(host: Any) -> None:
    chains = {item["chain"]["name"]: item["chain"] for item in _nft_table(host) if "chain" in item}
    assert chains["input"]["hook"] == "input" and chains["input"]["policy"] == "drop"
    assert chains["forward"]["hook"] == "forward" and chains["forward"]["prio"] < 0
    tables = host.check_output("nft list tables")
    assert "table inet vibn_mail" in tables
    assert host.service("vibn-mail-firewall").is_enabled


def test_firewall_revert_not_pending(host: Any) -> None:
    assert not host.service("vibn-mail-firewall-revert.timer").is_running


def _get_login(host: Any, host_header: str) -> str:
    """HTTP status of GET /login over TLS on the host's 443; "000" when no TLS session is offered."""
    result = host.run(
        f"curl -sk -o /dev/null -w '%{{http_code}}' --max-time 15 "
        f"--resolve {host_header}:443:127.0.0.1 https://{host_header}/login"
    )
    code: str = result.stdout.strip() or "000"
    return code


def test_postal_web_answers_login_through_the_proxy(host: Any) -> None:
    assert _get_login(host, WEB_HOSTNAME) == "200"


def test_proxy_does_not_route_other_hosts_to_postal(host: Any) -> None:
    # Refusing the TLS session (Caddy: no certificate for that name) counts as not routed.
    assert _get_login(host, f"not-{WEB_HOSTNAME}") != "200"
