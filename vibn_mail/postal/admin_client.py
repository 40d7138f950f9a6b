"""Client for the admin API that runs inside the Postal stack (``templates/postal/admin-api.rb``).

Every write is an idempotent "ensure" addressed by a natural key (organization permalink, server
permalink within its organization, credential/domain/webhook name within its owner), so callers
converge state by calling them again; that is also why they are safe to re-send after a lost answer.
Pure request building lives in :class:`AdminCalls`; :class:`AdminClient` and
:class:`AsyncAdminClient` only differ in transport.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, TypeAdapter, ValidationError, field_validator

from vibn_mail.postal import admin_models as m
from vibn_mail.postal._http import AsyncTransport, Call, SyncTransport
from vibn_mail.postal.errors import PostalProtocolError, admin_api_error

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class AdminSettings(BaseModel):
    """Where the admin API listens and the bearer token it wants."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    token: SecretStr
    timeout_seconds: float = 30.0
    attempts: int = 3

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"admin API url {value!r} must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value().strip()) < 16:
            raise ValueError("admin API token is empty or shorter than 16 characters; use the generated token file")
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AdminSettings:
        """``VIBN_POSTAL_ADMIN_URL`` plus ``VIBN_POSTAL_ADMIN_TOKEN`` or ``VIBN_POSTAL_ADMIN_TOKEN_FILE``."""
        env = os.environ if environ is None else environ
        url = env.get("VIBN_POSTAL_ADMIN_URL", "")
        if not url:
            raise ValueError(
                "VIBN_POSTAL_ADMIN_URL is not set; set it to the admin API URL, e.g. http://postal-admin:5001"
            )
        token = env.get("VIBN_POSTAL_ADMIN_TOKEN", "")
        if not token and env.get("VIBN_POSTAL_ADMIN_TOKEN_FILE"):
            token = Path(env["VIBN_POSTAL_ADMIN_TOKEN_FILE"]).read_text().strip()
        if not token:
            raise ValueError("set VIBN_POSTAL_ADMIN_TOKEN or VIBN_POSTAL_ADMIN_TOKEN_FILE to the admin API token")
        return cls(url=url, token=SecretStr(token))


def _seg(value: str) -> str:
    return quote(value, safe="")


