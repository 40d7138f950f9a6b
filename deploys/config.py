"""Inventory data for the Postal host, parsed once into :class:`HostSettings`.

pyinfra's host data is one flat namespace shared with connectors (``ssh_*``), global arguments
(``_sudo``) and other tools. :func:`load_settings` drops those reserved keys and validates everything
else against one model with ``extra="forbid"``, so a typo (``postal_verison``) stops the deploy before
any operation runs, naming the key and the closest valid one. Flat keys (not nested dicts) because
pyinfra merges host over group data key by key: a sandbox inventory can override ``postal_image``
alone without losing ``web_hostname`` from group data.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vibn_mail.dns.records import normalise_name

# Keys other parties own in the same data namespace. Connector keys are listed by pyinfra itself
# (see pyinfra.api.connectors); these prefixes cover them and the project's other tools.
RESERVED_PREFIXES: tuple[str, ...] = (
    "_",
    "ssh_",
    "docker_",
    "fake_",
    "winrm_",
    "chroot_",
    "local_",
    "sandbox_",
    "doctor_",
)

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]$")
_ROUTER = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")

Port = Annotated[int, Field(ge=1, le=65535)]
Network = IPv4Network | IPv6Network


class ProxyMode(StrEnum):
    COOLIFY = "coolify"
    STANDALONE = "standalone"


class TlsMode(StrEnum):
    ACME = "acme"
    INTERNAL = "internal"


class PullPolicy(StrEnum):
    """Compose's pull_policy values we support; ``never`` is for hosts with locally loaded images."""

    MISSING = "missing"
    ALWAYS = "always"
    NEVER = "never"


class SettingsError(ValueError):
    """Inventory data that cannot be deployed; the message names each bad key and its fix."""


