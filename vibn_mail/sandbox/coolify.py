"""Make a sandbox host a stand-in "Coolify host": the `coolify` network and Coolify's Traefik proxy.

Coolify itself (its Laravel app, database, realtime) is not needed to test what we deploy onto a
Coolify host: the network, the proxy and its label-based routing are what our stack touches.
"""

from __future__ import annotations

from vibn_mail.sandbox.errors import SandboxError
from vibn_mail.sandbox.machine import ssh
from vibn_mail.sandbox.state import HostState, SandboxState
from vibn_mail.templating import render

PROXY_IMAGE = "vibn-local/traefik:3"
NETWORK = "coolify"
#: Compose v2 where the host has it (real Coolify hosts), else Debian bookworm's v1.
COMPOSE = "$(docker compose version >/dev/null 2>&1 && echo 'docker compose' || echo docker-compose)"


def install_proxy(state: SandboxState, host: HostState) -> None:
    compose = render("sandbox/coolify-proxy.yml.j2", image=PROXY_IMAGE, network=NETWORK).encode()
    steps = [
        ("mkdir -p /data/coolify/proxy/dynamic && cat > /data/coolify/proxy/docker-compose.yml", compose),
        (
            f"docker network inspect {NETWORK} >/dev/null 2>&1 || docker network create --attachable {NETWORK}",
            None,
        ),
        (f"cd /data/coolify/proxy && {COMPOSE} -p coolify-proxy up -d 2>&1", None),
    ]
    for command, data in steps:
        proc = ssh(state, host, command, input=data, timeout=300)
        if proc.returncode != 0:
            raise SandboxError(
                f"setting up the Coolify proxy stand-in on {host.name} failed",
                detail=(proc.stderr + proc.stdout).decode()[-2000:],
            )
