"""Probes from outside a host: what a scanner on the Internet would see."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import smtplib
import subprocess


async def _scan(ip: str, ports: range, concurrency: int, timeout: float) -> set[int]:
    gate = asyncio.Semaphore(concurrency)
    open_ports: set[int] = set()

    async def probe(port: int) -> None:
        async with gate:
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)
            except (TimeoutError, OSError):
                return
            open_ports.add(port)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    await asyncio.gather(*(probe(p) for p in ports))
    return open_ports


def tcp_connect_scan(ip: str, ports: range = range(1, 65536), timeout: float = 1.5) -> set[int]:
    """Every port that completes a TCP handshake. Dropped ports time out; refused ones fail at once."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    concurrency = max(256, min(want, 8192) - 256)
    return asyncio.run(_scan(ip, ports, concurrency, timeout))


def smtp_banner(ip: str, port: int = 25) -> tuple[int, str]:
    with smtplib.SMTP(timeout=15) as smtp:
        code, message = smtp.connect(ip, port)
        return code, message.decode()


def https_status(ip: str, hostname: str, path: str = "/login", scheme: str = "https") -> tuple[int, str]:
    """(status, redirect target) of a request by name, resolved to ``ip`` (so SNI and Host match)."""
    port = 443 if scheme == "https" else 80
    proc = subprocess.run(
        [
            "curl",
            "-sk",
            "-o",
            "/dev/null",
            "--max-time",
            "15",
            "-w",
            "%{http_code} %{redirect_url}",
            "--resolve",
            f"{hostname}:{port}:{ip}",
            f"{scheme}://{hostname}{path}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    code, _, redirect = proc.stdout.partition(" ")
    return int(code or 0), redirect.strip()
