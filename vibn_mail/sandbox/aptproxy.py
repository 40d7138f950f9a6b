"""apt for the guests: a tinyproxy on the build-machine side of each veth (sandbox-hosts.md §4).

Guests have no route out; apt's ``Acquire::http::Proxy`` points at this proxy, which fetches from the
machine's Debian mirror. One proxy per host, bound only to that host's link address and allowing only
its /30, so two sandboxes never share or collide.
(apt-cacher-ng was tried first: its resolver ignores /etc/hosts, which some build machines rely on.)
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from vibn_mail.sandbox.errors import SandboxError
from vibn_mail.sandbox.processes import start_time
from vibn_mail.sandbox.state import HostState
from vibn_mail.templating import render

PORT = 3142


def start(directory: Path, host: HostState) -> tuple[int, int | None]:
    """Start the host's proxy; returns (pid, start time). Raises with its output if it does not listen."""
    conf = directory / f"apt-proxy-{host.index}.conf"
    conf.write_text(
        render(
            "sandbox/tinyproxy.conf.j2",
            host=host.name,
            port=PORT,
            listen=host.gateway,
            allow=host.host_address,
        )
    )
    log_path = directory / f"apt-proxy-{host.index}.out"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["tinyproxy", "-d", "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection((host.gateway, PORT), timeout=1):
                return proc.pid, start_time(proc.pid)
        except OSError:
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise SandboxError(
        f"the apt proxy (tinyproxy) for {host.name} did not start",
        fix=f"check that nothing else listens on {host.gateway}:{PORT}",
        detail=log_path.read_text()[-2000:],
    )
