"""Probes from outside a host: what a scanner on the Internet would see."""

from __future__ import annotations

import errno
import resource
import selectors
import smtplib
import socket
import subprocess
import time


def _scan_batch(ip: str, ports: list[int], timeout: float) -> set[int]:
    """Open non-blocking connections to every port, then wait ``timeout`` after the last SYN went out.

    The kernel completes handshakes by itself, and a connected socket stays writable, so however late
    this process gets the CPU (a busy CI machine, a host still booting), an open port is never
    mistaken for a filtered one: only the host's silence for ``timeout`` seconds counts as filtered.
    """
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sel = selectors.DefaultSelector()
    pending: dict[socket.socket, int] = {}
    open_ports: set[int] = set()
    try:
        for port in ports:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setblocking(False)
            err = sock.connect_ex((ip, port))
            if err in (0, errno.EINPROGRESS):
                pending[sock] = port
                sel.register(sock, selectors.EVENT_WRITE)
            else:
                sock.close()
        deadline = time.monotonic() + timeout
        while pending and (left := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(left):
                done = key.fileobj
                assert isinstance(done, socket.socket)
                if done.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    open_ports.add(pending[done])
                sel.unregister(done)
                del pending[done]
                done.close()
    finally:
        for sock in pending:
            sock.close()
        sel.close()
    return open_ports


def tcp_connect_scan(ip: str, ports: range = range(1, 65536), timeout: float = 2.0, batch: int = 4096) -> set[int]:
    """Every port that completes a TCP handshake. Dropped ports stay silent; refused ones fail at once."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, batch + 256)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    batch = min(batch, want - 256)
    listed = list(ports)
    open_ports: set[int] = set()
    for start in range(0, len(listed), batch):
        open_ports |= _scan_batch(ip, listed[start : start + batch], timeout)
    return open_ports


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
