"""Running commands on the build machine, and the preflight that turns missing tools into fixes."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

from vibn_mail.sandbox.errors import SandboxError

#: tool → Debian package that provides it
REQUIRED_TOOLS = {
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "ip": "iproute2",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "tinyproxy": "tinyproxy",
    "findmnt": "util-linux",
}


def run(
    args: Sequence[str],
    *,
    check: bool = True,
    input: bytes | None = None,
    timeout: float | None = 600,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing output; a failure raises with the command's stderr."""
    proc = subprocess.run(
        list(args),
        input=input.decode() if input is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env} if env else None,
        check=False,
    )
    if check and proc.returncode != 0:
        raise SandboxError(
            f"command failed ({proc.returncode}): {' '.join(args)}",
            detail=(proc.stderr or proc.stdout).strip()[-3000:],
        )
    return proc


def preflight() -> None:
    """Refuse early, with the fix, when this machine cannot host a sandbox."""
    if os.geteuid() != 0:
        raise SandboxError(
            "the sandbox needs root (network namespaces, veth pairs and systemd-nspawn)",
            fix="run it as root, e.g. `sudo vibn-mail sandbox up`",
        )
    missing = sorted({pkg for tool, pkg in REQUIRED_TOOLS.items() if shutil.which(tool) is None})
    if missing:
        raise SandboxError(
            f"missing tools on this machine (packages: {', '.join(missing)})",
            fix=f"apt-get install -y {' '.join(missing)}   (or run `make deps`)",
        )
