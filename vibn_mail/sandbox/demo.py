"""`make demo`: a sandbox "Coolify host" with the whole stack deployed by the production deploy."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vibn_mail import REPO_ROOT
from vibn_mail.sandbox import coolify, manager
from vibn_mail.sandbox.errors import SandboxError
from vibn_mail.sandbox.health import wait_healthy
from vibn_mail.sandbox.machine import ssh
from vibn_mail.sandbox.state import SandboxState, load, state_dir

NAME = "demo"


@dataclass(frozen=True)
class DemoReport:
    state: SandboxState
    deploy_seconds: float
    containers: str
    web_hostname: str
    log: Path


def run(progress: Callable[[str], None]) -> DemoReport:
    if (state_dir(NAME) / "state.json").exists():
        progress(f"reusing sandbox {NAME!r} (`make demo-down` removes it)")
        state = load(NAME)
    else:
        state = manager.up(NAME, 1, progress=progress)
    host = state.hosts[0]
    progress(f"{host.name}: Coolify's proxy (Traefik) on the `coolify` network")
    coolify.install_proxy(state, host)
    progress(f"{host.name}: pyinfra inventory/sandbox.py deploys/all.py (firewall, then the Postal stack)")
    log = Path(state.directory) / "demo-deploy.log"
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "pyinfra", "-y", "inventory/sandbox.py", "deploys/all.py"],
            cwd=REPO_ROOT,
            env={**os.environ, "VIBN_SANDBOX": NAME},
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise SandboxError("the deploy failed", fix=f"read {log}", detail=tail)
    progress(f"{host.name}: waiting for the containers' healthchecks")
    wait_healthy(state, host)
    containers = ssh(
        state, host, "docker ps --format 'table {{.Names}}\\t{{.Status}}\\t{{.Ports}}'", timeout=60
    ).stdout.decode()
    return DemoReport(state, seconds, containers, f"postal.{host.name}.test", log)
