"""The admin API's wire format: request bodies and answers, exactly as the Ruby service sends them.

``templates/postal/admin-api.rb`` (inside Postal) and the emulator both serve this contract; the
client parses answers with ``extra="forbid"`` so a field added or renamed on one side only fails the
contract suite instead of being silently dropped.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vibn_mail.postal.domain_dns import PostalDomainDns


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnsureResult(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class ServerMode(StrEnum):
    LIVE = "Live"
    DEVELOPMENT = "Development"


class CredentialType(StrEnum):
    API = "API"
    SMTP = "SMTP"


class CheckStatus(StrEnum):
    OK = "OK"
    MISSING = "Missing"
    INVALID = "Invalid"


WEBHOOK_EVENTS = (
    "MessageSent",
    "MessageDelayed",
    "MessageDeliveryFailed",
    "MessageHeld",
    "MessageBounced",
    "MessageLinkClicked",
    "MessageLoaded",
    "DomainDNSError",
)

# -- request bodies --------------------------------------------------------------------------------------


class UserSpec(_Wire):
    first_name: str
    last_name: str
    password: str | None = Field(default=None, description="required on creation; ≥ 8 characters")
    admin: bool = False
    reset_password: bool = Field(default=False, description="also set the password of an existing user")


class OrganizationSpec(_Wire):
    name: str
    owner_email_address: str
    owner_first_name: str = "Vibn"
    owner_last_name: str = "Platform"
    time_zone: str = "UTC"


class ServerSpec(_Wire):
    name: str
    mode: ServerMode = ServerMode.LIVE


class CredentialSpec(_Wire):
    type: CredentialType
    hold: bool = False


class DomainSpec(_Wire):
    verification_method: Literal["DNS", "Email"] = "DNS"
    verified: bool = Field(default=False, description="mark verified now (the operator vouches for it)")


class WebhookSpec(_Wire):
    url: str
    all_events: bool = True
    events: list[str] = Field(default_factory=list)
    enabled: bool = True


# -- answers ---------------------------------------------------------------------------------------------


class User(_Wire):
    uuid: str
    email_address: str
    first_name: str
    last_name: str
    admin: bool


class Organization(_Wire):
    uuid: str
    permalink: str
    name: str
    time_zone: str
    owner_email_address: str | None
    suspended: bool


class Server(_Wire):
    id: int
    uuid: str
    organization: str
    permalink: str
    name: str
    mode: ServerMode
    token: str
    suspended: bool
    message_database: str


class Credential(_Wire):
    uuid: str
    name: str
    type: str
    key: str | None = Field(description="returned by ensure and get; omitted (null) in listings")
    hold: bool


class DnsCheck(_Wire):
    status: CheckStatus | None
    error: str | None


class DomainChecks(_Wire):
    spf: DnsCheck
    dkim: DnsCheck
    mx: DnsCheck
    return_path: DnsCheck


class Domain(_Wire):
    uuid: str
    name: str
    owner_type: Literal["Server", "Organization"]
    verification_method: str
    verification_token: str | None
    verification_record: str | None
    verified: bool
    verified_at: float | None
    dkim_record_name: str
    dkim_record: str
    spf_record: str
    spf_include: str
    return_path_name: str
    return_path_domain: str
    return_path_target: str
    mx_records: list[str]
    dns_checked_at: float | None
    dns_ok: bool
    checks: DomainChecks

    def dns(self) -> PostalDomainDns:
        """The records this domain needs, in the project's one DNS model."""
        return PostalDomainDns(
            domain=self.name,
            spf_include=self.spf_include,
            dkim_record_name=self.dkim_record_name,
            dkim_record=self.dkim_record,
            return_path_name=self.return_path_name,
            return_path_target=self.return_path_target,
            mx_records=tuple(self.mx_records),
            verification_token=self.verification_token if self.verification_method == "DNS" else None,
            verification_prefix=(self.verification_record or "postal-verification").split(" ", 1)[0],
        )


class Webhook(_Wire):
    uuid: str
    name: str
    url: str
    all_events: bool
    events: list[str]
    enabled: bool


class Health(_Wire):
    status: Literal["ok"]
    postal_version: str


class ServerInventory(_Wire):
    server: Server
    credentials: list[Credential]
    domains: list[Domain]
    webhooks: list[Webhook]


class OrganizationInventory(_Wire):
    organization: Organization
    domains: list[Domain]
    servers: list[ServerInventory]


class Inventory(_Wire):
    users: list[User]
    organizations: list[OrganizationInventory]
