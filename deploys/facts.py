"""pyinfra facts the Postal and firewall deploys decide on.

Each fact is a shell ``command()`` and a pure ``process(output)``; the parsing lives in plain
functions so unit tests feed them captured output without a host.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from pyinfra.api.facts import FactBase


@dataclass(frozen=True)
class Stat:
    """Numeric ownership and mode: names differ between hosts (uid 999 is Postal's, not the host's)."""

    uid: int
    gid: int
    mode: str
    size: int


def parse_compose_command(output: list[str]) -> str | None:
    line = output[0].strip() if output else ""
    return line if line in ("docker compose", "docker-compose") else None


def parse_stat(output: list[str]) -> Stat | None:
    fields = output[0].split() if output else []
    if len(fields) != 4:
        return None
    uid, gid, mode, size = fields
    return Stat(uid=int(uid), gid=int(gid), mode=mode, size=int(size))


def parse_marker(output: list[str]) -> str | None:
    text = "\n".join(output).strip()
    return text or None


def parse_services(output: list[str]) -> dict[str, str]:
    """``service<TAB>status`` lines from ``docker ps`` → {service: status}."""
    services: dict[str, str] = {}
    for line in output:
        name, sep, status = line.partition("\t")
        if sep and name.strip():
            services[name.strip()] = status.strip()
    return services


def parse_free_kib(output: list[str]) -> int | None:
    # `df -Pk PATH` → header, then "fs blocks used available capacity mount"
    for line in output[1:]:
        fields = line.split()
        if len(fields) >= 6 and fields[3].isdigit():
            return int(fields[3])
    return None


def parse_firewall_state(output: list[str]) -> FirewallState:
    loaded = False
    rules_sha = None
    for line in output:
        key, _, value = line.partition("=")
        if key == "loaded":
            loaded = value.strip() == "yes"
        elif key == "sha256" and value.strip():
            rules_sha = value.strip()
    return FirewallState(loaded=loaded, rules_sha256=rules_sha)


@dataclass(frozen=True)
class FirewallState:
    loaded: bool
    rules_sha256: str | None


class ComposeCommand(FactBase[str | None]):
    """``docker compose`` (v2 plugin) if it works, else ``docker-compose`` (v1, bookworm), else None."""

    def command(self) -> str:
        return (
            "if docker compose version >/dev/null 2>&1; then echo 'docker compose'; "
            "elif command -v docker-compose >/dev/null 2>&1; then echo docker-compose; "
            "else echo none; fi"
        )

    def process(self, output: list[str]) -> str | None:
        return parse_compose_command(output)


class FileStat(FactBase[Stat | None]):
    """uid, gid, octal mode and size of a file; None when it does not exist."""

    def command(self, path: str) -> str:
        return f"stat -c '%u %g %a %s' {shlex.quote(path)} 2>/dev/null || true"

    def process(self, output: list[str]) -> Stat | None:
        return parse_stat(output)


class Marker(FactBase[str | None]):
    """The stripped content of a small state file we write (deployed version, applied hash…)."""

    def command(self, path: str) -> str:
        return f"cat {shlex.quote(path)} 2>/dev/null || true"

    def process(self, output: list[str]) -> str | None:
        return parse_marker(output)


class ComposeServices(FactBase[dict[str, str]]):
    """A compose project's containers by service, with docker's status ("Up 3 minutes (healthy)")."""

    def command(self, project: str) -> str:
        fmt = '{{.Label "com.docker.compose.service"}}\t{{.Status}}'
        return (
            f"docker ps -a --filter label=com.docker.compose.project={shlex.quote(project)} "
            f"--format {shlex.quote(fmt)} 2>/dev/null || true"
        )

    def process(self, output: list[str]) -> dict[str, str]:
        return parse_services(output)


class FreeKiB(FactBase[int | None]):
    """Free space (KiB) on the file system holding ``path`` or its nearest existing parent."""

    def command(self, path: str) -> str:
        p = shlex.quote(path)
        return f'd={p}; while [ ! -e "$d" ]; do d=$(dirname "$d"); done; df -Pk "$d"'

    def process(self, output: list[str]) -> int | None:
        return parse_free_kib(output)


class VibnFirewall(FactBase[FirewallState]):
    """Is our nft table loaded, and the sha256 of the rules file the boot unit loads."""

    def command(self, table: str, rules_path: str) -> str:
        p = shlex.quote(rules_path)
        return (
            f"if nft list table {table} >/dev/null 2>&1; then echo loaded=yes; else echo loaded=no; fi; "
            f"echo sha256=$(sha256sum {p} 2>/dev/null | cut -d' ' -f1)"
        )

    def process(self, output: list[str]) -> FirewallState:
        return parse_firewall_state(output)


def parse_meminfo_mib(output: list[str]) -> int | None:
    for line in output:
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return None


class MemTotalMiB(FactBase[int | None]):
    """Total memory from /proc/meminfo (no procps needed)."""

    def command(self) -> str:
        return "cat /proc/meminfo"

    def process(self, output: list[str]) -> int | None:
        return parse_meminfo_mib(output)


class DockerNetworkExists(FactBase[bool]):
    def command(self, network: str) -> str:
        return f"docker network inspect {shlex.quote(network)} >/dev/null 2>&1 && echo yes || echo no"

    def process(self, output: list[str]) -> bool:
        return bool(output) and output[0].strip() == "yes"
