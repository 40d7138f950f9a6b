"""Loopback stand-ins for the outside world: a large provider's MX (open, silent) and TLS endpoints."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@contextmanager
def tcp_server(handle: Callable[[socket.socket], None] | None, bind: str = "127.0.0.1") -> Iterator[int]:
    """Listen on <bind>:<free>; ``handle`` each connection in a thread, or never accept (None)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((bind, 0))
    srv.listen(16)
    stop = threading.Event()

    def loop() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            assert handle is not None
            threading.Thread(target=_guarded, args=(handle, conn), daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True) if handle is not None else None
    if thread:
        thread.start()
    try:
        yield int(srv.getsockname()[1])
    finally:
        stop.set()
        if thread:
            thread.join(timeout=2)
        srv.close()


def _guarded(handle: Callable[[socket.socket], None], conn: socket.socket) -> None:
    with conn, suppress(OSError, ssl.SSLError):
        conn.settimeout(5)
        handle(conn)


def banner(conn: socket.socket) -> None:
    conn.sendall(b"220 mx.provider.test ESMTP ready\r\n")


class Certs:
    """A private CA and leaf certificates it signs, written as PEM files."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vibn test CA")])
        now = datetime.now(UTC)
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._ca_key, hashes.SHA256())
        )
        self.ca_file = directory / "ca.pem"
        self.ca_file.write_bytes(self.ca.public_bytes(serialization.Encoding.PEM))

    def leaf(self, name: str, *, days: int = 90, expired: bool = False, self_signed: bool = False) -> ssl.SSLContext:
        """A server context presenting a certificate for ``name``."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        start, end = (
            (now - timedelta(days=30), now - timedelta(days=1))
            if expired
            else (now - timedelta(days=1), now + timedelta(days=days))
        )
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if self_signed else self.ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key if self_signed else self._ca_key, hashes.SHA256())
        )
        stem = self.dir / f"{name}-{x509.random_serial_number()}"
        cert_file, key_file = stem.with_suffix(".crt"), stem.with_suffix(".key")
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_file, key_file)
        return ctx


def https_handler(ctx: ssl.SSLContext) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")

    return handle


def smtp_handler(ctx: ssl.SSLContext | None) -> Callable[[socket.socket], None]:
    """A minimal ESMTP server offering STARTTLS when ``ctx`` is given."""

    def handle(conn: socket.socket) -> None:
        conn.sendall(b"220 mail.postal.test ESMTP\r\n")
        f = conn.makefile("rb")
        while line := f.readline():
            cmd = line.strip().upper()
            if cmd.startswith((b"EHLO", b"HELO")):
                conn.sendall(b"250-mail.postal.test\r\n" + (b"250-STARTTLS\r\n" if ctx else b"") + b"250 8BITMIME\r\n")
            elif cmd == b"STARTTLS" and ctx:
                conn.sendall(b"220 go ahead\r\n")
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1024)
                    with suppress(OSError):
                        tls.sendall(b"221 bye\r\n")
                return
            elif cmd == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"502 no\r\n")

    return handle