class HostSettings(BaseModel):
    """Every setting the Postal host deploys read. Defaults are the production defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- Postal stack -------------------------------------------------------------------------
    postal_version: str = "3.3.6"
    postal_image: str = "ghcr.io/postalserver/postal"
    mariadb_image: str = "mariadb:10.11"
    caddy_image: str = "caddy:2.8"
    pull_policy: PullPolicy = PullPolicy.MISSING
    postal_root: str = "/opt/postal"
    compose_project: str = "postal"
    web_hostname: str
    smtp_hostname: str | None = None
    # The host's public sending addresses: what SPF, PTR and blocklist checks (vibn-mail doctor) are about.
    public_ipv4: IPv4Address | None = None
    public_ipv6: IPv6Address | None = None
    admin_email: str
    admin_first_name: str = "Postal"
    admin_last_name: str = "Admin"
    smtp_max_message_size_mb: int = Field(default=14, ge=1, le=100)
    # STARTTLS on port 25 (smtp_server.tls_*): receivers and MTA-STS expect it. The deploy makes a
    # self-signed pair once when config/smtp.cert and smtp.key are absent; an operator may replace both.
    smtp_tls: bool = True

    # --- Web proxy ----------------------------------------------------------------------------
    proxy_mode: ProxyMode = ProxyMode.COOLIFY
    coolify_network: str = "coolify"
    traefik_router_prefix: str = "vibn-postal"
    traefik_certresolver: str = "letsencrypt"
    caddy_tls: TlsMode = TlsMode.ACME

    # --- DNS values Postal hands out (postal.yml ``dns.*``); derived from web_hostname if unset -----
    dns_mx_records: tuple[str, ...] = ()
    dns_spf_include: str | None = None
    dns_return_path_domain: str | None = None
    dns_route_domain: str | None = None
    dns_track_domain: str | None = None
    dns_helo_hostname: str | None = None

    # --- Firewall -----------------------------------------------------------------------------
    firewall_enabled: bool = True
    firewall_ssh_port: Port = 22
    firewall_ssh_sources: tuple[Network, ...] = (IPv4Network("0.0.0.0/0"), IPv6Network("::/0"))
    firewall_docker_subnets: tuple[Network, ...] = (IPv4Network("10.0.0.0/8"), IPv4Network("172.16.0.0/12"))
    firewall_submission_ports: bool = False
    firewall_extra_tcp_ports: tuple[Port, ...] = ()
    firewall_extra_udp_ports: tuple[Port, ...] = ()
    firewall_revert_seconds: int = Field(default=90, ge=20, le=600)

    # --- Host preconditions -------------------------------------------------------------------
    install_docker: bool = False
    min_disk_free_gb: float = Field(default=5.0, ge=0)
    min_memory_mb: int = Field(default=1800, ge=0)

    @field_validator("postal_version")
    @classmethod
    def _version(cls, value: str) -> str:
        value = value.strip().removeprefix("v")
        if not _VERSION.match(value):
            raise ValueError(f"{value!r} is not a release number; write it like '3.3.6' (no 'v')")
        return value

    @field_validator("postal_image", "mariadb_image", "caddy_image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not _IMAGE.match(value):
            raise ValueError(f"{value!r} is not an image reference, e.g. 'ghcr.io/postalserver/postal'")
        return value

    @field_validator(
        "web_hostname",
        "smtp_hostname",
        "dns_spf_include",
        "dns_return_path_domain",
        "dns_route_domain",
        "dns_track_domain",
        "dns_helo_hostname",
    )
    @classmethod
    def _hostname(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = normalise_name(value)
        if not _HOSTNAME.match(name):
            raise ValueError(f"{value!r} is not a fully qualified host name, e.g. postal.example.com")
        return name

    @field_validator("dns_mx_records")
    @classmethod
    def _mx(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(normalise_name(v) for v in value)
        for name in out:
            if not _HOSTNAME.match(name):
                raise ValueError(f"MX target {name!r} is not a host name, e.g. postal.example.com")
        return out

    @field_validator("admin_email")
    @classmethod
    def _email(cls, value: str) -> str:
        local, _, domain = value.strip().partition("@")
        if not local or not _HOSTNAME.match(domain.lower()):
            raise ValueError(f"{value!r} is not an email address, e.g. ops@example.com")
        return value.strip()

    @field_validator("traefik_router_prefix", "compose_project")
    @classmethod
    def _router(cls, value: str) -> str:
        if not _ROUTER.match(value):
            raise ValueError(f"{value!r} must be lower-case letters, digits and '-', e.g. 'vibn-postal'")
        return value

    @field_validator("postal_root")
    @classmethod
    def _root(cls, value: str) -> str:
        if not value.startswith("/") or value.rstrip("/") in ("", "/") or " " in value:
            raise ValueError(f"{value!r} must be an absolute directory without spaces, e.g. /opt/postal")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _consistent(self) -> HostSettings:
        if self.caddy_tls is TlsMode.INTERNAL and self.proxy_mode is not ProxyMode.STANDALONE:
            raise ValueError("caddy_tls='internal' only applies with proxy_mode='standalone'")
        reserved = {self.firewall_ssh_port}
        clash = reserved & set(self.firewall_extra_tcp_ports)
        if clash:
            raise ValueError(f"firewall_extra_tcp_ports repeats the SSH port {sorted(clash)}; remove it")
        return self

    # --- Derived values: one place, so postal.yml, DNS and firewall agree ----------------------
    @property
    def smtp_host(self) -> str:
        return self.smtp_hostname or self.web_hostname

    @property
    def mx_records(self) -> tuple[str, ...]:
        return self.dns_mx_records or (self.smtp_host,)

    @property
    def spf_include(self) -> str:
        return self.dns_spf_include or f"spf.{self.web_hostname}"

    @property
    def return_path_domain(self) -> str:
        return self.dns_return_path_domain or f"rp.{self.web_hostname}"

    @property
    def route_domain(self) -> str:
        return self.dns_route_domain or f"routes.{self.web_hostname}"

    @property
    def track_domain(self) -> str:
        return self.dns_track_domain or f"track.{self.web_hostname}"

    @property
    def postal_image_ref(self) -> str:
        return f"{self.postal_image}:{self.postal_version}"

    @property
    def public_tcp_ports(self) -> tuple[int, ...]:
        """Ports the world may open, besides SSH: mail, web, then the operator's extras."""
        ports = [25, 80, 443]
        if self.firewall_submission_ports:
            ports += [465, 587]
        ports += list(self.firewall_extra_tcp_ports)
        return tuple(sorted(set(ports)))

    @property
    def public_udp_ports(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.firewall_extra_udp_ports)))


def _is_reserved(key: str) -> bool:
    return key.startswith(RESERVED_PREFIXES)


def _format_errors(error: ValidationError) -> str:
    known = list(HostSettings.model_fields)
    lines = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"]) or "(settings)"
        if item["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(item["loc"][0]), known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "remove it or check docs/deploy.md"
            lines.append(f"  {key}: unknown setting; {hint}")
        elif item["type"] == "missing":
            lines.append(f"  {key}: required; set it in the inventory host data (see inventory/production.example.py)")
        else:
            msg = str(item["msg"]).removeprefix("Value error, ")
            lines.append(f"  {key}: {msg}")
    return "invalid inventory data:\n" + "\n".join(lines)


def load_settings(data: Mapping[str, Any]) -> HostSettings:
    """Validate pyinfra host data (``host.data.dict()``); :class:`SettingsError` lists every problem."""
    ours = {k: v for k, v in data.items() if not _is_reserved(k)}
    try:
        return HostSettings.model_validate(ours)
    except ValidationError as exc:
        raise SettingsError(_format_errors(exc)) from None