def _answer(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400:
        raise admin_api_error(response.status_code, body)
    if not isinstance(body, dict):
        raise PostalProtocolError(
            f"admin API answered HTTP {response.status_code} without a JSON object: wrong URL?",
            status_code=response.status_code,
            body=response.text,
        )
    return body


def _field(key: str, adapter: TypeAdapter[T]) -> Callable[[httpx.Response], T]:
    def parse(response: httpx.Response) -> T:
        body = _answer(response)
        try:
            return adapter.validate_python(body[key])
        except (KeyError, ValidationError) as exc:
            raise PostalProtocolError(f"admin API answer does not match the contract at {key!r}: {exc}") from exc

    return parse


class Ensured(BaseModel, Generic[M]):
    """An ensure call's answer: the object as it now is, and what the call did."""

    model_config = ConfigDict(frozen=True)

    object: M
    result: m.EnsureResult


def _ensured(key: str, model: type[M]) -> Callable[[httpx.Response], Ensured[M]]:
    def parse(response: httpx.Response) -> Ensured[M]:
        body = _answer(response)
        try:
            return Ensured[model](object=model.model_validate(body[key]), result=body["result"])  # type: ignore[valid-type]
        except (KeyError, ValidationError) as exc:
            raise PostalProtocolError(f"admin API ensure answer does not match the contract: {exc}") from exc

    return parse


def _deleted(response: httpx.Response) -> bool:
    return bool(_answer(response)["deleted"])


class AdminCalls:
    """Builds the admin API's requests; no I/O."""

    def __init__(self, token: str) -> None:
        self._auth = {"Authorization": f"Bearer {token}"}

    def _call(
        self, method: str, path: str, parse: Callable[[httpx.Response], T], body: BaseModel | None = None
    ) -> Call[T]:
        payload = body.model_dump(mode="json") if body is not None else None
        # Every admin call is an ensure, a read, a check or a delete-if-present: all safe to resend.
        return Call(method, path, parse, json=payload, headers=self._auth, safe_to_resend=True)

    @staticmethod
    def _owner(org: str, server: str | None) -> str:
        base = f"/v1/organizations/{_seg(org)}"
        return base if server is None else f"{base}/servers/{_seg(server)}"

    @classmethod
    def _item(cls, org: str, server: str | None, kind: str, name: str) -> str:
        return f"{cls._owner(org, server)}/{kind}/{_seg(name)}"

    def health(self) -> Call[m.Health]:
        return Call("GET", "/health", lambda r: m.Health.model_validate(_answer(r)), safe_to_resend=True)

    def default_dkim_record(self) -> Call[str]:
        return self._call("GET", "/v1/default-dkim-record", _field("record", TypeAdapter(str)))

    def inventory(self) -> Call[m.Inventory]:
        return self._call("GET", "/v1/inventory", lambda r: m.Inventory.model_validate(_answer(r)))

    def ensure_user(self, email: str, spec: m.UserSpec) -> Call[Ensured[m.User]]:
        return self._call("PUT", f"/v1/users/{_seg(email)}", _ensured("user", m.User), spec)

    def get_user(self, email: str) -> Call[m.User]:
        return self._call("GET", f"/v1/users/{_seg(email)}", _field("user", TypeAdapter(m.User)))

    def list_users(self) -> Call[list[m.User]]:
        return self._call("GET", "/v1/users", _field("users", TypeAdapter(list[m.User])))

    def ensure_organization(self, org: str, spec: m.OrganizationSpec) -> Call[Ensured[m.Organization]]:
        return self._call("PUT", self._owner(org, None), _ensured("organization", m.Organization), spec)

    def get_organization(self, org: str) -> Call[m.Organization]:
        return self._call("GET", self._owner(org, None), _field("organization", TypeAdapter(m.Organization)))

    def list_organizations(self) -> Call[list[m.Organization]]:
        adapter = TypeAdapter(list[m.Organization])
        return self._call("GET", "/v1/organizations", _field("organizations", adapter))

    def delete_organization(self, org: str) -> Call[bool]:
        return self._call("DELETE", self._owner(org, None), _deleted)

    def ensure_server(self, org: str, server: str, spec: m.ServerSpec) -> Call[Ensured[m.Server]]:
        return self._call("PUT", self._owner(org, server), _ensured("server", m.Server), spec)

    def get_server(self, org: str, server: str) -> Call[m.Server]:
        return self._call("GET", self._owner(org, server), _field("server", TypeAdapter(m.Server)))

    def list_servers(self, org: str) -> Call[list[m.Server]]:
        adapter = TypeAdapter(list[m.Server])
        return self._call("GET", f"{self._owner(org, None)}/servers", _field("servers", adapter))

    def delete_server(self, org: str, server: str) -> Call[bool]:
        return self._call("DELETE", self._owner(org, server), _deleted)

    def ensure_credential(
        self, org: str, server: str, name: str, spec: m.CredentialSpec
    ) -> Call[Ensured[m.Credential]]:
        path = self._item(org, server, "credentials", name)
        return self._call("PUT", path, _ensured("credential", m.Credential), spec)

    def get_credential(self, org: str, server: str, name: str) -> Call[m.Credential]:
        path = self._item(org, server, "credentials", name)
        return self._call("GET", path, _field("credential", TypeAdapter(m.Credential)))

    def list_credentials(self, org: str, server: str) -> Call[list[m.Credential]]:
        adapter = TypeAdapter(list[m.Credential])
        return self._call("GET", f"{self._owner(org, server)}/credentials", _field("credentials", adapter))

    def delete_credential(self, org: str, server: str, name: str) -> Call[bool]:
        return self._call("DELETE", self._item(org, server, "credentials", name), _deleted)

    def ensure_domain(self, org: str, server: str | None, name: str, spec: m.DomainSpec) -> Call[Ensured[m.Domain]]:
        path = self._item(org, server, "domains", name)
        return self._call("PUT", path, _ensured("domain", m.Domain), spec)

    def get_domain(self, org: str, server: str | None, name: str) -> Call[m.Domain]:
        path = self._item(org, server, "domains", name)
        return self._call("GET", path, _field("domain", TypeAdapter(m.Domain)))

    def list_domains(self, org: str, server: str | None) -> Call[list[m.Domain]]:
        adapter = TypeAdapter(list[m.Domain])
        return self._call("GET", f"{self._owner(org, server)}/domains", _field("domains", adapter))

    def delete_domain(self, org: str, server: str | None, name: str) -> Call[bool]:
        return self._call("DELETE", self._item(org, server, "domains", name), _deleted)

    def check_dns(self, org: str, server: str | None, name: str) -> Call[m.Domain]:
        path = self._item(org, server, "domains", name) + "/check-dns"
        return self._call("POST", path, _field("domain", TypeAdapter(m.Domain)))

    def verify_domain(self, org: str, server: str | None, name: str) -> Call[m.Domain]:
        path = self._item(org, server, "domains", name) + "/verify"
        return self._call("POST", path, _field("domain", TypeAdapter(m.Domain)))

    def ensure_webhook(self, org: str, server: str, name: str, spec: m.WebhookSpec) -> Call[Ensured[m.Webhook]]:
        path = self._item(org, server, "webhooks", name)
        return self._call("PUT", path, _ensured("webhook", m.Webhook), spec)

    def get_webhook(self, org: str, server: str, name: str) -> Call[m.Webhook]:
        path = self._item(org, server, "webhooks", name)
        return self._call("GET", path, _field("webhook", TypeAdapter(m.Webhook)))

    def list_webhooks(self, org: str, server: str) -> Call[list[m.Webhook]]:
        adapter = TypeAdapter(list[m.Webhook])
        return self._call("GET", f"{self._owner(org, server)}/webhooks", _field("webhooks", adapter))

    def delete_webhook(self, org: str, server: str, name: str) -> Call[bool]:
        return self._call("DELETE", self._item(org, server, "webhooks", name), _deleted)


class AdminClient(SyncTransport):
    """Blocking admin API client. ``client.run(client.calls.X(...))`` or the shortcuts below."""

    def __init__(self, settings: AdminSettings, http: httpx.Client | None = None) -> None:
        self.calls = AdminCalls(settings.token.get_secret_value())
        super().__init__(
            http or httpx.Client(base_url=settings.url, timeout=settings.timeout_seconds), settings.attempts
        )

    def health(self) -> m.Health:
        return self.run(self.calls.health())

    def default_dkim_record(self) -> str:
        return self.run(self.calls.default_dkim_record())

    def inventory(self) -> m.Inventory:
        return self.run(self.calls.inventory())

    def ensure_user(self, email: str, spec: m.UserSpec) -> Ensured[m.User]:
        return self.run(self.calls.ensure_user(email, spec))

    def ensure_organization(self, org: str, spec: m.OrganizationSpec) -> Ensured[m.Organization]:
        return self.run(self.calls.ensure_organization(org, spec))

    def ensure_server(self, org: str, server: str, spec: m.ServerSpec) -> Ensured[m.Server]:
        return self.run(self.calls.ensure_server(org, server, spec))

    def ensure_credential(self, org: str, server: str, name: str, spec: m.CredentialSpec) -> Ensured[m.Credential]:
        return self.run(self.calls.ensure_credential(org, server, name, spec))

    def ensure_domain(self, org: str, server: str | None, name: str, spec: m.DomainSpec) -> Ensured[m.Domain]:
        return self.run(self.calls.ensure_domain(org, server, name, spec))

    def check_dns(self, org: str, server: str | None, name: str) -> m.Domain:
        return self.run(self.calls.check_dns(org, server, name))

    def ensure_webhook(self, org: str, server: str, name: str, spec: m.WebhookSpec) -> Ensured[m.Webhook]:
        return self.run(self.calls.ensure_webhook(org, server, name, spec))

    def verify_domain(self, org: str, server: str | None, name: str) -> m.Domain:
        return self.run(self.calls.verify_domain(org, server, name))

    def delete_organization(self, org: str) -> bool:
        return self.run(self.calls.delete_organization(org))


class AsyncAdminClient(AsyncTransport):
    """Non-blocking twin of :class:`AdminClient` for the service (self-service "Add domain")."""

    def __init__(self, settings: AdminSettings, http: httpx.AsyncClient | None = None) -> None:
        self.calls = AdminCalls(settings.token.get_secret_value())
        super().__init__(
            http or httpx.AsyncClient(base_url=settings.url, timeout=settings.timeout_seconds), settings.attempts
        )

    async def ensure_domain(self, org: str, server: str | None, name: str, spec: m.DomainSpec) -> Ensured[m.Domain]:
        return await self.run(self.calls.ensure_domain(org, server, name, spec))

    async def check_dns(self, org: str, server: str | None, name: str) -> m.Domain:
        return await self.run(self.calls.check_dns(org, server, name))
