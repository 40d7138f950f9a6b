"""STARTTLS on port 25: postal.yml with and without it, the once-only key and certificate, the restart."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from deploys.config import load_settings
from deploys.facts import Stat
from deploys.ops import SecretSpec, Stack, secret_commands, stack_up_commands
from deploys.postal import POSTAL_UID, config_digest, smtp_tls_specs
from deploys.render import content_hash, render_admin_api, render_compose, render_postal_yml

BASE = {"web_hostname": "postal.example.com", "admin_email": "ops@example.com", "smtp_hostname": "mx.example.com"}
STACK = Stack(root="/opt/postal", project="postal", compose="docker compose")
ALL_UP = {name: "Up 1 hour (healthy)" for name in ("mariadb", "web", "smtp", "worker", "admin-api")}


def postal_yml(data: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(render_postal_yml(load_settings(data)))
    return doc


def test_tls_is_on_by_default_with_the_files_under_config() -> None:
    smtp_server = postal_yml(BASE)["smtp_server"]
    assert smtp_server["tls_enabled"] is True
    assert smtp_server["tls_certificate_path"] == "/config/smtp.cert"
    assert smtp_server["tls_private_key_path"] == "/config/smtp.key"


def test_tls_off_writes_tls_enabled_false_and_no_paths() -> None:
    smtp_server = postal_yml({**BASE, "smtp_tls": False})["smtp_server"]
    assert smtp_server["tls_enabled"] is False
    assert "tls_certificate_path" not in smtp_server and "tls_private_key_path" not in smtp_server


def test_postals_own_mailer_does_not_verify_our_self_signed_certificate() -> None:
    # Postal's mailer uses STARTTLS when offered and would verify "peer": password resets would fail.
    assert postal_yml(BASE)["smtp"]["openssl_verify_mode"] == "none"


def _compose_hash(data: dict[str, Any]) -> str:
    settings = load_settings(data)
    digest = config_digest(render_postal_yml(settings), render_admin_api())
    return content_hash(render_compose(settings, config_hash=digest))


def test_enabling_tls_recreates_the_stack_once_and_then_nothing() -> None:
    before, after = _compose_hash({**BASE, "smtp_tls": False}), _compose_hash(BASE)
    assert before != after  # postal.yml changed → compose file changed → `up -d` recreates smtp
    assert stack_up_commands(STACK, ALL_UP, ALL_UP, before, after)
    assert _compose_hash(BASE) == after  # rendering is deterministic: the second converge is a no-op
    assert stack_up_commands(STACK, ALL_UP, ALL_UP, after, _compose_hash(BASE)) == []


def test_specs_key_first_owned_by_postal_cert_readable() -> None:
    key, cert = smtp_tls_specs("/opt/postal", "mx.example.com")
    assert key.path == "/opt/postal/config/smtp.key" and cert.path == "/opt/postal/config/smtp.cert"
    assert (key.uid, key.gid, key.mode) == (POSTAL_UID, POSTAL_UID, "600")
    assert (cert.uid, cert.gid, cert.mode) == (POSTAL_UID, POSTAL_UID, "644")
    assert "openssl genrsa 2048" in key.generate
    assert "-key /opt/postal/config/smtp.key" in cert.generate
    assert "subjectAltName=DNS:mx.example.com" in cert.generate and "-days 3650" in cert.generate


@pytest.mark.parametrize("spec", smtp_tls_specs("/opt/postal", "mx.example.com"), ids=["key", "cert"])
def test_generation_is_guarded_and_never_prints_key_material(spec: SecretSpec) -> None:
    for stat in (None, Stat(POSTAL_UID, POSTAL_UID, spec.mode, 0)):
        (cmd,) = secret_commands(stat, spec)
        assert cmd.startswith(f"test -s {spec.path} ||")
        # Output goes to a temporary file beside the target, never to pyinfra's output.
        assert '> "$tmp"' in cmd and f'mv -f "$tmp" {spec.path}' in cmd
    for printing in ("cat ", "-text", "-out /dev/stdout", "tee ", "-----BEGIN"):
        assert printing not in spec.generate


def test_an_operators_certificate_is_never_overwritten() -> None:
    for spec in smtp_tls_specs("/opt/postal", "mx.example.com"):
        assert secret_commands(Stat(POSTAL_UID, POSTAL_UID, spec.mode, 3000), spec) == []
        # Wrong owner or mode (a copied-in certificate): only repaired, the content stays.
        repaired = secret_commands(Stat(0, 0, "640", 3000), spec)
        assert repaired == [f"chown 999:999 {spec.path}", f"chmod {spec.mode} {spec.path}"]


def _run(spec: SecretSpec) -> subprocess.CompletedProcess[str]:
    (cmd,) = secret_commands(None, spec)
    return subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, check=False)


def test_generated_pair_on_a_scratch_directory(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl")
    (tmp_path / "config").mkdir()
    # Owned by whoever runs the test: chown to 999 needs root, and ownership is checked above.
    specs = [replace(s, uid=os.getuid(), gid=os.getgid()) for s in smtp_tls_specs(str(tmp_path), "mx.example.com")]
    for spec in specs:
        done = _run(spec)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")  # nothing printed, key included
    key_file, cert_file = tmp_path / "config/smtp.key", tmp_path / "config/smtp.cert"
    assert (key_file.stat().st_mode & 0o777, cert_file.stat().st_mode & 0o777) == (0o600, 0o644)
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mx.example.com"]
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days >= 3650
    assert sorted(p.name for p in (tmp_path / "config").iterdir()) == ["smtp.cert", "smtp.key"]

    # A re-run (the guard alone, as if the stat fact raced) leaves both files untouched.
    before = (key_file.read_bytes(), cert_file.read_bytes())
    for spec in specs:
        assert _run(spec).returncode == 0
    assert (key_file.read_bytes(), cert_file.read_bytes()) == before

    # A certificate left without its key stops the deploy instead of pairing it with a fresh key.
    key_file.unlink()
    done = _run(specs[0])
    assert done.returncode != 0 and "exists without" in done.stderr and "PRIVATE KEY" not in done.stderr
    assert sorted(p.name for p in (tmp_path / "config").iterdir()) == ["smtp.cert"]  # no temp file left
