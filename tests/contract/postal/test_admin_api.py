"""The admin API's contract: shapes, idempotent ensure, errors naming the field, Postal's DNS facts."""

from __future__ import annotations

import base64
import re
import secrets

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key
from pydantic import SecretStr

from tests.contract.postal.conftest import Tenant
from tests.contract.postal.targets import PostalTarget
from vibn_mail.dns.records import RecordType
from vibn_mail.postal import admin_models as m
from vibn_mail.postal.admin_client import AdminClient, AdminSettings
from vibn_mail.postal.errors import AdminConflict, AdminNotFound, AdminUnauthorized, AdminValidationError

DKIM_RECORD = re.compile(r"\Av=DKIM1; t=s; h=sha256; p=(?P<key>[A-Za-z0-9+/]+=*);\Z")
DKIM_NAME = re.compile(r"\A[a-z0-9]+-[A-Z]{6}\._domainkey\Z")


def _dkim_key(record: str) -> rsa.RSAPublicKey:
    match = DKIM_RECORD.match(record)
    assert match, record
    key = load_der_public_key(base64.b64decode(match["key"]))
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def test_health_needs_no_token_and_names_the_version(admin: AdminClient) -> None:
    health = admin.health()
    assert health.status == "ok"
    assert health.postal_version


def test_wrong_token_is_401_unauthorized(postal_target: PostalTarget) -> None:
    settings = AdminSettings(url=postal_target.admin_url, token=SecretStr("not-the-token-" + secrets.token_hex(8)))
    with AdminClient(settings) as client, pytest.raises(AdminUnauthorized) as err:
        client.inventory()
    assert err.value.status_code == 401 and err.value.code == "Unauthorized"


def test_unknown_route_and_bad_body_are_json_errors(postal_target: PostalTarget) -> None:
    auth = {"Authorization": f"Bearer {postal_target.admin_token}"}
    with httpx.Client(base_url=postal_target.admin_url, headers=auth, timeout=30) as http:
        missing = http.get("/v1/no-such-thing")
        bad = http.put("/v1/organizations/x", content=b"{not json", headers={"Content-Type": "application/json"})
        wrong_method = http.post("/v1/organizations")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "BadRequest"
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "MethodNotAllowed"
    assert set(missing.json()["error"]) == {"code", "message", "field"}


def test_ensure_organization_is_idempotent_and_converges(admin: AdminClient, tenant: Tenant) -> None:
    again = admin.ensure_organization(
        tenant.org,
        m.OrganizationSpec(name=f"Contract {tenant.org[9:]}", owner_email_address=f"{tenant.org}@vibn.test"),
    )
    assert again.result is m.EnsureResult.UNCHANGED
    assert again.object.owner_email_address == f"{tenant.org}@vibn.test"
    renamed = admin.ensure_organization(
        tenant.org, m.OrganizationSpec(name="Renamed", owner_email_address=f"{tenant.org}@vibn.test")
    )
    assert renamed.result is m.EnsureResult.UPDATED and renamed.object.name == "Renamed"
    assert admin.run(admin.calls.get_organization(tenant.org)).name == "Renamed"


def test_server_has_postal_token_and_message_database(admin: AdminClient, tenant: Tenant) -> None:
    server = admin.ensure_server(tenant.org, tenant.server, m.ServerSpec(name="Main", mode=m.ServerMode.DEVELOPMENT))
    assert server.result is m.EnsureResult.UNCHANGED
    assert re.fullmatch(r"[a-z]{6}", server.object.token)
    assert re.fullmatch(rf"[a-z0-9_-]+-server-{server.object.id}", server.object.message_database)
    listed = admin.run(admin.calls.list_servers(tenant.org))
    assert [s.permalink for s in listed] == [tenant.server]


def test_credentials_keep_their_key_and_refuse_a_type_change(admin: AdminClient, tenant: Tenant) -> None:
    spec = m.CredentialSpec(type=m.CredentialType.API)
    again = admin.ensure_credential(tenant.org, tenant.server, "contract-api", spec)
    assert again.result is m.EnsureResult.UNCHANGED and again.object.key == tenant.api_key
    assert re.fullmatch(r"[A-Za-z0-9]{24}", tenant.api_key)
    with pytest.raises(AdminConflict) as err:
        admin.ensure_credential(tenant.org, tenant.server, "contract-api", m.CredentialSpec(type=m.CredentialType.SMTP))
    assert err.value.status_code == 409 and err.value.field == "type"
    listed = admin.run(admin.calls.list_credentials(tenant.org, tenant.server))
    assert {c.name: c.key for c in listed} == {"contract-api": None, "contract-smtp": None}


def test_domain_carries_postal_dns_facts(admin: AdminClient, tenant: Tenant) -> None:
    domain = admin.run(admin.calls.get_domain(tenant.org, tenant.server, tenant.unverified_domain))
    assert DKIM_NAME.match(domain.dkim_record_name), domain.dkim_record_name
    assert _dkim_key(domain.dkim_record).key_size == 1024  # Postal's fixed RSA-1024
    assert domain.return_path_name == "psrp"
    assert domain.return_path_domain == f"psrp.{domain.name}"
    assert domain.spf_record == f"v=spf1 a mx include:{domain.spf_include} ~all"
    assert domain.verification_method == "DNS" and not domain.verified
    assert domain.verification_token and re.fullmatch(r"[A-Za-z0-9]{32}", domain.verification_token)
    assert domain.verification_record == f"postal-verification {domain.verification_token}"
    records = {(r.name, r.type): r.content for r in domain.dns().records()}
    assert records[(f"{domain.dkim_record_name.lower()}.{domain.name}", RecordType.TXT)] == domain.dkim_record
    assert records[(f"psrp.{domain.name}", RecordType.CNAME)] == domain.return_path_target


