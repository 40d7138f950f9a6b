"""Waiting for a deployed Postal stack on a sandbox host to settle."""

from __future__ import annotations

import time

from vibn_mail.sandbox.errors import SandboxError
from vibn_mail.sandbox.machine import ssh
from vibn_mail.sandbox.state import HostState, SandboxState

STATUS = "docker ps --filter label=com.docker.compose.project={project} --format '{{{{.Names}}}}\\t{{{{.Status}}}}'"


def wait_healthy(
    state: SandboxState, host: HostState, *, project: str = "postal", minimum: int = 5, timeout: float = 180
) -> str:
    """Until at least ``minimum`` containers of ``project`` run and none is starting or unhealthy.

    A deploy returns once containers are created; their healthchecks take a few intervals after that.
    Returns the final `docker ps` listing.
    """
    deadline = time.monotonic() + timeout
    listing = ""
    while time.monotonic() < deadline:
        proc = ssh(state, host, STATUS.format(project=project), timeout=60)
        listing = proc.stdout.decode()
        lines = listing.splitlines()
        if len(lines) >= minimum and not any("starting" in line or "unhealthy" in line for line in lines):
            return listing
        time.sleep(2)
    raise SandboxError(
        f"the {project} stack on {host.name} did not become healthy within {timeout:.0f} s",
        fix=f"look at `vibn-mail sandbox ssh --name {state.name} {host.index} -- docker ps -a`",
        detail=listing,
    )
