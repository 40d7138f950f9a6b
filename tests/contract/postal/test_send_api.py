"""Postal's legacy send API: always HTTP 200, ``status``/``data.code``, and the client's typed errors."""

from __future__ import annotations

import base64
import re
import time
from typing import get_args

import httpx
import pytest
from pydantic import SecretStr

from tests.contract.postal.conftest import Tenant
from tests.contract.postal.targets import PostalTarget
from vibn_mail.postal import errors
from vibn_mail.postal.send_client import Attachment, Expansion, OutgoingMessage, PostalSendClient, SendSettings

TOKEN = re.compile(r"\A[A-Za-z0-9]{16}\Z")
MESSAGE_ID = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}@[a-z0-9.-]+\Z")
ALL_EXPANSIONS = set(get_args(Expansion))


def _message(tenant: Tenant, **fields: object) -> OutgoingMessage:
    base: dict[str, object] = {
        "to": ["alice@recipients.contract.test"],
        "from": f"Vibn <noreply@{tenant.verified_domain}>",
        "subject": "contract",
        "plain_body": "hello",
    }
    return OutgoingMessage.model_validate({**base, **fields})


def _post(target: PostalTarget, path: str, body: dict[str, object], headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{target.web_url}/api/v1/{path}", json=body, headers=headers, timeout=30)


def test_send_message_answers_postal_shape(send: PostalSendClient, tenant: Tenant) -> None:
    result = send.send_message(
        _message(tenant, to=["Alice <alice@recipients.contract.test>"], cc=["bob@recipients.contract.test"])
    )
    assert MESSAGE_ID.match(result.message_id), result.message_id
    # The map is keyed by bare address, one message per recipient, with per-server integer ids.
    assert set(result.messages) == {"alice@recipients.contract.test", "bob@recipients.contract.test"}
    refs = list(result.messages.values())
    assert all(TOKEN.match(r.token) for r in refs)
    assert len({r.id for r in refs}) == 2


def test_raw_answer_is_always_200_with_status_time_flags_data(postal_target: PostalTarget, tenant: Tenant) -> None:
    response = _post(
        postal_target,
        "send/message",
        {"to": ["x@recipients.contract.test"]},
        {"X-Server-API-Key": tenant.api_key, "Host": postal_target.web_hostname},
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "time", "flags", "data"}
    assert body["status"] == "error" and body["data"]["code"] == "NoContent"


def test_missing_api_key_is_access_denied(postal_target: PostalTarget) -> None:
    body = _post(postal_target, "send/message", {}, {"Host": postal_target.web_hostname}).json()
    assert (body["status"], body["data"]["code"]) == ("error", "AccessDenied")
    assert isinstance(errors.send_api_error(body["status"], body["data"]), errors.AccessDenied)


def test_wrong_api_key(send: PostalSendClient, tenant: Tenant) -> None:
    with pytest.raises(errors.InvalidServerAPIKey) as err:
        send.send_message(_message(tenant), api_key="WrongKeyWrongKeyWrongKey")
    assert err.value.code == "InvalidServerAPIKey"


def test_wrong_host_is_blocked_host(postal_target: PostalTarget, tenant: Tenant) -> None:
    settings = SendSettings(
        api_url=postal_target.web_url,
        api_key=SecretStr(tenant.api_key),
        web_hostname="not-postal.contract.test",
    )
    with PostalSendClient(settings) as client, pytest.raises(errors.PostalBlockedHostError) as err:
        client.send_message(_message(tenant))
    assert "web_hostname" in str(err.value)


@pytest.mark.parametrize(
    ("field", "error"),
    [
        ("to", errors.TooManyToAddresses),
        ("cc", errors.TooManyCCAddresses),
        ("bcc", errors.TooManyBCCAddresses),
    ],
)
def test_51_recipients_in_a_field(
    send: PostalSendClient, tenant: Tenant, field: str, error: type[errors.PostalApiError]
) -> None:
    addresses = [f"r{i}@recipients.contract.test" for i in range(51)]
    with pytest.raises(error) as err:
        send.send_message(_message(tenant, **{field: addresses}))
    assert err.value.code == error.code
    assert "maximum 50" in err.value.message


def test_unverified_from_domain(send: PostalSendClient, tenant: Tenant) -> None:
    with pytest.raises(errors.UnauthenticatedFromAddress) as err:
        send.send_message(_message(tenant, **{"from": f"noreply@{tenant.unverified_domain}"}))
    assert err.value.code == "UnauthenticatedFromAddress"


def test_verified_domain_of_the_organization_may_send(send: PostalSendClient, tenant: Tenant) -> None:
    result = send.send_message(_message(tenant, **{"from": f"noreply@{tenant.org_domain}"}))
    assert len(result.messages) == 1


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"plain_body": None}, errors.NoContent),
        ({"to": []}, errors.NoRecipients),
        ({"from": None}, errors.FromAddressMissing),
        ({"attachments": [{"name": "", "data": "aGk="}]}, errors.AttachmentMissingName),
    ],
    ids=["missing-body", "no-recipients", "no-from", "attachment-without-name"],
)
def test_invalid_messages_give_postal_codes(
    send: PostalSendClient, tenant: Tenant, fields: dict[str, object], error: type[errors.PostalApiError]
) -> None:
    with pytest.raises(error) as err:
        send.send_message(_message(tenant, **fields))
    assert err.value.code == error.code


