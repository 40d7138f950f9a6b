"""Host facts the doctor reads: a ``command`` to run and a pure ``process(output)``.

``process`` never raises on odd output; it returns what it could read, so the check that judges the
fact can say "unreadable" instead of the doctor crashing on one host.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from vibn_mail.doctor.runner import CommandOutput

FIREWALL_TABLE = ("inet", "vibn_mail")


# Firewall ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FirewallTable:
    present: bool
    chains: tuple[str, ...] = ()
    rules: int = 0
    error: str = ""


def firewall_command(family: str = FIREWALL_TABLE[0], table: str = FIREWALL_TABLE[1]) -> str:
    return f"nft -j list table {shlex.quote(family)} {shlex.quote(table)}"


def firewall_process(out: CommandOutput) -> FirewallTable:
    if out.exit_code != 0:
        absent = "No such file or directory" in out.stderr or "does not exist" in out.stderr
        return FirewallTable(False, error="" if absent else (out.stderr.strip() or f"exit {out.exit_code}"))
    try:
        items = json.loads(out.stdout)["nftables"]
    except (ValueError, KeyError, TypeError) as e:
        return FirewallTable(False, error=f"unreadable nft output: {e}")
    chains = tuple(i["chain"]["name"] for i in items if "chain" in i)
    rules = sum(1 for i in items if "rule" in i)
    return FirewallTable(True, chains, rules)


# Docker and Compose -----------------------------------------------------------------------------
@dataclass(frozen=True)
class DockerVersions:
    client: str | None = None
    server: str | None = None
    compose: str | None = None
    compose_kind: str | None = None  # "plugin" (docker compose v2) | "standalone" (docker-compose v1)
    error: str = ""


#: One round trip; works with Docker 20.10 (Debian bookworm) and later, and either Compose.
DOCKER_COMMAND = (
    "docker version --format '{{json .}}' 2>&1; echo '--compose--'; "
    "if docker compose version --short >/dev/null 2>&1; "
    "then echo plugin $(docker compose version --short); "
    "elif command -v docker-compose >/dev/null 2>&1; "
    "then echo standalone $(docker-compose version --short); fi"
)


def docker_process(out: CommandOutput) -> DockerVersions:
    docker_part, _, compose_part = out.stdout.partition("--compose--")
    client = server = None
    error = ""
    for line in docker_part.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            if line:
                error = error or line
            continue
        try:
            data: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        client = (data.get("Client") or {}).get("Version")
        server = (data.get("Server") or {}).get("Version")
    kind = compose = None
    words = compose_part.split()
    if len(words) >= 2:
        kind, compose = words[0], words[1].lstrip("v")
    if client is None and not error:
        error = "docker not found"
    return DockerVersions(client, server, compose, kind, "" if server else (error or "no Docker engine answered"))


# Disk and memory --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filesystem:
    mount: str
    size_kb: int
    avail_kb: int


DISK_COMMAND = "df -P -k / /var/lib/docker /opt 2>/dev/null; true"
MEMORY_COMMAND = "cat /proc/meminfo"


def disk_process(out: CommandOutput) -> list[Filesystem]:
    seen: dict[str, Filesystem] = {}
    for line in out.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 6 and parts[1].isdigit() and parts[3].isdigit():
            seen.setdefault(parts[5], Filesystem(parts[5], int(parts[1]), int(parts[3])))
    return list(seen.values())


@dataclass(frozen=True)
class Memory:
    total_kb: int | None
    available_kb: int | None


def memory_process(out: CommandOutput) -> Memory:
    values = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+):\s+(\d+) kB", out.stdout, re.M)}
    return Memory(values.get("MemTotal"), values.get("MemAvailable"))


# Coolify ----------------------------------------------------------------------------------------
COOLIFY_COMMAND = (
    "test -d /data/coolify/source && echo source-dir; "
    "docker ps --filter name=coolify-proxy --format '{{.Names}}' 2>/dev/null; true"
)


def coolify_process(out: CommandOutput) -> tuple[str, ...]:
    """The evidence found: ``source-dir`` and/or the proxy container's name; empty when none."""
    return tuple(line.strip() for line in out.stdout.splitlines() if line.strip())


# Postal health ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Container:
    name: str
    service: str
    state: str
    status: str

    @property
    def health(self) -> str | None:
        m = re.search(r"\((healthy|unhealthy|health: starting)\)", self.status)
        return m.group(1) if m else None


@dataclass(frozen=True)
class PostalHealth:
    containers: tuple[Container, ...] = ()
    urls: dict[str, str] = field(default_factory=dict)  # url → HTTP code ("000": no answer)


def postal_health_command(project: str, urls: list[str]) -> str:
    # Compose v1 and v2 both label containers with the project: one command for both.
    parts = [
        f"docker ps -a --filter label=com.docker.compose.project={shlex.quote(project)}"
        " --format '{{json .}}' 2>/dev/null; true"
    ]
    for url in urls:
        q = shlex.quote(url)
        parts.append(f"printf 'URL %s ' {q}; curl -s -o /dev/null -m 5 -w '%{{http_code}}\\n' {q} || echo 000")
    return "; ".join(parts)


def postal_health_process(out: CommandOutput) -> PostalHealth:
    containers = []
    urls: dict[str, str] = {}
    for line in out.stdout.splitlines():
        line = line.strip()
        if line.startswith("URL "):
            words = line.split()
            urls[words[1]] = words[2][-3:] if len(words) > 2 else "000"
            continue
        if not line.startswith("{"):
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue
        labels = dict(kv.split("=", 1) for kv in str(data.get("Labels", "")).split(",") if "=" in kv)
        containers.append(
            Container(
                name=str(data.get("Names", "")),
                service=labels.get("com.docker.compose.service", str(data.get("Names", ""))),
                state=str(data.get("State", "")),
                status=str(data.get("Status", "")),
            )
        )
    return PostalHealth(tuple(sorted(containers, key=lambda c: c.service)), urls)