def test_ensure_domain_twice_keeps_its_dkim_key(admin: AdminClient, tenant: Tenant) -> None:
    first = admin.run(admin.calls.get_domain(tenant.org, tenant.server, tenant.verified_domain))
    again = admin.ensure_domain(tenant.org, tenant.server, tenant.verified_domain, m.DomainSpec(verified=True))
    assert again.result is m.EnsureResult.UNCHANGED
    assert (again.object.dkim_record, again.object.dkim_record_name) == (
        first.dkim_record,
        first.dkim_record_name,
    )
    assert again.object.verified and again.object.verified_at is not None


def test_validation_errors_name_the_field(admin: AdminClient, tenant: Tenant, postal_target: PostalTarget) -> None:
    with pytest.raises(AdminValidationError) as err:
        admin.ensure_organization("Not Valid!", m.OrganizationSpec(name="x", owner_email_address="o@vibn.test"))
    assert err.value.status_code == 422 and err.value.field == "permalink"
    # A value the typed client cannot even express goes over raw HTTP.
    raw = httpx.put(
        f"{postal_target.admin_url}/v1/organizations/{tenant.org}/servers/{tenant.server}",
        json={"name": "Main", "mode": "Bogus"},
        headers={"Authorization": f"Bearer {postal_target.admin_token}"},
        timeout=30,
    )
    assert raw.status_code == 422 and raw.json()["error"]["field"] == "mode"
    with pytest.raises(AdminValidationError) as err:
        admin.ensure_domain(tenant.org, tenant.server, "Bad_Domain", m.DomainSpec())
    assert err.value.field == "name"
    with pytest.raises(AdminValidationError) as err:
        admin.ensure_webhook(tenant.org, tenant.server, "bad", m.WebhookSpec(url="ftp://example.invalid/x"))
    assert err.value.field == "url"


def test_missing_objects_are_404(admin: AdminClient, tenant: Tenant) -> None:
    with pytest.raises(AdminNotFound):
        admin.run(admin.calls.get_server(tenant.org, "no-such-server"))
    with pytest.raises(AdminNotFound):
        admin.run(admin.calls.get_domain(tenant.org, tenant.server, "absent.contract.test"))
    assert admin.run(admin.calls.delete_webhook(tenant.org, tenant.server, "never-made")) is False


def test_webhook_ensure_converges_and_delete_is_idempotent(admin: AdminClient, tenant: Tenant) -> None:
    spec = m.WebhookSpec(url="https://hooks.vibn.test/postal", all_events=False, events=["MessageSent", "MessageHeld"])
    made = admin.ensure_webhook(tenant.org, tenant.server, "converge", spec)
    assert made.result is m.EnsureResult.CREATED and made.object.events == ["MessageHeld", "MessageSent"]
    assert admin.ensure_webhook(tenant.org, tenant.server, "converge", spec).result is m.EnsureResult.UNCHANGED
    changed = admin.ensure_webhook(tenant.org, tenant.server, "converge", spec.model_copy(update={"enabled": False}))
    assert changed.result is m.EnsureResult.UPDATED and not changed.object.enabled
    assert admin.run(admin.calls.delete_webhook(tenant.org, tenant.server, "converge")) is True
    assert admin.run(admin.calls.delete_webhook(tenant.org, tenant.server, "converge")) is False


def test_inventory_lists_what_exists_without_secrets(admin: AdminClient, tenant: Tenant) -> None:
    inventory = admin.inventory()
    org = next(o for o in inventory.organizations if o.organization.permalink == tenant.org)
    assert [d.name for d in org.domains] == [tenant.org_domain]
    (server,) = org.servers
    assert server.server.permalink == tenant.server
    assert all(c.key is None for c in server.credentials)
    assert {d.name for d in server.domains} == {tenant.verified_domain, tenant.unverified_domain}
    assert f"{tenant.org}@vibn.test" in {u.email_address for u in inventory.users}


def test_default_dkim_record_is_the_signing_key(admin: AdminClient, postal_target: PostalTarget) -> None:
    record = admin.default_dkim_record()
    public = _dkim_key(record)
    jwks = httpx.get(
        f"{postal_target.web_url}/.well-known/jwks.json",
        headers={"Host": postal_target.web_hostname},
        timeout=30,
    ).json()
    (jwk,) = jwks["keys"]
    n = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4)), "big")
    assert public.public_numbers().n == n


def test_ensure_user_needs_a_password_only_on_creation(admin: AdminClient) -> None:
    # Not an admin, and a random password: this user may be left behind on a real Postal.
    email = f"contract-user-{secrets.token_hex(4)}@vibn.test"
    with pytest.raises(AdminValidationError) as err:
        admin.ensure_user(email, m.UserSpec(first_name="Ops", last_name="Team"))
    assert err.value.field == "password"
    with pytest.raises(AdminValidationError) as err:
        admin.ensure_user(email, m.UserSpec(first_name="Ops", last_name="Team", password="short"))
    assert err.value.field == "password"
    spec = m.UserSpec(first_name="Ops", last_name="Team", password=secrets.token_urlsafe(24))
    made = admin.ensure_user(email, spec)
    assert made.result is m.EnsureResult.CREATED and not made.object.admin
    assert admin.ensure_user(email, m.UserSpec(first_name="Ops", last_name="Team")).result == "unchanged"
    renamed = admin.ensure_user(email, m.UserSpec(first_name="Ops", last_name="Crew"))
    assert renamed.result is m.EnsureResult.UPDATED and renamed.object.last_name == "Crew"
