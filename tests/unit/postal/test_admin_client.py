"""The admin API client against scripted answers (httpx.MockTransport; no network)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from vibn_mail.postal import admin_models as m
from vibn_mail.postal.admin_client import AdminClient, AdminSettings
from vibn_mail.postal.errors import AdminConflict, AdminNotFound, AdminValidationError, PostalProtocolError

TOKEN = "t" * 32
SERVER = {
    "id": 3,
    "uuid": "u",
    "organization": "acme",
    "permalink": "main",
    "name": "Main",
    "mode": "Live",
    "token": "abcdef",
    "suspended": False,
    "message_database": "postal-server-3",
}


def _client(handler: httpx.MockTransport) -> AdminClient:
    settings = AdminSettings(url="http://postal-admin:5001", token=SecretStr(TOKEN))
    return AdminClient(settings, httpx.Client(base_url=settings.url, transport=handler))


def test_ensure_sends_bearer_token_body_and_encoded_names() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"server": SERVER, "result": "created"})

    ensured = _client(httpx.MockTransport(handler)).ensure_server("acme", "main", m.ServerSpec(name="Main"))
    assert ensured.result is m.EnsureResult.CREATED and ensured.object.id == 3
    (request,) = seen
    assert request.method == "PUT" and request.url.raw_path == b"/v1/organizations/acme/servers/main"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content) == {"name": "Main", "mode": "Live"}


def test_names_are_path_encoded() -> None:
    paths: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path)
        return httpx.Response(200, json={"deleted": True})

    client = _client(httpx.MockTransport(handler))
    assert client.run(client.calls.delete_credential("acme", "main", "key/with space")) is True
    assert paths[-1] == b"/v1/organizations/acme/servers/main/credentials/key%2Fwith%20space"


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (404, "NotFound", AdminNotFound),
        (422, "ValidationFailed", AdminValidationError),
        (409, "Conflict", AdminConflict),
    ],
)
def test_errors_map_to_types_carrying_the_field(status: int, code: str, error: type[Exception]) -> None:
    body = {"error": {"code": code, "message": "name can't be blank", "field": "name"}}
    client = _client(httpx.MockTransport(lambda r: httpx.Response(status, json=body)))
    with pytest.raises(error) as err:
        client.ensure_organization("acme", m.OrganizationSpec(name="", owner_email_address="o@x.test"))
    assert err.value.field == "name" and err.value.status_code == status  # type: ignore[attr-defined]


def test_answers_off_contract_are_protocol_errors() -> None:
    drifted = {"server": {**SERVER, "new_field": 1}, "result": "created"}
    client = _client(httpx.MockTransport(lambda r: httpx.Response(200, json=drifted)))
    with pytest.raises(PostalProtocolError, match="contract"):
        client.ensure_server("acme", "main", m.ServerSpec(name="Main"))
    html = _client(httpx.MockTransport(lambda r: httpx.Response(200, text="<html>")))
    with pytest.raises(PostalProtocolError):
        html.inventory()


def test_settings_refuse_short_tokens_and_read_token_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="token"):
        AdminSettings(url="http://a:5001", token=SecretStr("short"))
    token_file = tmp_path / "admin-api.token"
    token_file.write_text(TOKEN + "\n")
    env = {"VIBN_POSTAL_ADMIN_URL": "http://a:5001", "VIBN_POSTAL_ADMIN_TOKEN_FILE": str(token_file)}
    assert AdminSettings.from_env(env).token.get_secret_value() == TOKEN
    with pytest.raises(ValueError, match="VIBN_POSTAL_ADMIN_URL"):
        AdminSettings.from_env({})


def test_domain_answer_converts_to_the_project_dns_model() -> None:
    check = {"status": None, "error": None}
    domain = m.Domain.model_validate(
        {
            "uuid": "u",
            "name": "acme.test",
            "owner_type": "Server",
            "verification_method": "DNS",
            "verification_token": "T" * 32,
            "verification_record": "postal-verification " + "T" * 32,
            "verified": False,
            "verified_at": None,
            "dkim_record_name": "postal-ABCDEF._domainkey",
            "dkim_record": "v=DKIM1; t=s; h=sha256; p=AAA;",
            "spf_record": "v=spf1 a mx include:spf.p.test ~all",
            "spf_include": "spf.p.test",
            "return_path_name": "psrp",
            "return_path_domain": "psrp.acme.test",
            "return_path_target": "rp.p.test",
            "mx_records": ["mx.p.test"],
            "dns_checked_at": None,
            "dns_ok": False,
            "checks": {"spf": check, "dkim": check, "mx": check, "return_path": check},
        }
    )
    records = [str(r) for r in domain.dns().records()]
    assert "postal-abcdef._domainkey.acme.test TXT v=DKIM1; t=s; h=sha256; p=AAA;" in records
    assert "psrp.acme.test CNAME rp.p.test" in records
    assert "acme.test MX 10 mx.p.test" in records
    assert f"acme.test TXT postal-verification {'T' * 32}" in records
