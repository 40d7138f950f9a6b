"""Running a shell command on a host: here (subprocess) or over SSH built from pyinfra host data."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, field_validator


@dataclass(frozen=True)
class CommandOutput:
    exit_code: int
    stdout: str
    stderr: str


class CommandRunner(Protocol):
    """Runs ``command`` with ``sh -c`` semantics; returns its output, never raises on a failed command."""

    name: str

    def run(self, command: str, timeout: float = 30.0) -> CommandOutput: ...


def _run(argv: list[str], timeout: float) -> CommandOutput:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return CommandOutput(124, "", f"timed out after {timeout:g}s")
    except OSError as e:
        return CommandOutput(127, "", str(e))
    return CommandOutput(done.returncode, done.stdout, done.stderr)


class LocalRunner:
    name = "localhost"

    def run(self, command: str, timeout: float = 30.0) -> CommandOutput:
        return _run(["sh", "-c", command], timeout)


class SshTarget(BaseModel):
    """The SSH part of a pyinfra host's data (its ``ssh_*`` keys); other keys are not ours to judge."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    ssh_hostname: str | None = None
    ssh_user: str | None = None
    ssh_port: int | None = None
    ssh_key: str | None = None
    ssh_config_file: str | None = None
    ssh_known_hosts_file: str | None = None
    ssh_strict_host_key_checking: str | bool | None = None

    @field_validator("ssh_strict_host_key_checking")
    @classmethod
    def _strict(cls, value: str | bool | None) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool):
            return "yes" if value else "no"
        if value not in ("yes", "no", "accept-new", "off", "ask"):
            raise ValueError("ssh_strict_host_key_checking must be yes, no, accept-new, off or ask")
        return value

    @classmethod
    def from_host_data(cls, name: str, data: Mapping[str, Any]) -> SshTarget:
        return cls(name=name, **{k: v for k, v in data.items() if k.startswith("ssh_")})


class SshRunner:
    """``ssh`` in batch mode (no password prompts): keys, agent or an ssh_config must give access."""

    def __init__(self, target: SshTarget, *, connect_timeout: int = 10) -> None:
        self.target = target
        self.name = target.name
        self.connect_timeout = connect_timeout

    def argv(self, command: str) -> list[str]:
        t = self.target
        argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={self.connect_timeout}"]
        if t.ssh_config_file:
            argv += ["-F", t.ssh_config_file]
        if t.ssh_port:
            argv += ["-p", str(t.ssh_port)]
        if t.ssh_key:
            argv += ["-i", t.ssh_key]
        if t.ssh_known_hosts_file:
            argv += ["-o", f"UserKnownHostsFile={t.ssh_known_hosts_file}"]
        if t.ssh_strict_host_key_checking:
            argv += ["-o", f"StrictHostKeyChecking={t.ssh_strict_host_key_checking}"]
        if t.ssh_user:
            argv += ["-l", t.ssh_user]
        return [*argv, "--", t.ssh_hostname or t.name, command]

    def run(self, command: str, timeout: float = 30.0) -> CommandOutput:
        return _run(self.argv(command), timeout + self.connect_timeout)
