"""pyinfra inventory data for a sandbox: what inventory/sandbox.py hands pyinfra (no I/O but the state file)."""

from __future__ import annotations

from typing import Any

from vibn_mail.sandbox.state import SandboxState, resolve


def host_data(state: SandboxState) -> list[tuple[str, dict[str, Any]]]:
    """(name, data) per host: SSH parameters plus the per-host settings a deploy needs."""
    out = []
    for host in state.hosts:
        out.append(
            (
                host.name,
                {
                    "ssh_hostname": host.ip,
                    "ssh_user": "root",
                    "ssh_key": state.ssh_key,
                    "ssh_known_hosts_file": "/dev/null",
                    "ssh_strict_host_key_checking": "no",
                    "web_hostname": f"postal.{host.name}.test",
                    # The host's only addresses are its sending addresses (PTR, blocklist checks).
                    "public_ipv4": host.ip,
                    "public_ipv6": host.ip6,
                    "admin_email": f"ops@{host.name}.test",
                },
            )
        )
    return out


def sandbox_hosts(name: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """Hosts of the sandbox named ``name``, else $VIBN_SANDBOX, else the only one that is up."""
    return host_data(resolve(name))
