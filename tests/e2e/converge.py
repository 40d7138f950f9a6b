"""Running pyinfra against sandbox hosts the way an operator does, and reading what it changed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from vibn_mail import REPO_ROOT
from vibn_mail.sandbox.state import HostState, SandboxState

# A results-table row: "<op name>   Hosts Success Error NoChange"; Success counts hosts it changed.
_ROW = re.compile(r"^\s{4}(?P<name>.+?)\s{2,}(?P<hosts>\d+)\s+(?P<ok>\d+|-)\s+(?P<err>\d+|-)\s+(?P<same>\d+|-)\s*$")


@dataclass(frozen=True)
class Converge:
    returncode: int
    seconds: float
    changed: list[str]
    output: str

    def assert_ok(self) -> None:
        assert self.returncode == 0, f"pyinfra failed:\n{self.output[-4000:]}"


def converge(sandbox: SandboxState, host: HostState, deploy: str = "deploys/all.py", **data: Any) -> Converge:
    args = [sys.executable, "-m", "pyinfra", "-y", "--limit", host.name, "inventory/sandbox.py", deploy]
    for key, value in data.items():
        args += ["--data", f"{key}={value if isinstance(value, str) else json.dumps(value)}"]
    started = time.monotonic()
    proc = subprocess.run(
        args,
        cwd=REPO_ROOT,
        env={**os.environ, "VIBN_SANDBOX": sandbox.name},
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    seconds = time.monotonic() - started
    output = proc.stdout + proc.stderr
    changed = []
    for line in output.splitlines():
        m = _ROW.match(line)
        if m and m["name"].strip() != "Grand total" and m["ok"] != "-":
            changed.append(m["name"].strip())
    return Converge(proc.returncode, seconds, changed, output)


def run_pytest(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Another pytest run (the host suite, the contract suite) as CI would start it, with ``env`` added."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
