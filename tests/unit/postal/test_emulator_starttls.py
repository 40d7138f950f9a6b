"""The emulator's SMTP server offers STARTTLS exactly when postal.yml enables it, as Postal does:
advertised once, the upgrade works with the configured pair, and AUTH works with or without TLS."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from tests.emulators.postal import keys
from tests.emulators.postal.config import PostalConfig, load_config
from tests.emulators.postal.inprocess import RunningEmulator, run_emulator
from tests.emulators.postal.runtime import smtp_tls_context

SMTP_HOSTNAME = "mx.tls.test"

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def write_pair(directory: Path) -> tuple[Path, Path]:
    return keys.write_self_signed(directory, SMTP_HOSTNAME)


def config(tls: dict[str, Any]) -> PostalConfig:
    return PostalConfig.model_validate({"postal": {"smtp_hostname": SMTP_HOSTNAME}, "smtp_server": tls})


def smtp_key(run: RunningEmulator) -> str:
    emulator = run.emulator
    emulator.ensure_organization("tls", {"name": "TLS", "owner_email_address": "owner@tls.test"})
    emulator.ensure_server("tls", "main", {"name": "Main"})
    key: str = emulator.ensure_credential("tls", "main", "smtp", {"type": "SMTP"})["credential"]["key"]
    return key


def client_context() -> ssl.SSLContext:
    # Opportunistic STARTTLS between MTAs does not validate certificates; neither does this client.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@pytest.fixture
def tls_emulator(tmp_path: Path) -> Iterator[RunningEmulator]:
    cert, key = write_pair(tmp_path)
    tls = {"tls_enabled": True, "tls_certificate_path": str(cert), "tls_private_key_path": str(key)}
    with run_emulator(config(tls), smtp=True, worker=False) as run:
        yield run


def test_starttls_offered_upgrades_and_auth_works_after_it(tls_emulator: RunningEmulator) -> None:
    assert tls_emulator.smtp_port is not None
    key = smtp_key(tls_emulator)
    with smtplib.SMTP("127.0.0.1", tls_emulator.smtp_port, timeout=10) as smtp:
        smtp.ehlo("client.test")
        assert smtp.has_extn("starttls") and smtp.has_extn("auth")
        code, _ = smtp.starttls(context=client_context())
        assert code == 220
        sock = smtp.sock
        assert isinstance(sock, ssl.SSLSocket)
        peer = x509.load_der_x509_certificate(sock.getpeercert(binary_form=True) or b"")
        san = peer.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == [SMTP_HOSTNAME]
        smtp.ehlo("client.test")
        assert not smtp.has_extn("starttls")  # Postal advertises it only before TLS
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login("anyone", "not-a-credential-key")
        code, _ = smtp.login("any-username", key)
        assert code == 235


def test_auth_still_works_without_tls_when_tls_is_enabled(tls_emulator: RunningEmulator) -> None:
    assert tls_emulator.smtp_port is not None
    key = smtp_key(tls_emulator)
    with smtplib.SMTP("127.0.0.1", tls_emulator.smtp_port, timeout=10) as smtp:
        smtp.ehlo("client.test")
        assert smtp.has_extn("starttls")
        code, _ = smtp.login("any-username", key)  # Postal does not require TLS for AUTH
        assert code == 235


def test_no_starttls_when_tls_is_disabled() -> None:
    with run_emulator(config({}), smtp=True, worker=False) as run:
        assert run.smtp_port is not None
        with smtplib.SMTP("127.0.0.1", run.smtp_port, timeout=10) as smtp:
            smtp.ehlo("client.test")
            assert smtp.has_extn("auth") and not smtp.has_extn("starttls")
            assert smtp.docmd("STARTTLS")[0] != 220


def test_config_paths_default_to_the_config_file_root_and_env_enables_tls(tmp_path: Path) -> None:
    """What the deploy writes (``/config/smtp.cert``) is also Postal's default, relative to postal.yml."""
    write_pair(tmp_path)
    file = tmp_path / "postal.yml"
    file.write_text("version: 2\nsmtp_server:\n  default_port: 25\n")
    off = load_config(file, {})
    assert off.smtp_server.tls_enabled is False and smtp_tls_context(off) is None
    on = load_config(file, {"SMTP_SERVER_TLS_ENABLED": "true"})
    assert on.smtp_tls_certificate_path == tmp_path / "smtp.cert"
    assert on.smtp_tls_private_key_path == tmp_path / "smtp.key"
    assert isinstance(smtp_tls_context(on), ssl.SSLContext)


def test_missing_key_fails_at_start_naming_the_files(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path)
    key.unlink()
    tls = {"tls_enabled": True, "tls_certificate_path": str(cert), "tls_private_key_path": str(key)}
    with pytest.raises(RuntimeError, match=r"smtp\.key"):
        smtp_tls_context(config(tls))
