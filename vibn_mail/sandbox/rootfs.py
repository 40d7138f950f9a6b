"""The cached Debian root filesystem every sandbox host starts from.

Built once with debootstrap (about a minute), kept under the cache directory keyed by what went into
it, and copied fresh for each host: a host must start clean every time.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

from vibn_mail.sandbox.errors import SandboxError
from vibn_mail.sandbox.layout import cache_root
from vibn_mail.sandbox.system import run

SUITE = "bookworm"
#: What a sandbox host has before any deploy: systemd, sshd, nftables, and Docker with Compose v1
#: (bookworm ships no Compose v2 plugin; deploys accept either).
PACKAGES = (
    "openssh-server",
    "python3",
    "iproute2",
    "nftables",
    "iptables",
    "procps",
    "systemd",
    "systemd-sysv",
    "dbus",
    "ca-certificates",
    "sudo",
    "curl",
    "openssl",
    "docker.io",
    "docker-compose",
)
#: Bump when the post-processing below changes, so caches rebuild.
RECIPE_VERSION = "3"


def debian_mirror(etc_apt: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses (VIBN_DEBIAN_MIRROR overrides).

    Read from the machine's own apt sources so the repository names no mirror host.
    """
    override = os.environ.get("VIBN_DEBIAN_MIRROR")
    if override:
        return override
    candidates: list[str] = []
    for path in sorted(etc_apt.glob("sources.list.d/*.sources")):
        for block in path.read_text().split("\n\n"):
            if re.search(rf"^Suites:.*\b{SUITE}\b", block, re.M) and "security" not in block:
                m = re.search(r"^URIs:\s*(\S+)", block, re.M)
                if m:
                    candidates.append(m.group(1))
    legacy = etc_apt / "sources.list"
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            m = re.match(rf"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+{SUITE}\s", line)
            if m and "security" not in m.group(1):
                candidates.append(m.group(1))
    if not candidates:
        raise SandboxError(
            f"cannot find a Debian {SUITE} mirror in this machine's apt sources",
            fix="set VIBN_DEBIAN_MIRROR to your Debian mirror URL",
        )
    return candidates[0]


def cache_key(mirror: str) -> str:
    data = "\n".join([SUITE, mirror, RECIPE_VERSION, *PACKAGES])
    return hashlib.sha256(data.encode()).hexdigest()[:12]


def golden_path(mirror: str) -> Path:
    return cache_root() / "rootfs" / f"{SUITE}-{cache_key(mirror)}"


def debootstrap(target: Path, packages: tuple[str, ...], mirror: str, what: str) -> None:
    """Debian minbase plus ``packages`` into ``target``; a failure says what it was building and why."""
    proc = run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", SUITE, str(target), mirror],
        check=False,
        timeout=1800,
    )
    if proc.returncode != 0:
        raise SandboxError(
            f"debootstrap failed to build {what}",
            fix="check that apt works on this machine (`apt-get update`) and that there is free disk space",
            detail="\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:]),
        )


def ensure_golden() -> Path:
    """The cached rootfs, built on first use. Safe against interrupted builds (atomic rename)."""
    mirror = debian_mirror()
    golden = golden_path(mirror)
    if (golden / ".complete").exists():
        return golden
    building = golden.with_name(golden.name + f".building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.parent.mkdir(parents=True, exist_ok=True)
    try:
        debootstrap(building, PACKAGES, mirror, "the sandbox root filesystem")
        _post_process(building)
        (building / ".complete").write_text(mirror + "\n")
        shutil.rmtree(golden, ignore_errors=True)
        os.replace(building, golden)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return golden


def _post_process(root: Path) -> None:
    # Empty machine-id: nspawn hands each boot its own, so hosts don't share one.
    (root / "etc/machine-id").write_text("")
    # Persistent journal, so a host that does not boot can be diagnosed from outside.
    (root / "var/log/journal").mkdir(parents=True, exist_ok=True)
    # Nothing in a guest should try to reach the outside; apt goes through the host-side proxy.
    for unit in ("apt-daily.timer", "apt-daily-upgrade.timer"):
        link = root / "etc/systemd/system/timers.target.wants" / unit
        link.unlink(missing_ok=True)
    shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
    (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)


def fresh_copy(golden: Path, target: Path) -> None:
    """A clean root for one host: a copy, never the cached tree itself."""
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    run(["cp", "-a", "--reflink=auto", str(golden), str(target)], timeout=900)
    (target / ".complete").unlink(missing_ok=True)
