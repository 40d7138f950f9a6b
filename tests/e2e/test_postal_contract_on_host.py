"""Issue 3 on a real host: the Postal contract suite against the emulator *container* that
deploys/all.py runs on a sandbox host, on the stack's own MariaDB (wrong DB wiring would fail here
as it fails Postal). The admin API and Postal web are unpublished, so the suite reaches them through
SSH tunnels, as an operator would."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Deployed
from tests.e2e.converge import run_pytest
from tests.e2e.tunnel import Tunnel, free_port, stack_tunnel
from vibn_mail.postal import admin_models as m
from vibn_mail.sandbox.state import SandboxState

pytestmark = pytest.mark.e2e


def test_contract_suite_passes_against_the_deployed_emulator_container(
    sandbox: SandboxState, stack: dict[str, Deployed]
) -> None:
    d = stack["coolify"]
    with stack_tunnel(sandbox, d) as tunnel:
        _run_contract_suite(d, tunnel)


def _run_contract_suite(d: Deployed, tunnel: Tunnel) -> None:
    # An operator's own API credential, made through the admin API like `vibn-mail apply` will.
    with tunnel.admin() as admin:
        admin.ensure_organization("e2e-operator", m.OrganizationSpec(name="E2E", owner_email_address="e2e@vibn.test"))
        admin.ensure_server("e2e-operator", "main", m.ServerSpec(name="Main", mode=m.ServerMode.DEVELOPMENT))
        key = admin.ensure_credential("e2e-operator", "main", "ops", m.CredentialSpec(type=m.CredentialType.API))
        api_key = key.object.key
    assert api_key
    webhook_port = free_port()
    env = {
        "VIBN_SANDBOX_POSTAL_URL": tunnel.web_url,
        "VIBN_SANDBOX_POSTAL_WEB_HOSTNAME": d.web_hostname,
        "VIBN_SANDBOX_POSTAL_API_KEY": api_key,
        "VIBN_SANDBOX_POSTAL_ADMIN_URL": tunnel.admin_url,
        "VIBN_SANDBOX_POSTAL_ADMIN_TOKEN": tunnel.admin_token,
        "VIBN_SANDBOX_POSTAL_SMTP_HOST": d.host.ip,
        "VIBN_SANDBOX_POSTAL_SMTP_PORT": "25",
        "VIBN_SANDBOX_POSTAL_SMTP_HOSTNAME": d.web_hostname,
        # The worker container reaches the build machine's end of the host's link.
        "VIBN_SANDBOX_POSTAL_WEBHOOK_BIND": f"{d.host.gateway}:{webhook_port}",
        "VIBN_SANDBOX_POSTAL_WEBHOOK_URL": f"http://{d.host.gateway}:{webhook_port}/hook",
    }
    proc = run_pytest("-rs", "tests/contract", "-k", "sandbox-container", env=env)
    print(proc.stdout[-3000:])
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout
