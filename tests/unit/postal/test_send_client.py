"""The legacy API client against scripted answers (httpx.MockTransport; no network)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from vibn_mail.postal import errors
from vibn_mail.postal.send_client import OutgoingMessage, PostalSendClient, SendSettings

Handler = Callable[[httpx.Request], httpx.Response]


def _client(
    handler: Handler, *, key: str | None = "global-key", hostname: str | None = "postal.vibn.test"
) -> PostalSendClient:
    settings = SendSettings(
        api_url="http://web:5000", api_key=SecretStr(key) if key else None, web_hostname=hostname, attempts=3
    )
    http = httpx.Client(base_url=settings.api_url, transport=httpx.MockTransport(handler))
    client = PostalSendClient(settings, http)
    client._policy = type(client._policy)(attempts=3, backoff_seconds=0)
    return client


def _postal(status: str, data: object) -> httpx.Response:
    return httpx.Response(200, json={"status": status, "time": 0.01, "flags": {}, "data": data})


MESSAGE = OutgoingMessage.model_validate({"to": ["a@x.test"], "from": "me@vibn.test", "plain_body": "hi"})
SUCCESS = {"message_id": "u@rp.vibn.test", "messages": {"a@x.test": {"id": 7, "token": "abcdefghijklmnop"}}}


def test_sends_host_header_global_key_and_postal_field_names() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _postal("success", SUCCESS)

    result = _client(handler).send_message(MESSAGE)
    assert result.messages["a@x.test"].id == 7
    (request,) = seen
    assert request.url.path == "/api/v1/send/message"
    assert request.headers["host"] == "postal.vibn.test"
    assert request.headers["x-server-api-key"] == "global-key"
    assert json.loads(request.content) == {
        "to": ["a@x.test"],
        "from": "me@vibn.test",
        "plain_body": "hi",
        "bounce": False,
    }


def test_tenant_key_overrides_the_global_key() -> None:
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["x-server-api-key"])
        return _postal("success", SUCCESS)

    _client(handler).send_message(MESSAGE, api_key="tenant-key")
    assert keys == ["tenant-key"]


def test_no_key_at_all_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="VIBN_POSTAL_API_KEY"):
        _client(lambda r: _postal("success", SUCCESS), key=None).send_message(MESSAGE)


@pytest.mark.parametrize("code", sorted(errors.SEND_API_ERRORS))
def test_each_postal_code_raises_its_own_exception(code: str) -> None:
    with pytest.raises(errors.SEND_API_ERRORS[code]) as err:
        _client(lambda r: _postal("error", {"code": code, "message": "m"})).send_message(MESSAGE)
    assert err.value.code == code and err.value.message == "m"


def test_unknown_code_is_still_a_postal_api_error() -> None:
    with pytest.raises(errors.PostalApiError) as err:
        _client(lambda r: _postal("error", {"code": "SomethingNew"})).send_message(MESSAGE)
    assert err.value.code == "SomethingNew"


def test_parameter_error() -> None:
    with pytest.raises(errors.PostalParameterError, match="rcpt_to"):
        _client(lambda r: _postal("parameter-error", {"message": "`rcpt_to` missing"})).send_raw("a@b", [], b"x")


def test_blocked_host_tells_the_operator_what_to_set() -> None:
    client = _client(lambda r: httpx.Response(403, text="Blocked hosts: web:5000"), hostname=None)
    with pytest.raises(errors.PostalBlockedHostError) as err:
        client.send_message(MESSAGE)
    assert err.value.host == "web"
    assert "VIBN_POSTAL_WEB_HOSTNAME" in str(err.value)


def test_non_200_is_a_protocol_error() -> None:
    with pytest.raises(errors.PostalProtocolError) as err:
        _client(lambda r: httpx.Response(502, text="bad gateway")).send_message(MESSAGE)
    assert err.value.status_code == 502


def test_send_is_retried_when_the_connection_never_opened() -> None:
    attempts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) < 3:
            raise httpx.ConnectError("refused", request=request)
        return _postal("success", SUCCESS)

    assert _client(handler).send_message(MESSAGE).message_id == "u@rp.vibn.test"
    assert len(attempts) == 3


def test_send_is_not_retried_once_it_may_have_reached_postal() -> None:
    attempts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        raise httpx.ReadTimeout("no answer", request=request)

    with pytest.raises(errors.PostalConnectionError) as err:
        _client(handler).send_message(MESSAGE)
    assert len(attempts) == 1
    assert err.value.request_may_have_reached_postal


def test_reads_are_retried_after_a_lost_answer() -> None:
    attempts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) == 1:
            raise httpx.ReadTimeout("no answer", request=request)
        return _postal("success", [])

    assert _client(handler).deliveries(7) == []
    assert len(attempts) == 2


def test_message_sends_expansions_and_parses_only_what_came() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content) == {"id": 7, "_expansions": ["status"]}
        status = {"status": "Sent", "last_delivery_attempt": 1.0, "held": False, "hold_expiry": None}
        return _postal("success", {"id": 7, "token": "t", "status": status})

    info = _client(handler).message(7, ["status"])
    assert info.status is not None and info.status.status == "Sent"
    assert info.model_fields_set == {"id", "token", "status"}


def test_settings_from_env_name_the_missing_variable() -> None:
    with pytest.raises(ValueError, match="VIBN_POSTAL_API_URL"):
        SendSettings.from_env({})
    settings = SendSettings.from_env({"VIBN_POSTAL_API_URL": "http://web:5000/", "VIBN_POSTAL_API_KEY": "s3cr3t-key"})
    assert settings.api_url == "http://web:5000" and settings.host_header == "web"
    assert settings.api_key is not None and "s3cr3t-key" not in repr(settings)
