"""Knot DNS on loopback for the DNS test tier and the verify benchmark.

Starts ``knotd`` with a generated config in a directory the caller owns: every zone accepts RFC 2136
updates signed with one TSIG key, zone files are never written back (changes live in the journal
inside the directory). Stopped by PID, also when a test fails.
"""

from __future__ import annotations

import base64
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.query

from tests.processes import stop
from vibn_mail.dns.records import DnsRecord
from vibn_mail.dns.rfc2136 import Rfc2136Updater, TsigKey, to_rdata

KEY_NAME = "vibn-test-update"


@dataclass(frozen=True)
class Knot:
    host: str
    port: int
    pid: int
    key: TsigKey
    zones: tuple[str, ...]

    def updater(self) -> Rfc2136Updater:
        return Rfc2136Updater(self.host, port=self.port, key=self.key)

    def zone_of(self, name: str) -> str:
        """The served zone holding ``name`` (longest suffix match)."""
        found = [z for z in self.zones if name == z or name.endswith(f".{z}")]
        if not found:
            raise ValueError(f"{name} is in none of the served zones {self.zones}")
        return max(found, key=len)


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (Knot listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def zone_text(zone: str, records: Sequence[DnsRecord], extra: Sequence[str] = ()) -> str:
    lines = [
        f"$ORIGIN {zone}.",
        "$TTL 60",
        f"@ SOA ns1.{zone}. hostmaster.{zone}. 1 3600 600 86400 60",
        f"@ NS ns1.{zone}.",
        f"ns1.{zone}. A 127.0.0.1",
    ]
    lines += [f"{r.name}. {r.ttl or 60} {r.type.value} {to_rdata(r).to_text()}" for r in records]
    lines += list(extra)
    return "\n".join(lines) + "\n"


def _config(workdir: Path, port: int, key: TsigKey, zones: Sequence[str]) -> str:
    secret = key.secret.get_secret_value()
    zone_lines = "".join(f"  - domain: {z}\n" for z in zones)
    return f"""server:
    rundir: "{workdir}/run"
    listen: 127.0.0.1@{port}
    udp-workers: 2
    tcp-workers: 2
    background-workers: 1
database:
    storage: "{workdir}/db"
log:
  - target: stderr
    any: warning
key:
  - id: {key.name}
    algorithm: {key.algorithm}
    secret: {secret}
acl:
  - id: update
    key: {key.name}
    action: update
template:
  - id: default
    storage: "{workdir}/zones"
    file: "%s.zone"
    acl: update
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
    semantic-checks: off
zone:
{zone_lines}"""


def _wait_ready(port: int, zone: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    query = dns.message.make_query(f"{zone}.", "SOA")
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"knotd exited with {proc.returncode} before answering")
        try:
            response = dns.query.udp(query, "127.0.0.1", port=port, timeout=0.3)
            if response.answer:
                return
        except (OSError, dns.exception.Timeout):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"knotd did not answer SOA {zone} on 127.0.0.1:{port} within {timeout:g}s")


@contextmanager
def run_knot(workdir: Path, zones: Mapping[str, str], *, ready_timeout: float = 30.0) -> Iterator[Knot]:
    """Serve ``zones`` (name → zone file text) until the block ends; knotd killed by PID on exit."""
    knotd = shutil.which("knotd") or "/usr/sbin/knotd"
    if not Path(knotd).exists():
        raise RuntimeError("knotd not found: apt-get install -y knot (listed in .ci/apt-packages.txt)")
    for sub in ("run", "db", "zones"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    for zone, text in zones.items():
        (workdir / "zones" / f"{zone}.zone").write_text(text)
    key = TsigKey(name=KEY_NAME, secret=base64.b64encode(secrets.token_bytes(32)).decode())
    port = free_port()
    conf = workdir / "knot.conf"
    conf.write_text(_config(workdir, port, key, list(zones)))
    log = open(workdir / "knotd.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen([knotd, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(port, next(iter(zones)), proc, ready_timeout)
        yield Knot("127.0.0.1", port, proc.pid, key, tuple(zones))
    except RuntimeError as e:
        raise RuntimeError(f"{e}\n--- knotd.log ---\n{(workdir / 'knotd.log').read_text()[-3000:]}") from e
    finally:
        stop(proc)
        log.close()
