"""Doctor facts: recorded command output → fact → judgement, without a host."""

from __future__ import annotations

from pathlib import Path

import pytest

from vibn_mail.checks.results import Status
from vibn_mail.doctor import facts
from vibn_mail.doctor.inventory import InventoryError, load_inventory
from vibn_mail.doctor.run import (
    DoctorSettings,
    check_disk,
    check_docker,
    check_firewall,
    check_memory,
    check_postal_health,
)
from vibn_mail.doctor.runner import CommandOutput, SshRunner, SshTarget

FIXTURES = Path(__file__).parent / "fixtures"


def out(name: str, code: int = 0, stderr: str = "") -> CommandOutput:
    return CommandOutput(code, (FIXTURES / name).read_text() if name else "", stderr)


def test_firewall_table_present() -> None:
    fact = facts.firewall_process(out("nft_table.json"))
    assert fact == facts.FirewallTable(True, ("input", "forward"), 2)
    assert check_firewall(fact, "h").status is Status.OK


def test_firewall_table_absent_vs_nft_failing() -> None:
    absent = facts.firewall_process(out("", 1, "Error: No such file or directory\nlist table inet vibn_mail"))
    assert check_firewall(absent, "h").status is Status.MISSING
    denied = facts.firewall_process(out("", 1, "Error: Operation not permitted"))
    assert check_firewall(denied, "h").status is Status.UNKNOWN


def test_docker_and_compose_v1_versions() -> None:
    fact = facts.docker_process(out("docker_v20.txt"))
    assert (fact.server, fact.compose, fact.compose_kind) == ("20.10.24+dfsg1", "1.29.2", "standalone")
    assert check_docker(fact, "h").status is Status.OK


def test_docker_missing_and_compose_missing() -> None:
    none = facts.docker_process(CommandOutput(0, "sh: 1: docker: not found\n--compose--\n", ""))
    assert check_docker(none, "h").status is Status.MISSING
    no_compose = facts.docker_process(CommandOutput(0, (FIXTURES / "docker_v20.txt").read_text().split("--")[0], ""))
    assert check_docker(no_compose, "h").status is Status.INVALID


def test_disk_deduplicates_mounts_and_flags_low_space() -> None:
    fss = facts.disk_process(out("df.txt"))
    assert [f.mount for f in fss] == ["/", "/opt"]
    results = check_disk(fss, "h")
    assert [(r.check, r.status) for r in results] == [
        ("host.disk./", Status.INVALID),
        ("host.disk./opt", Status.OK),
    ]


def test_memory() -> None:
    mem = facts.memory_process(out("meminfo.txt"))
    assert (mem.total_kb, mem.available_kb) == (4026532, 1843200)
    assert check_memory(mem, "h").status is Status.OK
    assert check_memory(facts.Memory(1024 * 1024, 900 * 1024), "h").status is Status.WARN


def test_postal_health_reads_compose_containers_and_urls() -> None:
    fact = facts.postal_health_process(out("docker_ps_postal.txt"))
    assert [(c.service, c.health) for c in fact.containers] == [
        ("mariadb", None),
        ("web", "healthy"),
        ("worker", "unhealthy"),
    ]
    assert fact.urls == {"http://127.0.0.1:9091/health": "200", "http://127.0.0.1:9090/health": "000"}
    result = check_postal_health(fact, "h", "postal")
    assert result.status is Status.INVALID
    assert "worker running (unhealthy)" in result.observed and "9090/health → 000" in result.observed


def test_postal_health_command_quotes_urls() -> None:
    cmd = facts.postal_health_command("postal", ["http://127.0.0.1:9090/health?x=1&y=2"])
    assert "'http://127.0.0.1:9090/health?x=1&y=2'" in cmd and "com.docker.compose.project=postal" in cmd


def test_coolify_evidence() -> None:
    assert facts.coolify_process(CommandOutput(0, "source-dir\ncoolify-proxy\n", "")) == (
        "source-dir",
        "coolify-proxy",
    )
    assert facts.coolify_process(CommandOutput(0, "", "")) == ()


def test_ssh_command_line_from_pyinfra_data() -> None:
    target = SshTarget.from_host_data(
        "sandbox1",
        {
            "ssh_hostname": "10.1.2.2",
            "ssh_user": "root",
            "ssh_port": 2222,
            "ssh_key": "/k/id",
            "ssh_known_hosts_file": "/dev/null",
            "ssh_strict_host_key_checking": False,
            "ssh_config_file": "/s/config",
            "doctor_health_urls": ["http://x"],
        },
    )
    argv = SshRunner(target).argv("nft -j list table inet vibn_mail")
    assert argv[0] == "ssh" and argv[-2:] == ["10.1.2.2", "nft -j list table inet vibn_mail"]
    joined = " ".join(argv)
    for part in (
        "-p 2222",
        "-i /k/id",
        "-F /s/config",
        "-l root",
        "UserKnownHostsFile=/dev/null",
        "StrictHostKeyChecking=no",
        "BatchMode=yes",
    ):
        assert part in joined


def test_bad_ssh_option_names_the_field() -> None:
    with pytest.raises(ValueError, match="ssh_strict_host_key_checking"):
        SshTarget.from_host_data("h", {"ssh_strict_host_key_checking": "maybe"})


def test_inventory_with_group_data(tmp_path: Path) -> None:
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "all.py").write_text("ssh_user = 'root'\ncompose_project = 'mail'\n")
    inv = tmp_path / "inventory.py"
    inv.write_text(
        "mail = [('sandbox1', {'ssh_hostname': '10.9.0.2', 'public_ipv4': '192.0.2.10',"
        " 'smtp_hostname': 'mx.postal.test'}), 'plain.example']\n"
    )
    hosts = {h.name: h for h in load_inventory(inv)}
    assert set(hosts) == {"sandbox1", "plain.example"}
    assert hosts["sandbox1"].data["ssh_user"] == "root"
    settings = DoctorSettings.from_host_data(hosts["sandbox1"].data)
    assert (settings.helo, settings.compose_project, settings.public_ipv4) == (
        "mx.postal.test",
        "mail",
        "192.0.2.10",
    )


def test_inventory_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="is not a file"):
        load_inventory(tmp_path / "nope.py")
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(InventoryError, match="defines no hosts"):
        load_inventory(empty)
