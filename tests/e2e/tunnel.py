"""SSH tunnels to the stack's unpublished services (Postal web 5000, admin API 5001), as an operator uses."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pydantic import SecretStr

from tests.e2e.conftest import Deployed, sh
from vibn_mail.postal.admin_client import AdminClient, AdminSettings
from vibn_mail.sandbox.machine import ssh_args
from vibn_mail.sandbox.state import SandboxState


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def container_ip(sandbox: SandboxState, d: Deployed, service: str) -> str:
    cid = sh(
        sandbox,
        d.host,
        "docker ps -q --filter label=com.docker.compose.project=postal"
        f" --filter label=com.docker.compose.service={service}",
    ).split()[0]
    fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"
    return sh(sandbox, d.host, f"docker inspect -f '{fmt}' {cid}").split()[0]


@dataclass(frozen=True)
class Tunnel:
    web_url: str
    admin_url: str
    admin_token: str

    def admin(self) -> AdminClient:
        return AdminClient(AdminSettings(url=self.admin_url, token=SecretStr(self.admin_token)))


@contextmanager
def stack_tunnel(sandbox: SandboxState, d: Deployed) -> Iterator[Tunnel]:
    """Forward local ports to the web and admin-api containers; closed (by pid) on exit."""
    web_port, admin_port = free_port(), free_port()
    forwards = [
        "-L",
        f"127.0.0.1:{web_port}:{container_ip(sandbox, d, 'web')}:5000",
        "-L",
        f"127.0.0.1:{admin_port}:{container_ip(sandbox, d, 'admin-api')}:5001",
    ]
    args = ssh_args(sandbox, d.host)
    proc = subprocess.Popen([*args[:-1], "-N", "-o", "ExitOnForwardFailure=yes", *forwards, args[-1]])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", admin_port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, "the SSH tunnel exited"
                assert time.monotonic() < deadline, "the SSH tunnel did not open within 30 s"
                time.sleep(0.2)
        token = sh(sandbox, d.host, "cat /opt/postal/config/admin-api.token").strip()
        yield Tunnel(f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{admin_port}", token)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
