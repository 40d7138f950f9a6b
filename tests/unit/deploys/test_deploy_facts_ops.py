"""Fact parsers (captured output → value) and operation decisions (facts → commands)."""

from __future__ import annotations

import pytest

from deploys.config import load_settings
from deploys.facts import (
    FirewallState,
    Stat,
    parse_compose_command,
    parse_firewall_state,
    parse_free_kib,
    parse_meminfo_mib,
    parse_services,
    parse_stat,
)
from deploys.firewall import confirm_deadline
from deploys.ops import (
    FirewallPaths,
    SecretSpec,
    Stack,
    dump_command,
    firewall_apply_commands,
    firewall_confirm_command,
    initialize_commands,
    is_up,
    stack_up_commands,
    upgrade_commands,
)
from deploys.postal import precondition_problems, secret_specs

STACK = Stack(root="/opt/postal", project="postal", compose="docker-compose")
PATHS = FirewallPaths(rules="/etc/vibn-mail/firewall.nft", staged="/etc/x.new", revert="/etc/x.revert")
SPEC = SecretSpec("/opt/postal/config/signing.key", "openssl genrsa 2048", 999, 999, "600")
SETTINGS = load_settings({"web_hostname": "postal.example.com", "admin_email": "ops@example.com"})


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (["docker compose"], "docker compose"),
        (["docker-compose"], "docker-compose"),
        (["none"], None),
        ([], None),
    ],
)
def test_compose_command(output: list[str], expected: str | None) -> None:
    assert parse_compose_command(output) == expected


def test_stat_and_markers() -> None:
    assert parse_stat(["999 999 600 1704"]) == Stat(999, 999, "600", 1704)
    assert parse_stat([]) is None


def test_services_from_docker_ps() -> None:
    out = ["web\tUp 2 minutes (healthy)", "smtp\tRestarting (1) 3 seconds ago", "\tUp 1 second", "garbage"]
    assert parse_services(out) == {"web": "Up 2 minutes (healthy)", "smtp": "Restarting (1) 3 seconds ago"}
    assert is_up("Up 2 minutes (healthy)") and is_up("Up 3 seconds (health: starting)")
    assert not is_up("Up 5 minutes (unhealthy)") and not is_up("Exited (1) 2 minutes ago") and not is_up("")


def test_free_space_and_memory() -> None:
    df = ["Filesystem 1024-blocks Used Available Capacity Mounted on", "/dev/sda1 100 40 60 40% /"]
    assert parse_free_kib(df) == 60
    assert parse_meminfo_mib(["MemTotal:        4046848 kB", "MemFree: 1 kB"]) == 3952


def test_firewall_state() -> None:
    assert parse_firewall_state(["loaded=yes", "sha256=abc"]) == FirewallState(True, "abc")
    assert parse_firewall_state(["loaded=no", "sha256="]) == FirewallState(False, None)


def test_secret_generated_only_when_absent_or_empty() -> None:
    for stat in (None, Stat(999, 999, "600", 0)):
        (cmd,) = secret_commands_for(stat)
        assert cmd.startswith("test -s /opt/postal/config/signing.key ||")
        assert "openssl genrsa 2048" in cmd and "chown 999:999" in cmd and "umask 077" in cmd
    assert secret_commands_for(Stat(999, 999, "600", 1704)) == []


def test_existing_secret_only_gets_owner_and_mode_repaired() -> None:
    assert secret_commands_for(Stat(0, 0, "644", 1704)) == [
        "chown 999:999 /opt/postal/config/signing.key",
        "chmod 600 /opt/postal/config/signing.key",
    ]


def secret_commands_for(stat: Stat | None) -> list[str]:
    from deploys.ops import secret_commands

    return secret_commands(stat, SPEC)


def test_secret_recipes_never_hold_secret_values() -> None:
    specs = secret_specs("/opt/postal")
    for spec in specs:
        assert spec.generate.startswith(("openssl ", "printf ")), spec.path
    by_path = {s.path: s for s in specs}
    assert by_path["/opt/postal/config/signing.key"].uid == 999  # Postal runs as uid 999
    assert by_path["/opt/postal/secrets/postal.env"].mode == "600"
    # env files are derived from files generated before them
    order = [s.path for s in specs]
    assert order.index("/opt/postal/secrets/db-password") < order.index("/opt/postal/secrets/postal.env")


