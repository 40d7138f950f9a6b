"""Render the files we put on a host, from :class:`~deploys.config.HostSettings` alone.

Pure functions: no host, no pyinfra. The deploys upload the rendered text (pyinfra compares
checksums, so an unchanged file is a no-op) and unit tests read the very same output.
"""

from __future__ import annotations

import hashlib
import json
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path

import jinja2

from deploys.config import HostSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = REPO_ROOT / "templates"

FIREWALL_RULES_PATH = "/etc/vibn-mail/firewall.nft"
FIREWALL_UNIT_NAME = "vibn-mail-firewall.service"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
)
# JSON strings are valid YAML scalars: `q` quotes any value safely for compose and postal.yml.
_env.filters["q"] = lambda value: json.dumps(value, ensure_ascii=False)


class TemplateMissingError(FileNotFoundError):
    """A template another part of the project provides is not there yet."""


def _render(name: str, **context: object) -> str:
    try:
        return _env.get_template(name).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise TemplateMissingError(f"template {TEMPLATES / name} is missing") from exc


def router_name(settings: HostSettings) -> str:
    """Traefik router/service/middleware name stem; must be unique among the host's Traefik routers."""
    return settings.traefik_router_prefix


def render_compose(
    settings: HostSettings,
    compose_command: str = "docker compose",
    config_hash: str = "",
    caddy_hash: str = "",
) -> str:
    """The compose file; the hashes of the files the services read are baked in so that
    ``up -d`` recreates a service exactly when its configuration changed."""
    return _render(
        "postal/docker-compose.yml.j2",
        s=settings,
        r=router_name(settings),
        compose=compose_command,
        config_hash=config_hash,
        caddy_hash=caddy_hash,
    )


def render_postal_yml(settings: HostSettings) -> str:
    return _render("postal/postal.yml.j2", s=settings)


def render_caddyfile(settings: HostSettings) -> str:
    return _render("caddy/Caddyfile.j2", s=settings)


def render_admin_api() -> str:
    """The admin API's Ruby, passed through the same jinja2 path as every other file we upload."""
    return _render("postal/admin-api.rb")


def _split(networks: tuple[IPv4Network | IPv6Network, ...]) -> tuple[list[str], list[str]]:
    v4 = sorted({str(n) for n in networks if isinstance(n, IPv4Network)})
    v6 = sorted({str(n) for n in networks if isinstance(n, IPv6Network)})
    return v4, v6


def render_nftables(settings: HostSettings) -> str:
    """Our one table; SSH sources and Docker subnets share the SSH sets (auto-merge folds overlaps)."""
    v4, v6 = _split(settings.firewall_ssh_sources + settings.firewall_docker_subnets)
    return _render(
        "firewall/vibn-mail.nft.j2",
        ssh_port=settings.firewall_ssh_port,
        ssh_v4=v4,
        ssh_v6=v6,
        tcp_ports=list(settings.public_tcp_ports),
        udp_ports=list(settings.public_udp_ports),
    )


def render_firewall_unit() -> str:
    return _render("firewall/vibn-mail-firewall.service.j2", rules_path=FIREWALL_RULES_PATH)


def content_hash(*texts: str) -> str:
    """One digest over several rendered files: the stack is re-applied when it differs."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(hashlib.sha256(text.encode()).digest())
    return digest.hexdigest()
