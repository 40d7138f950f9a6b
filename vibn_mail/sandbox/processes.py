"""Daemons the sandbox starts, identified by PID *and* start time so a reused PID is never killed."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def start_time(pid: int) -> int | None:
    """The kernel's start time of a process (clock ticks since boot), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm may contain spaces and parentheses: split after the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        _reap(pid)
        return None
    return int(fields[19])


def _reap(pid: int) -> None:
    # Only our own children can be reaped; anyone else's zombie is its parent's business.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def alive(pid: int, started: int | None) -> bool:
    now = start_time(pid)
    return now is not None and (started is None or now == started)


def terminate(pid: int, started: int | None, grace: float = 30.0) -> None:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; only if it is still the same process."""
    if not alive(pid, started):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(pid)
        if not alive(pid, started):
            return
        time.sleep(0.2)
    if alive(pid, started):
        os.kill(pid, signal.SIGKILL)
        for _ in range(50):
            _reap(pid)
            if not alive(pid, started):
                return
            time.sleep(0.1)