def test_stack_up_only_on_change_or_down_service() -> None:
    up = {"mariadb": "Up 1 hour (healthy)", "web": "Up 1 hour (healthy)"}
    assert stack_up_commands(STACK, up, ["mariadb", "web"], "h1", "h1") == []
    (cmd,) = stack_up_commands(STACK, up, ["mariadb", "web"], "h0", "h1")
    assert "config -q" in cmd and "up -d --remove-orphans" in cmd and "echo h1 >" in cmd
    assert stack_up_commands(STACK, {**up, "web": "Exited (1)"}, ["mariadb", "web"], "h1", "h1")
    assert stack_up_commands(STACK, {"mariadb": up["mariadb"]}, ["mariadb", "web"], "h1", "h1")


def test_initialize_once() -> None:
    assert initialize_commands(STACK, "2026-01-01T00:00:00Z", "3.3.6") == []
    (cmd,) = initialize_commands(STACK, None, "3.3.6")
    assert cmd.index("up -d mariadb") < cmd.index("run --rm -T runner postal initialize") < cmd.index("initialized")


def test_upgrade_dumps_before_migrating() -> None:
    assert upgrade_commands(STACK, "3.3.6", "x", "3.3.6", pull=True) == []
    assert upgrade_commands(STACK, None, None, "3.3.6", pull=True) == []  # first install: initialize's job
    cmds = upgrade_commands(STACK, "3.3.5", "x", "3.3.6", pull=True)
    assert "mariadb-dump" in cmds[0] and "backups/postal-3.3.5-" in cmds[0]
    assert cmds[1].endswith("pull web")
    assert cmds[-2].endswith("run --rm -T runner postal upgrade")
    assert cmds[-1] == "echo 3.3.6 > /opt/postal/state/postal-version"
    assert not any("pull" in c for c in upgrade_commands(STACK, "3.3.5", "x", "3.3.6", pull=False))


def test_dump_keeps_password_inside_the_container() -> None:
    cmd = dump_command(STACK, "3.3.5")
    assert "$MARIADB_ROOT_PASSWORD" in cmd and "-p" not in cmd.split("mariadb-dump")[1].split()[0]


def test_firewall_apply_schedules_revert_before_loading() -> None:
    assert firewall_apply_commands(FirewallState(True, "s"), "s", PATHS, "inet vibn_mail", 90) == []
    cmds = firewall_apply_commands(FirewallState(True, "old"), "s", PATHS, "inet vibn_mail", 90)
    assert cmds[0] == "nft -c -f /etc/x.new"
    revert = next(i for i, c in enumerate(cmds) if c.startswith("systemd-run"))
    load = cmds.index("nft -f /etc/x.new")
    assert revert < load and "--on-active=90s" in cmds[revert]
    # the revert restores the last confirmed boot rules, or drops our table if there are none/they fail
    assert "cp /etc/vibn-mail/firewall.nft /etc/x.revert" in cmds[1]
    assert "delete table inet vibn_mail" in cmds[1]
    assert "nft -f /etc/x.revert || nft delete table inet vibn_mail" in cmds[revert]
    assert firewall_apply_commands(FirewallState(False, "s"), "s", PATHS, "inet vibn_mail", 90)  # table gone


def test_confirm_cancels_revert_then_promotes_rules() -> None:
    cmd = firewall_confirm_command(PATHS)
    assert cmd.index("systemctl stop vibn-mail-firewall-revert.timer") < cmd.index("/etc/vibn-mail/firewall.nft")
    assert confirm_deadline(90, 100.0) == 180.0


def test_preconditions_report_each_problem_with_its_fix() -> None:
    problems = precondition_problems(SETTINGS, "CentOS", False, None, 1024, 512, False)
    text = "\n".join(problems)
    assert "Debian 12" in text and "install_docker=True" in text
    assert "min_disk_free_gb" in text and "min_memory_mb" in text
    assert precondition_problems(SETTINGS, "Debian", True, "docker compose", 10**8, 4096, True) == []
    no_net = precondition_problems(SETTINGS, "Debian", True, "docker compose", 10**8, 4096, False)
    assert any("proxy_mode='standalone'" in p for p in no_net)


def test_restore_loads_the_named_dump_then_migrates() -> None:
    from deploys.restore import restore_commands

    cmds = restore_commands(STACK, "postal-3.3.5-20260101T000000Z.sql.gz")
    assert cmds[0] == "test -s /opt/postal/backups/postal-3.3.5-20260101T000000Z.sql.gz"
    load = next(c for c in cmds if c.startswith("gunzip -c"))
    assert "$MARIADB_ROOT_PASSWORD" in load and "exec -T mariadb" in load
    assert cmds.index(load) < next(i for i, c in enumerate(cmds) if c.endswith("postal upgrade"))
    with pytest.raises(ValueError, match="restore_dump"):
        restore_commands(STACK, "../etc/shadow")
