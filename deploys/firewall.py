"""Deploy the host firewall: one nftables table of ours, ``table inet vibn_mail``.

Run alone: ``pyinfra inventory/production.py deploys/firewall.py``.

Stages: install nftables → stage the rendered rules and the boot unit → commit-confirmed apply:
``nft -c -f`` validates, the current table is saved, a transient systemd timer is scheduled to
restore it after ``firewall_revert_seconds``, then the new rules load. Only when a *fresh* SSH
connection (opened from the control machine with this host's connection settings) succeeds is the
timer stopped and the staged file promoted to the boot rules. A rule set that locks SSH out
therefore undoes itself; the deploy fails and says so.
"""

from __future__ import annotations

import hashlib
import time
from io import StringIO

from pyinfra import logger
from pyinfra.api.deploy import deploy
from pyinfra.api.exceptions import DeployError
from pyinfra.connectors.ssh import SSHConnector
from pyinfra.context import host
from pyinfra.operations import apt, files, python, systemd

from deploys.config import HostSettings
from deploys.ops import FirewallPaths, firewall_apply, firewall_confirm_command
from deploys.postal import host_settings
from deploys.render import FIREWALL_RULES_PATH, FIREWALL_UNIT_NAME, render_firewall_unit, render_nftables

TABLE = "inet vibn_mail"
PATHS = FirewallPaths(
    rules=FIREWALL_RULES_PATH,
    staged="/etc/vibn-mail/firewall.nft.new",
    revert="/etc/vibn-mail/firewall.revert.nft",
)
# Leave the revert timer this much time after our last confirmation attempt.
CONFIRM_MARGIN_SECONDS = 10


def confirm_deadline(revert_seconds: int, started: float) -> float:
    """Give up confirming early enough that a failure is reported before the revert fires."""
    return started + max(5.0, revert_seconds - CONFIRM_MARGIN_SECONDS)


def _run_on_fresh_ssh(command: str) -> None:
    fresh = SSHConnector(host.state, host)
    fresh.connect()
    try:
        assert fresh.client is not None
        _, stdout, stderr = fresh.client.exec_command(command, timeout=30)
        status = stdout.channel.recv_exit_status()
        if status != 0:
            raise RuntimeError(f"exit {status}: {stderr.read().decode(errors='replace').strip()}")
    finally:
        fresh.disconnect()


def confirm_firewall(paths: FirewallPaths, revert_seconds: int) -> None:
    """Cancel the pending revert over a brand-new SSH connection (python.call, control machine side)."""
    command = firewall_confirm_command(paths)
    if not isinstance(host.connector, SSHConnector):
        # No SSH to lose (e.g. @local): confirm over the existing connection.
        ok, output = host.run_shell_command(command)
        if not ok:
            raise DeployError(f"{host.name}: confirming the firewall failed: {output.stderr}")
        return
    started = time.monotonic()
    deadline = confirm_deadline(revert_seconds, started)
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            _run_on_fresh_ssh(command)
            logger.info(f"{host.name}: fresh SSH login worked; firewall confirmed, revert cancelled")
            return
        except Exception as exc:  # any failure to log in again means: do not confirm
            last_error = exc
            time.sleep(3)
    raise DeployError(
        f"{host.name}: no fresh SSH login after the new firewall rules ({last_error}); the previous rules "
        f"come back within {revert_seconds}s of the apply. Fix firewall_ssh_sources / firewall_ssh_port."
    )


@deploy("Firewall (nftables table inet vibn_mail)")
def deploy_firewall(settings: HostSettings | None = None) -> None:
    s = settings or host_settings()
    if not s.firewall_enabled:
        return
    rules = render_nftables(s)

    apt.packages(name="Install nftables", packages=["nftables"])
    files.directory(name="Directory /etc/vibn-mail", path="/etc/vibn-mail", user="root", group="root", mode="700")
    files.put(
        name="Stage firewall rules",
        src=StringIO(rules),
        dest=PATHS.staged,
        user="root",
        group="root",
        mode="600",
    )
    unit = files.put(
        name=f"Boot unit {FIREWALL_UNIT_NAME}",
        src=StringIO(render_firewall_unit()),
        dest=f"/etc/systemd/system/{FIREWALL_UNIT_NAME}",
        user="root",
        group="root",
        mode="644",
    )
    applied = firewall_apply(
        name="Apply firewall (revert scheduled)",
        paths=PATHS,
        desired_sha256=hashlib.sha256(rules.encode()).hexdigest(),
        table=TABLE,
        revert_seconds=s.firewall_revert_seconds,
    )
    python.call(
        name="Confirm firewall over a fresh SSH connection",
        function=confirm_firewall,
        paths=PATHS,
        revert_seconds=s.firewall_revert_seconds,
        _if=applied.did_change,
    )
    # Enabled, not started: the rules are already loaded and the unit only re-loads them at boot.
    systemd.service(
        name=f"Enable {FIREWALL_UNIT_NAME} at boot",
        service=FIREWALL_UNIT_NAME,
        running=None,
        enabled=True,
        daemon_reload=unit.will_change,
    )


if __name__ == "builtins":  # executed by the pyinfra CLI as a deploy file
    deploy_firewall()
