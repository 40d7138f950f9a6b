"""TLS certificates as clients see them: HTTPS on 443 and STARTTLS on SMTP 25.

Two handshakes per probe: one that accepts any certificate (to report what is served, even when it
is wrong) and one that verifies the chain and name the way a sending MTA or browser would.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.x509.oid import NameOID

from vibn_mail.checks.results import CheckResult, ResultFor, Status
from vibn_mail.dns.records import normalise_name

EXPIRY_WARNING = timedelta(days=14)


def _context(verify: bool, cafile: str | None) -> ssl.SSLContext:
    if not verify:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=cafile)


def _fetch(host: str, port: int, server_name: str, starttls: bool, timeout: float, ctx: ssl.SSLContext) -> bytes:
    """The DER certificate the server presents after a handshake with ``ctx`` (raises on failure)."""
    if starttls:
        with smtplib.SMTP(host, port, timeout=timeout, local_hostname="vibn-mail-doctor") as smtp:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise _NoStartTls(smtp.ehlo_resp.decode("latin-1", "replace") if smtp.ehlo_resp else "")
            # smtplib verifies against ``_host``, the name given to connect: pass the expected name.
            smtp._host = server_name  # type: ignore[attr-defined]
            smtp.starttls(context=ctx)
            sock = smtp.sock
            assert isinstance(sock, ssl.SSLSocket)
            der = sock.getpeercert(binary_form=True)
    else:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=server_name) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    if der is None:
        raise ssl.SSLError("the server sent no certificate")
    return der


class _NoStartTls(Exception):
    pass


def names_of(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        return [normalise_name(n) for n in san.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        return [normalise_name(str(a.value)) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


def name_matches(name: str, patterns: list[str]) -> bool:
    name = normalise_name(name)
    for p in patterns:
        if p == name:
            return True
        if p.startswith("*.") and "." in name and name.split(".", 1)[1] == p[2:]:
            return True
    return False


def probe_tls(
    host: str,
    port: int,
    server_name: str,
    *,
    starttls: bool = False,
    timeout: float = 10.0,
    cafile: str | None = None,
    now: datetime | None = None,
) -> CheckResult:
    """Check id ``host.tls.starttls`` (``starttls=True``) or ``host.tls.https``."""
    result = ResultFor(
        "host.tls.starttls" if starttls else "host.tls.https",
        f"{server_name} ({host}:{port})",
        f"a trusted certificate for {server_name}, valid for more than {EXPIRY_WARNING.days} days",
    )
    issue_fix = (
        f"Serve a certificate for {server_name} from a public CA (Let's Encrypt via the proxy; Postal's "
        "smtp_server.tls_certificate_path for port 25)"
    )
    try:
        der = _fetch(host, port, server_name, starttls, timeout, _context(False, None))
    except _NoStartTls:
        return result(
            Status.MISSING, "STARTTLS not offered", "Enable smtp_server.tls_enabled in postal.yml with a certificate."
        )
    except (OSError, smtplib.SMTPException, ssl.SSLError) as e:
        return result(
            Status.UNKNOWN,
            f"no TLS handshake: {type(e).__name__}: {e}",
            f"Make {host}:{port} reachable from here, then re-run.",
        )
    cert = x509.load_der_x509_certificate(der)
    now = now or datetime.now(UTC)
    names = names_of(cert)
    until = cert.not_valid_after_utc
    issuer = cert.issuer.rfc4514_string()
    observed = f"{', '.join(names) or 'no names'}; valid until {until:%Y-%m-%d}; issuer {issuer}"
    problems = []
    if until <= now:
        problems.append("expired")
    elif cert.not_valid_before_utc > now:
        problems.append("not yet valid")
    if not name_matches(server_name, names):
        problems.append(f"not valid for {server_name}")
    if not problems:
        try:
            _fetch(host, port, server_name, starttls, timeout, _context(True, cafile))
        except ssl.SSLCertVerificationError as e:
            if starttls:
                # Between MTAs STARTTLS is opportunistic: senders encrypt without verifying, so an
                # untrusted certificate still protects mail in transit. Only MTA-STS (and a few strict
                # receivers) need a trusted one: a warning, not a failure.
                return result(
                    Status.WARN,
                    f"not trusted ({e.verify_message}): {observed}",
                    "Opportunistic TLS works as is; for MTA-STS install a certificate from a public CA as "
                    "/opt/postal/config/smtp.cert and smtp.key (uid 999), then restart smtp.",
                )
            problems.append(f"not trusted ({e.verify_message})")
        except (OSError, smtplib.SMTPException, ssl.SSLError) as e:
            problems.append(f"verified handshake failed ({type(e).__name__}: {e})")
    if problems:
        return result(Status.INVALID, f"{'; '.join(problems)}: {observed}", issue_fix)
    if until - now < EXPIRY_WARNING:
        return result(Status.WARN, f"expires soon: {observed}", "Renewal is due: check the ACME client / proxy logs.")
    return result(Status.OK, observed)
