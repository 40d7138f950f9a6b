"""What a sandbox could leave behind on the build machine, captured so before/after can be compared."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


def _lines(*cmd: str) -> frozenset[str]:
    return frozenset(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split("\n")) - {""}


@dataclass(frozen=True)
class MachineSnapshot:
    netns: frozenset[str]
    links: frozenset[str]
    mounts: frozenset[str]
    processes: frozenset[str]  # "pid cmdline" of processes mentioning the marker

    @classmethod
    def take(cls, marker: str) -> MachineSnapshot:
        links = frozenset(line.split(":")[1].strip().split("@")[0] for line in _lines("ip", "-o", "link", "show"))
        procs = set()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline and "pytest" not in cmdline:
                procs.add(f"{proc.name} {cmdline.strip()}")
        return cls(
            netns=frozenset(line.split()[0] for line in _lines("ip", "netns", "list")),
            links=links,
            mounts=_lines("findmnt", "-rn", "-o", "TARGET"),
            processes=frozenset(procs),
        )
