"""Issue 3 on a real host: the Postal contract suite against the emulator *container* that
deploys/all.py runs on a sandbox host, on the stack's own MariaDB (wrong DB wiring would fail here
as it fails Postal). The admin API and Postal web are unpublished, so the suite reaches them through
SSH tunnels, as an operator would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from tests.e2e.conftest import Deployed, sh
from vibn_mail import REPO_ROOT
from vibn_mail.postal import admin_models as m
from vibn_mail.postal.admin_client import AdminClient, AdminSettings
from vibn_mail.sandbox.machine import ssh_args
from vibn_mail.sandbox.state import SandboxState

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _container_ip(sandbox: SandboxState, d: Deployed, service: str) -> str:
    cid = sh(
        sandbox,
        d.host,
        "docker ps -q --filter label=com.docker.compose.project=postal"
        f" --filter label=com.docker.compose.service={service}",
    ).split()[0]
    ips = sh(
        sandbox,
        d.host,
        f"docker inspect -f '{{{{range .NetworkSettings.Networks}}}}{{{{.IPAddress}}}} {{{{end}}}}' {cid}",
    )
    return ips.split()[0]


@pytest.fixture(scope="module")
def tunnels(sandbox: SandboxState, stack: dict[str, Deployed]) -> Iterator[tuple[Deployed, int, int]]:
    d = stack["coolify"]
    web_port, admin_port = _free_port(), _free_port()
    forwards = [
        "-L",
        f"127.0.0.1:{web_port}:{_container_ip(sandbox, d, 'web')}:5000",
        "-L",
        f"127.0.0.1:{admin_port}:{_container_ip(sandbox, d, 'admin-api')}:5001",
    ]
    args = ssh_args(sandbox, d.host)
    proc = subprocess.Popen([*args[:-1], "-N", "-o", "ExitOnForwardFailure=yes", *forwards, args[-1]])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", admin_port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, "the SSH tunnel exited"
                time.sleep(0.2)
        yield d, web_port, admin_port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_contract_suite_passes_against_the_deployed_emulator_container(
    sandbox: SandboxState, tunnels: tuple[Deployed, int, int]
) -> None:
    d, web_port, admin_port = tunnels
    token = sh(sandbox, d.host, "cat /opt/postal/config/admin-api.token").strip()
    # An operator's own API credential, made through the admin API like `vibn-mail apply` will.
    with AdminClient(AdminSettings(url=f"http://127.0.0.1:{admin_port}", token=SecretStr(token))) as admin:
        admin.ensure_organization("e2e-operator", m.OrganizationSpec(name="E2E", owner_email_address="e2e@vibn.test"))
        admin.ensure_server("e2e-operator", "main", m.ServerSpec(name="Main", mode=m.ServerMode.DEVELOPMENT))
        key = admin.ensure_credential("e2e-operator", "main", "ops", m.CredentialSpec(type=m.CredentialType.API))
        api_key = key.object.key
    assert api_key
    webhook_port = _free_port()
    env = {
        **os.environ,
        "VIBN_SANDBOX_POSTAL_URL": f"http://127.0.0.1:{web_port}",
        "VIBN_SANDBOX_POSTAL_WEB_HOSTNAME": d.web_hostname,
        "VIBN_SANDBOX_POSTAL_API_KEY": api_key,
        "VIBN_SANDBOX_POSTAL_ADMIN_URL": f"http://127.0.0.1:{admin_port}",
        "VIBN_SANDBOX_POSTAL_ADMIN_TOKEN": token,
        "VIBN_SANDBOX_POSTAL_SMTP_HOST": d.host.ip,
        "VIBN_SANDBOX_POSTAL_SMTP_PORT": "25",
        "VIBN_SANDBOX_POSTAL_SMTP_HOSTNAME": d.web_hostname,
        # The worker container reaches the build machine's end of the host's link.
        "VIBN_SANDBOX_POSTAL_WEBHOOK_BIND": f"{d.host.gateway}:{webhook_port}",
        "VIBN_SANDBOX_POSTAL_WEBHOOK_URL": f"http://{d.host.gateway}:{webhook_port}/hook",
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rs",
            "tests/contract",
            "-k",
            "sandbox-container",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(proc.stdout[-3000:])
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout
