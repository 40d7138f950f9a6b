"""Client for Postal's legacy HTTP API: send/message, send/raw, messages/message, messages/deliveries.

Postal answers HTTP 200 for everything; the outcome is ``status`` (``success | error |
parameter-error``) and, for errors, ``data.code``. This client returns typed results for success and
raises the exception named after Postal's code otherwise (:mod:`vibn_mail.postal.errors`).

Every request carries ``Host: <web_hostname>`` because Rails refuses any other Host with 403
"Blocked host" — reaching Postal as ``http://web:5000`` inside a compose network needs it.
Keys: each call may pass a tenant's own API key; without one the global key from the settings is used.
Retries: sends are re-tried only when the connection failed before anything was sent; reads also
after a lost answer.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from vibn_mail.postal._http import AsyncTransport, Call, SyncTransport
from vibn_mail.postal.errors import PostalBlockedHostError, PostalProtocolError, send_api_error

T = TypeVar("T")

MAX_RECIPIENTS_PER_FIELD = 50
Expansion = Literal[
    "status",
    "details",
    "inspection",
    "plain_body",
    "html_body",
    "attachments",
    "headers",
    "raw_message",
    "activity_entries",
]


class SendSettings(BaseModel):
    """Where Postal's web server is, which Host it answers to, and the global fallback API key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_url: str
    api_key: SecretStr | None = None
    web_hostname: str | None = Field(default=None, description="Host header; defaults to the URL's host")
    timeout_seconds: float = 15.0
    attempts: int = 3

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"Postal API url {value!r} must start with http:// or https:// (e.g. http://web:5000)")
        return value.rstrip("/")

    @property
    def host_header(self) -> str:
        return self.web_hostname or (urlsplit(self.api_url).hostname or "")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SendSettings:
        """``VIBN_POSTAL_API_URL`` (required), ``VIBN_POSTAL_API_KEY``, ``VIBN_POSTAL_WEB_HOSTNAME``."""
        env = os.environ if environ is None else environ
        url = env.get("VIBN_POSTAL_API_URL", "")
        if not url:
            raise ValueError("VIBN_POSTAL_API_URL is not set; set it to Postal's web URL, e.g. http://web:5000")
        key = env.get("VIBN_POSTAL_API_KEY") or None
        return cls(
            api_url=url,
            api_key=SecretStr(key) if key else None,
            web_hostname=env.get("VIBN_POSTAL_WEB_HOSTNAME") or None,
        )


# -- request models --------------------------------------------------------------------------------------


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    content_type: str = "application/octet-stream"
    data: str = Field(description="base64")

    @classmethod
    def from_bytes(cls, name: str, content: bytes, content_type: str = "application/octet-stream") -> Attachment:
        return cls(name=name, content_type=content_type, data=base64.b64encode(content).decode())


class OutgoingMessage(BaseModel):
    """``send/message`` parameters. ``from_address`` is sent as Postal's ``from``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    to: list[str] = Field(default_factory=list)
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    from_address: str | None = Field(default=None, alias="from")
    sender: str | None = None
    subject: str | None = None
    reply_to: str | None = None
    plain_body: str | None = None
    html_body: str | None = None
    tag: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list)
    bounce: bool = False

    def payload(self) -> dict[str, Any]:
        body = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        # Postal treats absent and empty alike; leaving empties out keeps the wire format minimal.
        return {k: v for k, v in body.items() if v not in ([], {})}


# -- answers ---------------------------------------------------------------------------------------------


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class MessageRef(_Answer):
    id: int
    token: str


class SendResult(_Answer):
    message_id: str
    messages: dict[str, MessageRef]


class MessageStatus(_Answer):
    status: str
    last_delivery_attempt: float | None
    held: bool
    hold_expiry: float | None


class MessageDetails(_Answer):
    rcpt_to: str
    mail_from: str | None
    subject: str | None
    message_id: str | None
    timestamp: float
    direction: str
    size: str | int | None
    bounce: bool | int | None
    bounce_for_id: int | None
    bounce_type: str | None
    tag: str | None
    received_with_ssl: bool | int | None


class MessageInfo(_Answer):
    id: int
    token: str
    status: MessageStatus | None = None
    details: MessageDetails | None = None
    inspection: dict[str, Any] | None = None
    plain_body: str | None = None
    html_body: str | None = None
    attachments: list[dict[str, Any]] | None = None
    headers: dict[str, list[str]] | None = None
    raw_message: str | None = None
    activity_entries: dict[str, Any] | None = None

    def raw_bytes(self) -> bytes | None:
        return None if self.raw_message is None else base64.b64decode(self.raw_message)


class Delivery(_Answer):
    id: int
    status: str
    details: str | None
    output: str | None
    sent_with_ssl: bool | int | None
    log_id: str | None
    time: float | None
    timestamp: float


def _data(response: httpx.Response, host: str) -> Any:
    if response.status_code == 403 and "blocked host" in response.text.lower():
        raise PostalBlockedHostError(host)
    if response.status_code != 200:
        raise PostalProtocolError(
            f"Postal's legacy API answers 200 for everything but said {response.status_code}; "
            "check VIBN_POSTAL_API_URL points at Postal's web server",
            status_code=response.status_code,
            body=response.text,
        )
    try:
        body = response.json()
    except ValueError as exc:
        raise PostalProtocolError("Postal answered 200 without JSON", status_code=200, body=response.text) from exc
    status = body.get("status") if isinstance(body, dict) else None
    data = body.get("data") if isinstance(body, dict) else None
    if status == "success":
        return data
    if status in ("error", "parameter-error") and isinstance(data, dict):
        raise send_api_error(status, data)
    raise PostalProtocolError(f"unknown legacy API status {status!r}", status_code=200, body=response.text)


def _parser(host: str, read: Callable[[Any], T]) -> Callable[[httpx.Response], T]:
    def parse(response: httpx.Response) -> T:
        data = _data(response, host)
        try:
            return read(data)
        except ValidationError as exc:
            raise PostalProtocolError(f"Postal's answer does not have the documented shape: {exc}") from exc

    return parse


class SendCalls:
    """Builds the legacy API's requests; no I/O."""

    def __init__(self, settings: SendSettings) -> None:
        self._settings = settings
        self._host = settings.host_header

    def _headers(self, api_key: str | None) -> dict[str, str]:
        key = api_key or (self._settings.api_key.get_secret_value() if self._settings.api_key else None)
        if not key:
            raise ValueError("no Postal API key: pass the tenant's key or set VIBN_POSTAL_API_KEY")
        return {"X-Server-API-Key": key, "Host": self._host}

    def _call(
        self,
        path: str,
        body: dict[str, Any],
        read: Callable[[Any], T],
        api_key: str | None,
        *,
        read_only: bool,
    ) -> Call[T]:
        return Call(
            "POST",
            f"/api/v1/{path}",
            _parser(self._host, read),
            json=body,
            headers=self._headers(api_key),
            safe_to_resend=read_only,
        )

    def send_message(self, message: OutgoingMessage, api_key: str | None = None) -> Call[SendResult]:
        return self._call("send/message", message.payload(), SendResult.model_validate, api_key, read_only=False)

    def send_raw(
        self,
        mail_from: str,
        rcpt_to: Sequence[str],
        data: bytes,
        *,
        bounce: bool = False,
        api_key: str | None = None,
    ) -> Call[SendResult]:
        body = {
            "mail_from": mail_from,
            "rcpt_to": list(rcpt_to),
            "data": base64.b64encode(data).decode(),
            "bounce": bounce,
        }
        return self._call("send/raw", body, SendResult.model_validate, api_key, read_only=False)

    def message(
        self, message_id: int, expansions: bool | Sequence[Expansion] = True, api_key: str | None = None
    ) -> Call[MessageInfo]:
        body = {
            "id": message_id,
            "_expansions": expansions if isinstance(expansions, bool) else list(expansions),
        }
        return self._call("messages/message", body, MessageInfo.model_validate, api_key, read_only=True)

    def deliveries(self, message_id: int, api_key: str | None = None) -> Call[list[Delivery]]:
        def read(data: Any) -> list[Delivery]:
            return [Delivery.model_validate(d) for d in data]

        return self._call("messages/deliveries", {"id": message_id}, read, api_key, read_only=True)


class PostalSendClient(SyncTransport):
    """Blocking legacy API client."""

    def __init__(self, settings: SendSettings, http: httpx.Client | None = None) -> None:
        self.calls = SendCalls(settings)
        super().__init__(
            http or httpx.Client(base_url=settings.api_url, timeout=settings.timeout_seconds), settings.attempts
        )

    def send_message(self, message: OutgoingMessage, api_key: str | None = None) -> SendResult:
        return self.run(self.calls.send_message(message, api_key))

    def send_raw(
        self,
        mail_from: str,
        rcpt_to: Sequence[str],
        data: bytes,
        *,
        bounce: bool = False,
        api_key: str | None = None,
    ) -> SendResult:
        return self.run(self.calls.send_raw(mail_from, rcpt_to, data, bounce=bounce, api_key=api_key))

    def message(
        self, message_id: int, expansions: bool | Sequence[Expansion] = True, api_key: str | None = None
    ) -> MessageInfo:
        return self.run(self.calls.message(message_id, expansions, api_key))

    def deliveries(self, message_id: int, api_key: str | None = None) -> list[Delivery]:
        return self.run(self.calls.deliveries(message_id, api_key))


class AsyncPostalSendClient(AsyncTransport):
    """Non-blocking twin of :class:`PostalSendClient`."""

    def __init__(self, settings: SendSettings, http: httpx.AsyncClient | None = None) -> None:
        self.calls = SendCalls(settings)
        super().__init__(
            http or httpx.AsyncClient(base_url=settings.api_url, timeout=settings.timeout_seconds), settings.attempts
        )

    async def send_message(self, message: OutgoingMessage, api_key: str | None = None) -> SendResult:
        return await self.run(self.calls.send_message(message, api_key))

    async def message(
        self, message_id: int, expansions: bool | Sequence[Expansion] = True, api_key: str | None = None
    ) -> MessageInfo:
        return await self.run(self.calls.message(message_id, expansions, api_key))
