"""Signed webhooks, SMTP submission and domain DNS checks, where the target offers the means."""

from __future__ import annotations

import base64
import json
import smtplib
import ssl
from email.message import EmailMessage

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.contract.postal.conftest import Tenant
from tests.contract.postal.targets import PostalTarget
from vibn_mail.postal import admin_models as m
from vibn_mail.postal.admin_client import AdminClient
from vibn_mail.postal.send_client import OutgoingMessage, PostalSendClient


def _jwks_key(target: PostalTarget) -> tuple[str, rsa.RSAPublicKey]:
    response = httpx.get(f"{target.web_url}/.well-known/jwks.json", headers={"Host": target.web_hostname}, timeout=30)
    (jwk,) = response.json()["keys"]
    assert (jwk["kty"], jwk["alg"], jwk["use"]) == ("RSA", "RS256", "sig")

    def number(value: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")

    return jwk["kid"], rsa.RSAPublicNumbers(number(jwk["e"]), number(jwk["n"])).public_key()


def test_webhooks_are_signed_with_the_jwks_key(
    postal_target: PostalTarget, admin: AdminClient, send: PostalSendClient, tenant: Tenant
) -> None:
    receiver = postal_target.webhooks
    if receiver is None:
        pytest.skip(f"{postal_target.name}: no webhook receiver (set <prefix>WEBHOOK_BIND and WEBHOOK_URL)")
    admin.ensure_webhook(tenant.org, tenant.server, "contract", m.WebhookSpec(url=receiver.url))
    try:
        ref = send.send_message(
            OutgoingMessage.model_validate(
                {
                    "to": ["hook@recipients.contract.test"],
                    "from": f"noreply@{tenant.verified_domain}",
                    "plain_body": "hook",
                    "subject": "webhook contract",
                }
            )
        ).messages["hook@recipients.contract.test"]
        kid, public_key = _jwks_key(postal_target)
        while True:
            hook = receiver.wait(timeout=60)
            body = json.loads(hook.body)
            if body["payload"].get("message", {}).get("id") == ref.id:
                break
        assert set(body) == {"event", "timestamp", "payload", "uuid"}
        assert body["event"] == "MessageHeld"
        assert hook.headers["content-type"].startswith("application/json")
        assert hook.headers["x-postal-signature-kid"] == kid
        sha256 = base64.b64decode(hook.headers["x-postal-signature-256"])
        sha1 = base64.b64decode(hook.headers["x-postal-signature"])
        public_key.verify(sha256, hook.body, padding.PKCS1v15(), hashes.SHA256())
        public_key.verify(sha1, hook.body, padding.PKCS1v15(), hashes.SHA1())
        with pytest.raises(InvalidSignature):
            public_key.verify(sha256, hook.body + b" ", padding.PKCS1v15(), hashes.SHA256())
    finally:
        admin.run(admin.calls.delete_webhook(tenant.org, tenant.server, "contract"))


def test_smtp_submission_with_credential_key(postal_target: PostalTarget, tenant: Tenant) -> None:
    if postal_target.smtp is None:
        pytest.skip(f"{postal_target.name}: no SMTP address (set <prefix>SMTP_HOST and SMTP_PORT)")
    host, port = postal_target.smtp
    message = EmailMessage()
    message["From"] = f"noreply@{tenant.verified_domain}"
    message["To"] = "smtp@recipients.contract.test"
    message["Subject"] = "smtp contract"
    message.set_content("via smtp")
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        code, banner = smtp.ehlo()
        assert code == 250
        if postal_target.smtp_hostname:
            assert postal_target.smtp_hostname.encode() in banner
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login("anyone", "not-a-credential-key")
        smtp.login("any-username", tenant.smtp_key)
        refused = smtp.send_message(message)
    assert refused == {}


def test_starttls_when_offered_upgrades_and_keeps_auth(postal_target: PostalTarget, tenant: Tenant) -> None:
    """Postal with smtp_server.tls_enabled advertises STARTTLS once, before TLS; AUTH works inside it."""
    if postal_target.smtp is None:
        pytest.skip(f"{postal_target.name}: no SMTP address (set <prefix>SMTP_HOST and SMTP_PORT)")
    # Opportunistic STARTTLS does not validate certificates; a self-signed one must be accepted.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP(*postal_target.smtp, timeout=30) as smtp:
        smtp.ehlo()
        if not smtp.has_extn("starttls"):
            pytest.skip(f"{postal_target.name}: smtp_server.tls_enabled is off (tests/unit/postal covers the emulator)")
        assert smtp.starttls(context=context)[0] == 220
        smtp.ehlo()
        assert not smtp.has_extn("starttls") and smtp.has_extn("auth")
        assert smtp.login("any-username", tenant.smtp_key)[0] == 235


def test_check_dns_follows_postal_rules(postal_target: PostalTarget, admin: AdminClient, tenant: Tenant) -> None:
    domain = admin.run(admin.calls.get_domain(tenant.org, tenant.server, tenant.unverified_domain))
    publish = postal_target.publish_dns
    if publish is None:
        checked = admin.check_dns(tenant.org, tenant.server, domain.name)
        assert checked.dns_checked_at is not None
        assert checked.checks.spf.status in set(m.CheckStatus)
        return
    publish(
        {
            domain.name: [("TXT", domain.spf_record), ("TXT", domain.verification_record or "")],
            f"{domain.dkim_record_name}.{domain.name}": [("TXT", domain.dkim_record.rstrip(";"))],
            f"psrp.{domain.name}": [("CNAME", domain.return_path_target + ".")],
        }
    )
    checked = admin.check_dns(tenant.org, tenant.server, domain.name)
    assert checked.checks.spf.status is m.CheckStatus.OK
    assert checked.checks.dkim.status is m.CheckStatus.OK  # a missing final ";" is tolerated, as in Postal
    assert checked.checks.return_path.status is m.CheckStatus.OK
    assert checked.checks.mx.status is m.CheckStatus.MISSING and checked.checks.mx.error
    assert checked.dns_ok
    assert admin.verify_domain(tenant.org, tenant.server, domain.name).verified
    publish(
        {
            domain.name: [("TXT", "v=spf1 -all")],
            f"{domain.dkim_record_name}.{domain.name}": [("TXT", "v=DKIM1; p=other")],
        }
    )
    broken = admin.check_dns(tenant.org, tenant.server, domain.name)
    assert broken.checks.spf.status is m.CheckStatus.INVALID
    assert broken.checks.dkim.status is m.CheckStatus.INVALID
    assert not broken.dns_ok
