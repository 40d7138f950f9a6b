"""Fixtures of the Postal contract suite: one parametrised target fixture and a tenant per target.

Every test runs once per entry of ``targets.TARGETS``; targets that are not configured skip with
the reason. The tenant (organization, Development-mode server, API and SMTP credentials, verified and
unverified domains) is made through the admin API and deleted at the end.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from tests.contract.postal.targets import TARGETS, PostalTarget
from vibn_mail.postal import admin_models as m
from vibn_mail.postal.admin_client import AdminClient, AdminSettings
from vibn_mail.postal.send_client import PostalSendClient, SendSettings


def pytest_configure(config: pytest.Config) -> None:
    # Postal accepts SMTP AUTH without TLS when TLS is off; aiosmtpd warns about it on every session.
    config.addinivalue_line("filterwarnings", "ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture(scope="session", params=list(TARGETS))
def postal_target(request: pytest.FixtureRequest) -> Iterator[PostalTarget]:
    with ExitStack() as stack:
        yield TARGETS[request.param](stack)


@pytest.fixture(scope="session")
def admin(postal_target: PostalTarget) -> Iterator[AdminClient]:
    settings = AdminSettings(url=postal_target.admin_url, token=SecretStr(postal_target.admin_token))
    with AdminClient(settings) as client:
        yield client


@dataclass(frozen=True)
class Tenant:
    org: str
    server: str
    api_key: str
    smtp_key: str
    verified_domain: str
    unverified_domain: str
    org_domain: str


@pytest.fixture(scope="session")
def tenant(admin: AdminClient) -> Iterator[Tenant]:
    suffix = secrets.token_hex(4)
    org = f"contract-{suffix}"
    admin.ensure_organization(
        org, m.OrganizationSpec(name=f"Contract {suffix}", owner_email_address=f"contract-{suffix}@vibn.test")
    )
    try:
        # Development mode: a real Postal holds the messages instead of delivering them.
        admin.ensure_server(org, "main", m.ServerSpec(name="Main", mode=m.ServerMode.DEVELOPMENT))
        api = admin.ensure_credential(org, "main", "contract-api", m.CredentialSpec(type=m.CredentialType.API))
        smtp = admin.ensure_credential(org, "main", "contract-smtp", m.CredentialSpec(type=m.CredentialType.SMTP))
        assert api.object.key and smtp.object.key
        tenant = Tenant(
            org=org,
            server="main",
            api_key=api.object.key,
            smtp_key=smtp.object.key,
            verified_domain=f"verified-{suffix}.contract.test",
            unverified_domain=f"unverified-{suffix}.contract.test",
            org_domain=f"org-{suffix}.contract.test",
        )
        admin.ensure_domain(org, "main", tenant.verified_domain, m.DomainSpec(verified=True))
        admin.ensure_domain(org, "main", tenant.unverified_domain, m.DomainSpec())
        admin.ensure_domain(org, None, tenant.org_domain, m.DomainSpec(verified=True))
        yield tenant
    finally:
        admin.delete_organization(org)


@pytest.fixture(scope="session")
def send(postal_target: PostalTarget, tenant: Tenant) -> Iterator[PostalSendClient]:
    settings = SendSettings(
        api_url=postal_target.web_url,
        api_key=SecretStr(tenant.api_key),
        web_hostname=postal_target.web_hostname,
    )
    with PostalSendClient(settings) as client:
        yield client
