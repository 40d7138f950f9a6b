"""Rendered files: compose in both proxy modes, postal.yml against Postal's v2 schema, Caddy, nftables."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploys.config import load_settings
from deploys.render import render_caddyfile, render_compose, render_nftables, render_postal_yml

BASE = {"web_hostname": "postal.example.com", "admin_email": "ops@example.com"}
STANDALONE = {**BASE, "proxy_mode": "standalone", "caddy_tls": "internal"}

# Postal v3.3.6 lib/postal/config_schema.rb: the keys of each group we write. Postal ignores
# unknown keys silently, so a typo here would be a silent misconfiguration on the host.
POSTAL_V2_KEYS: dict[str, set[str]] = {
    "postal": {
        "web_hostname", "web_protocol", "smtp_hostname", "use_ip_pools", "signing_key_path",
        "smtp_relays", "trusted_proxies", "use_local_ns_for_domain_verification",
    },
    "web_server": {"default_port", "default_bind_address", "max_threads"},
    "main_db": {"host", "port", "username", "password", "database", "pool_size", "encoding"},
    "message_db": {"host", "port", "username", "password", "encoding", "database_name_prefix"},
    "smtp_server": {
        "default_port", "default_bind_address", "tls_enabled", "tls_certificate_path",
        "tls_private_key_path", "max_message_size",
    },
    "dns": {
        "mx_records", "spf_include", "return_path_domain", "route_domain", "track_domain",
        "helo_hostname", "dkim_identifier", "domain_verify_prefix", "custom_return_path_prefix",
    },
    "smtp": {
        "host", "port", "username", "password", "authentication_type", "enable_starttls",
        "enable_starttls_auto", "openssl_verify_mode", "from_name", "from_address",
    },
    "rails": {"environment", "secret_key"},
}  # fmt: skip


def compose(data: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(render_compose(load_settings(data), config_hash="abc"))
    return doc


def test_coolify_mode_routes_web_through_traefik_labels() -> None:
    doc = compose(BASE)
    web = doc["services"]["web"]
    labels = web["labels"]
    assert labels["traefik.enable"] == "true"
    assert labels["traefik.docker.network"] == "coolify"
    assert labels["traefik.http.routers.vibn-postal-https.rule"] == "Host(`postal.example.com`)"
    assert labels["traefik.http.routers.vibn-postal-https.tls.certresolver"] == "letsencrypt"
    assert labels["traefik.http.routers.vibn-postal-http.middlewares"] == "vibn-postal-redirect"
    assert labels["traefik.http.middlewares.vibn-postal-redirect.redirectscheme.scheme"] == "https"
    assert labels["traefik.http.services.vibn-postal.loadbalancer.server.port"] == "5000"
    assert "coolify" in web["networks"]
    assert doc["networks"]["coolify"] == {"name": "coolify", "external": True}
    assert "caddy" not in doc["services"]


def test_no_service_carries_coolify_managed_label() -> None:
    for data in (BASE, STANDALONE):
        text = render_compose(load_settings(data))
        assert "coolify.managed" not in text


def test_router_names_follow_the_prefix() -> None:
    labels = compose({**BASE, "traefik_router_prefix": "acme-mail"})["services"]["web"]["labels"]
    assert all(".vibn-postal" not in k for k in labels)
    assert "traefik.http.routers.acme-mail-https.rule" in labels


def test_standalone_mode_runs_caddy_and_no_traefik() -> None:
    doc = compose(STANDALONE)
    assert "labels" not in doc["services"]["web"]
    assert "coolify" not in doc["networks"]
    caddy = doc["services"]["caddy"]
    assert caddy["ports"] == ["80:80", "443:443"]
    assert "/opt/postal/caddy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]


@pytest.mark.parametrize("data", [BASE, STANDALONE])
def test_only_smtp_and_proxy_publish_ports(data: dict[str, Any]) -> None:
    services = compose(data)["services"]
    published = {name: svc["ports"] for name, svc in services.items() if "ports" in svc}
    assert published.pop("smtp") == ["0.0.0.0:25:25"]
    assert set(published) <= {"caddy"}


def test_mariadb_is_internal_bind_mounted_and_healthchecked() -> None:
    doc = compose(BASE)
    db = doc["services"]["mariadb"]
    assert db["networks"] == ["internal"]
    assert doc["networks"]["internal"]["internal"] is True
    assert db["volumes"] == ["/opt/postal/mariadb:/var/lib/mysql"]
    assert "healthcheck" in db
    assert "volumes" not in doc  # no named volumes anywhere


def test_postal_services_wait_for_db_and_share_config() -> None:
    services = compose(BASE)["services"]
    for name in ("web", "smtp", "worker", "admin-api", "runner"):
        svc = services[name]
        assert svc["environment"]["WAIT_FOR_TARGETS"] == "mariadb:3306"
        assert svc["environment"]["VIBN_CONFIG_SHA256"] == "abc"
        assert svc["volumes"] == ["/opt/postal/config:/config"]
        assert svc["env_file"] == ["/opt/postal/secrets/postal.env"]
        assert svc["depends_on"]["mariadb"]["condition"] == "service_healthy"
    for name in ("web", "smtp", "worker", "mariadb", "admin-api"):
        assert services[name]["restart"] == "unless-stopped"
    assert services["runner"]["profiles"] == ["tools"]


def test_health_checks_use_postal_health_ports_and_web_host() -> None:
    services = compose(BASE)["services"]
    assert "/dev/tcp/127.0.0.1/9090" in services["worker"]["healthcheck"]["test"][-1]
    assert "/dev/tcp/127.0.0.1/9091" in services["smtp"]["healthcheck"]["test"][-1]
    web_probe = services["web"]["healthcheck"]["test"][-1]
    assert "GET /login" in web_probe and "Host: postal.example.com" in web_probe


def test_admin_api_service_contract() -> None:
    api = compose(BASE)["services"]["admin-api"]
    assert api["command"] == ["bin/rails", "runner", "/config/admin-api.rb"]
    assert api["environment"]["ADMIN_API_PORT"] == "5001"
    assert api["environment"]["VIBN_ADMIN_TOKEN_FILE"] == "/config/admin-api.token"
    assert api["networks"] == ["internal"]
    assert "ports" not in api


def test_image_and_pull_policy_settings() -> None:
    data = {
        **BASE,
        "postal_image": "local/postal-emulator",
        "pull_policy": "never",
        "postal_version": "3.3.7",
    }
    services = compose(data)["services"]
    assert services["web"]["image"] == "local/postal-emulator:3.3.7"
    assert all(svc.get("pull_policy") == "never" for svc in services.values())
    assert all("pull_policy" not in svc for svc in compose(BASE)["services"].values())


def test_submission_port_published_only_when_enabled() -> None:
    services = compose({**BASE, "firewall_submission_ports": True})["services"]
    assert services["smtp"]["ports"] == ["0.0.0.0:25:25", "0.0.0.0:587:25"]


def test_postal_yml_is_v2_with_known_keys_and_no_secrets() -> None:
    text = render_postal_yml(load_settings({**BASE, "smtp_hostname": "mx.example.com"}))
    doc = yaml.safe_load(text)
    assert doc.pop("version") == 2
    for group, values in doc.items():
        assert group in POSTAL_V2_KEYS, group
        unknown = set(values) - POSTAL_V2_KEYS[group]
        assert not unknown, f"{group}: {unknown}"
    assert doc["postal"]["web_hostname"] == "postal.example.com"
    assert doc["postal"]["smtp_hostname"] == "mx.example.com"
    assert doc["dns"]["mx_records"] == ["mx.example.com"]
    assert doc["dns"]["return_path_domain"] == "rp.postal.example.com"
    assert doc["web_server"]["default_bind_address"] == "0.0.0.0"
    assert doc["smtp"]["port"] == 25  # not the installer's 2525 trap
    assert "@" in doc["smtp"]["from_address"]
    assert "password" not in doc["main_db"] and "rails" not in doc  # secrets come from the env file


def test_caddyfile_modes() -> None:
    internal = render_caddyfile(load_settings(STANDALONE))
    assert "postal.example.com {" in internal and "tls internal" in internal
    assert "reverse_proxy web:5000" in internal
    acme = render_caddyfile(load_settings({**BASE, "proxy_mode": "standalone"}))
    assert "tls internal" not in acme and "email ops@example.com" in acme


def test_nftables_owns_one_table_and_never_flushes() -> None:
    rules = render_nftables(load_settings(BASE))
    assert "flush ruleset" not in rules
    tables = {line.strip() for line in rules.splitlines() if line.startswith("table ")}
    assert tables == {"table inet vibn_mail", "table inet vibn_mail {"}
    assert rules.index("delete table inet vibn_mail") < rules.index("table inet vibn_mail {")
    assert "policy drop" in rules
    assert "tcp dport { 25, 80, 443 } accept" in rules
    assert "ct original proto-dst != { 25, 80, 443 } counter drop" in rules


def test_nftables_ssh_sources_include_docker_subnets() -> None:
    rules = render_nftables(load_settings({**BASE, "firewall_ssh_sources": ["203.0.113.7/32", "2001:db8::/64"]}))
    assert "elements = { 10.0.0.0/8, 172.16.0.0/12, 203.0.113.7/32 }" in rules
    assert "elements = { 2001:db8::/64 }" in rules


def _nft_check(rules: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0 or shutil.which("nft") is None or shutil.which("ip") is None:
        pytest.skip("needs root, nft and ip to check rules in a throwaway network namespace")
    ns = f"vibn-ut-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "rules.nft"
    path.write_text(rules)
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        # Load for real (not only -c) inside the namespace, twice: the delete idiom must hold.
        for _ in range(2):
            done = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", str(path)], capture_output=True, text=True)
            if done.returncode:
                return done
        return subprocess.run(
            ["ip", "netns", "exec", ns, "nft", "list", "table", "inet", "vibn_mail"],
            capture_output=True,
            text=True,
        )
    finally:
        subprocess.run(["ip", "netns", "delete", ns], check=True)


@pytest.mark.parametrize(
    "data",
    [
        BASE,
        STANDALONE,
        {
            **BASE,
            "firewall_submission_ports": True,
            "firewall_extra_udp_ports": [443],
            "firewall_ssh_port": 2222,
        },
        {**BASE, "firewall_ssh_sources": ["203.0.113.0/24"], "firewall_docker_subnets": []},
    ],
)
def test_nftables_rules_load_in_a_network_namespace(data: dict[str, Any], tmp_path: Path) -> None:
    done = _nft_check(render_nftables(load_settings(data)), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "hook input priority filter; policy drop;" in done.stdout
    assert "hook forward priority filter - 10; policy accept;" in done.stdout
