"""postal.yml (config format v2) as Postal reads it: file values, then environment overrides.

Postal's Konfig lets ``GROUP_KEY`` environment variables (``POSTAL_WEB_HOSTNAME``,
``MAIN_DB_PASSWORD``) override the file, with lists comma-separated; the emulator does the same so
a compose file that works for one works for the other.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_CONFIG_PATH = "/config/postal.yml"


class _Group(BaseModel):
    # Postal ignores unknown keys; so does the emulator (the project validates postal.yml elsewhere).
    model_config = ConfigDict(extra="ignore")


class PostalSection(_Group):
    web_hostname: str = "postal.example.com"
    web_protocol: str = "https"
    smtp_hostname: str = "postal.example.com"
    signing_key_path: str | None = None
    use_local_ns_for_domain_verification: bool = False


class WebServerSection(_Group):
    default_port: int = 5000
    default_bind_address: str = "127.0.0.1"


class SmtpServerSection(_Group):
    default_port: int = 25
    default_bind_address: str = "::"
    max_message_size: int = 14
    # STARTTLS; the paths default as in Postal's config_schema.rb ($config-file-root is the file's dir).
    tls_enabled: bool = False
    tls_certificate_path: str = "$config-file-root/smtp.cert"
    tls_private_key_path: str = "$config-file-root/smtp.key"


class DbSection(_Group):
    """How to reach a MariaDB server: both of Postal's database groups share these keys and defaults."""

    host: str = "localhost"
    port: int = 3306
    username: str = "postal"
    password: str = ""


class MainDbSection(DbSection):
    database: str = "postal"


class MessageDbSection(DbSection):
    database_name_prefix: str = "postal"


class DnsSection(_Group):
    mx_records: list[str] = Field(default_factory=lambda: ["mx.postal.example.com"])
    spf_include: str = "spf.postal.example.com"
    return_path_domain: str = "rp.postal.example.com"
    route_domain: str = "routes.postal.example.com"
    track_domain: str = "track.postal.example.com"
    helo_hostname: str | None = None
    dkim_identifier: str = "postal"
    domain_verify_prefix: str = "postal-verification"
    custom_return_path_prefix: str = "psrp"


class PostalConfig(_Group):
    version: int = 2
    postal: PostalSection = Field(default_factory=PostalSection)
    web_server: WebServerSection = Field(default_factory=WebServerSection)
    smtp_server: SmtpServerSection = Field(default_factory=SmtpServerSection)
    main_db: MainDbSection = Field(default_factory=MainDbSection)
    message_db: MessageDbSection = Field(default_factory=MessageDbSection)
    dns: DnsSection = Field(default_factory=DnsSection)
    config_root: str = "/config"

    def _in_root(self, path: str) -> Path:
        return Path(path.replace("$config-file-root", self.config_root))

    @property
    def signing_key_path(self) -> Path:
        return self._in_root(self.postal.signing_key_path or "$config-file-root/signing.key")

    @property
    def smtp_tls_certificate_path(self) -> Path:
        return self._in_root(self.smtp_server.tls_certificate_path)

    @property
    def smtp_tls_private_key_path(self) -> Path:
        return self._in_root(self.smtp_server.tls_private_key_path)


_GROUPS: dict[str, type[_Group]] = {
    "postal": PostalSection,
    "web_server": WebServerSection,
    "smtp_server": SmtpServerSection,
    "main_db": MainDbSection,
    "message_db": MessageDbSection,
    "dns": DnsSection,
}


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for group, model in _GROUPS.items():
        for key, field in model.model_fields.items():
            value = env.get(f"{group}_{key}".upper())
            if value is None:
                continue
            is_list = "list" in str(field.annotation)
            out.setdefault(group, {})[key] = [v.strip() for v in value.split(",") if v.strip()] if is_list else value
    return out


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> PostalConfig:
    """Read postal.yml (path from ``POSTAL_CONFIG_FILE_PATH``), apply env overrides."""
    env = os.environ if environ is None else environ
    file = Path(path or env.get("POSTAL_CONFIG_FILE_PATH", DEFAULT_CONFIG_PATH))
    raw: dict[str, Any] = {}
    if file.exists():
        loaded = yaml.safe_load(file.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{file}: expected a mapping at the top level")
        if loaded.get("version") != 2:
            raise ValueError(f"{file}: 'version: 2' missing; Postal v3 only reads config format v2")
        raw = loaded
    for group, values in _env_overrides(env).items():
        raw.setdefault(group, {}).update(values)
    raw["config_root"] = str(file.parent)
    return PostalConfig.model_validate(raw)
