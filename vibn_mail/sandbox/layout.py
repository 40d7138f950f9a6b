"""Names, addresses and paths of a sandbox, derived from its name alone (pure, no I/O).

Every kernel object a sandbox creates (namespace, veth pair) carries the sandbox id, so two sandboxes
(say, two test runs) can coexist and teardown can find exactly its own objects.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from vibn_mail.sandbox.errors import SandboxError

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
MAX_HOSTS = 8
#: Each sandbox gets one /27 of the pool: eight /30 host links.
SLOT_PREFIX = 27
LINK_PREFIX = 30
DEFAULT_POOL = "10.213.0.0/16"


def state_root() -> Path:
    return Path(os.environ.get("VIBN_SANDBOX_HOME", "/var/lib/vibn-mail/sandboxes"))


def cache_root() -> Path:
    return Path(os.environ.get("VIBN_CACHE_DIR", "/var/cache/vibn-mail"))


def address_pool() -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(os.environ.get("VIBN_SANDBOX_POOL", DEFAULT_POOL))


def validate_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise SandboxError(
            f"sandbox name {name!r} is not valid",
            fix="use 1-20 characters: a lower-case letter, then letters, digits or '-' (e.g. --name ci-42)",
        )
    return name


def sandbox_id(name: str) -> str:
    """Six hex characters: short enough for 15-character interface names, stable per name."""
    return hashlib.sha256(name.encode()).hexdigest()[:6]


@dataclass(frozen=True)
class HostLayout:
    index: int  # 1-based
    name: str
    netns: str
    veth_host: str
    veth_guest: str
    host_address: ipaddress.IPv4Interface  # build-machine side of the link
    guest_address: ipaddress.IPv4Interface
    host_address6: ipaddress.IPv6Interface
    guest_address6: ipaddress.IPv6Interface


def slot_networks(pool: ipaddress.IPv4Network) -> list[ipaddress.IPv4Network]:
    return list(pool.subnets(new_prefix=SLOT_PREFIX))


def preferred_slot(name: str, slots: int) -> int:
    """Where to start probing for a free slot: spread sandboxes by name so collisions are rare."""
    return int(hashlib.sha256(b"slot:" + name.encode()).hexdigest(), 16) % slots


def ula_prefix(name: str) -> ipaddress.IPv6Network:
    """A /48 of unique local addresses (RFC 4193: fd + 40 bits) from the sandbox name.

    40 random-looking bits make a collision with another sandbox or a site's own ULA negligible,
    so IPv6 needs no probing like the IPv4 pool does.
    """
    global_id = hashlib.sha256(b"ula:" + name.encode()).hexdigest()[:10]
    return ipaddress.IPv6Network(f"fd{global_id[:2]}:{global_id[2:6]}:{global_id[6:10]}::/48")


def host_layouts(name: str, slot: ipaddress.IPv4Network, count: int) -> list[HostLayout]:
    if not 1 <= count <= MAX_HOSTS:
        raise SandboxError(f"--hosts {count} is out of range", fix=f"ask for 1 to {MAX_HOSTS} hosts")
    sid = sandbox_id(name)
    links = list(slot.subnets(new_prefix=LINK_PREFIX))
    ula = ula_prefix(name)
    out = []
    for i in range(1, count + 1):
        link = links[i - 1]
        first, second = link[1], link[2]
        link6 = ipaddress.IPv6Network((int(ula.network_address) + (i << 64), 64))
        out.append(
            HostLayout(
                index=i,
                name=f"{name}-{i}",
                netns=f"vibn-{sid}-{i}",
                veth_host=f"vb{sid}{i}h",
                veth_guest=f"vb{sid}{i}g",
                host_address=ipaddress.IPv4Interface(f"{first}/{LINK_PREFIX}"),
                guest_address=ipaddress.IPv4Interface(f"{second}/{LINK_PREFIX}"),
                host_address6=ipaddress.IPv6Interface(f"{link6[1]}/64"),
                guest_address6=ipaddress.IPv6Interface(f"{link6[2]}/64"),
            )
        )
    return out


def choose_slot(name: str, pool: ipaddress.IPv4Network, taken: list[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    """First slot at or after the name's preferred one that overlaps nothing already in use."""
    slots = slot_networks(pool)
    start = preferred_slot(name, len(slots))
    for k in range(len(slots)):
        candidate = slots[(start + k) % len(slots)]
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    raise SandboxError(
        f"no free /{SLOT_PREFIX} left in the sandbox address pool {pool}",
        fix="run `vibn-mail sandbox status` and `down` sandboxes you no longer need, "
        "or set VIBN_SANDBOX_POOL to a larger unused private range",
    )