def test_send_raw(send: PostalSendClient, tenant: Tenant) -> None:
    raw = (
        f"From: noreply@{tenant.verified_domain}\r\nTo: carol@recipients.contract.test\r\n"
        "Subject: raw contract\r\nMessage-ID: <raw-contract@vibn.test>\r\n\r\nraw body\r\n"
    ).encode()
    result = send.send_raw(f"noreply@{tenant.verified_domain}", ["carol@recipients.contract.test"], raw)
    assert set(result.messages) == {"carol@recipients.contract.test"}
    with pytest.raises(errors.UnauthenticatedFromAddress):
        send.send_raw(
            "x@elsewhere.contract.test",
            ["carol@recipients.contract.test"],
            raw.replace(tenant.verified_domain.encode(), b"elsewhere.contract.test"),
        )


def test_send_raw_without_data_is_a_parameter_error(postal_target: PostalTarget, tenant: Tenant) -> None:
    body = _post(
        postal_target,
        "send/raw",
        {"mail_from": "a@b.test", "rcpt_to": ["c@d.test"]},
        {"X-Server-API-Key": tenant.api_key, "Host": postal_target.web_hostname},
    ).json()
    assert body["status"] == "parameter-error" and "`data`" in body["data"]["message"]
    error = errors.send_api_error(body["status"], body["data"])
    assert isinstance(error, errors.PostalParameterError)


def test_message_with_expansions(send: PostalSendClient, tenant: Tenant) -> None:
    sent = send.send_message(
        _message(
            tenant,
            html_body="<p>hello</p>",
            tag="contract-tag",
            headers={"X-Contract": "yes"},
            attachments=[Attachment.from_bytes("note.txt", b"attached", "text/plain")],
        )
    )
    ref = sent.messages["alice@recipients.contract.test"]
    info = send.message(ref.id)
    assert info.model_fields_set == {"id", "token"} | ALL_EXPANSIONS
    assert (info.id, info.token) == (ref.id, ref.token)
    assert info.details is not None and info.details.rcpt_to == "alice@recipients.contract.test"
    assert info.details.message_id == sent.message_id and info.details.tag == "contract-tag"
    assert info.details.direction == "outgoing" and info.details.subject == "contract"
    assert info.plain_body is not None and "hello" in info.plain_body
    assert info.html_body is not None and "<p>hello</p>" in info.html_body
    assert info.attachments and info.attachments[0]["filename"] == "note.txt"
    assert base64.b64decode(info.attachments[0]["data"]) == b"attached"
    assert info.headers is not None and info.headers["x-contract"] == ["yes"]
    raw = info.raw_bytes()
    assert raw is not None and f"<{sent.message_id}>".encode() in raw
    only_status = send.message(ref.id, ["status"])
    assert only_status.model_fields_set == {"id", "token", "status"}


def test_unknown_message_is_message_not_found(send: PostalSendClient) -> None:
    with pytest.raises(errors.MessageNotFound):
        send.message(987654321)
    with pytest.raises(errors.MessageNotFound):
        send.deliveries(987654321)


def test_development_server_holds_messages_and_reports_a_delivery(send: PostalSendClient, tenant: Tenant) -> None:
    ref = send.send_message(_message(tenant)).messages["alice@recipients.contract.test"]
    deadline = time.monotonic() + 60
    while not (deliveries := send.deliveries(ref.id)):
        assert time.monotonic() < deadline, "no delivery recorded within 60 s; is the worker running?"
        time.sleep(0.2)
    assert deliveries[0].status == "Held"
    status = send.message(ref.id, ["status"]).status
    assert status is not None and status.status == "Held" and status.held


def test_operator_supplied_api_key_is_accepted(postal_target: PostalTarget, send: PostalSendClient) -> None:
    if postal_target.api_key is None:
        pytest.skip(f"{postal_target.name}: no operator-supplied API key to check")
    # A read of a message that does not exist proves the key authenticates without sending anything.
    with pytest.raises(errors.MessageNotFound):
        send.message(987654321, ["status"], api_key=postal_target.api_key)
