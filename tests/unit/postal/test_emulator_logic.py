"""The emulator's own logic, without sockets: config loading, keys, DNS rules, webhook retries."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.emulators.postal import keys
from tests.emulators.postal.config import load_config
from tests.emulators.postal.dns_checks import (
    DnsExpectations,
    check_dkim,
    check_mx,
    check_return_path,
    check_spf,
)
from tests.emulators.postal.service import PostalEmulator, Settings
from tests.emulators.postal.store import MemoryStore

KEY = keys.generate_rsa(2048)


def test_config_reads_v2_file_and_env_overrides_like_postal(tmp_path: Path) -> None:
    file = tmp_path / "postal.yml"
    file.write_text("version: 2\npostal:\n  web_hostname: from-file.test\nmain_db:\n  password: file-pw\n")
    env = {
        "POSTAL_WEB_HOSTNAME": "from-env.test",
        "DNS_MX_RECORDS": "mx1.test, mx2.test",
        "MAIN_DB_PORT": "3307",
    }
    config = load_config(file, env)
    assert config.postal.web_hostname == "from-env.test"
    assert config.dns.mx_records == ["mx1.test", "mx2.test"]
    assert (config.main_db.password, config.main_db.port) == ("file-pw", 3307)
    assert config.signing_key_path == tmp_path / "signing.key"


def test_config_without_version_2_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "postal.yml"
    file.write_text("postal:\n  web_hostname: x.test\n")
    with pytest.raises(ValueError, match="version: 2"):
        load_config(file, {})


def test_kid_is_ruby_jwt_key_digest_and_signatures_verify() -> None:
    jwk = keys.jwks(KEY)["keys"][0]
    n = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4)), "big")
    assert n == KEY.public_key().public_numbers().n

    # SEQUENCE { INTEGER n, INTEGER e } in DER, hashed with SHA-256, as ruby-jwt's KidAsKeyDigest.
    def der_int(value: int) -> bytes:
        raw = value.to_bytes(value.bit_length() // 8 + 1, "big")
        return b"\x02" + _der_len(len(raw)) + raw

    seq = der_int(n) + der_int(65537)
    assert jwk["kid"] == hashlib.sha256(b"\x30" + _der_len(len(seq)) + seq).hexdigest()
    body = b'{"event":"MessageSent"}'
    headers = keys.sign_headers(KEY, body)
    KEY.public_key().verify(
        base64.b64decode(headers["X-Postal-Signature-256"]), body, padding.PKCS1v15(), hashes.SHA256()
    )
    KEY.public_key().verify(base64.b64decode(headers["X-Postal-Signature"]), body, padding.PKCS1v15(), hashes.SHA1())


def _der_len(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


EXP = DnsExpectations(
    name="acme.test",
    dkim_record_name="postal-ABCDEF._domainkey",
    dkim_record="v=DKIM1; t=s; h=sha256; p=KEY;",
    spf_include="spf.p.test",
    mx_records=("mx1.p.test", "mx2.p.test"),
    return_path_prefix="psrp",
    return_path_target="rp.p.test",
)


def test_spf_rules() -> None:
    assert check_spf(EXP, ["google-site-verification=x"]).status == "Missing"
    assert check_spf(EXP, ["v=spf1 include:other.test ~all"]).status == "Invalid"
    assert check_spf(EXP, ["v=spf1 a mx include:spf.p.test ~all"]).status == "OK"


def test_dkim_rules() -> None:
    assert check_dkim(EXP, []).status == "Missing"
    assert check_dkim(EXP, ["v=DKIM1; t=s; h=sha256; p=KEY"]).status == "OK"  # ";" appended as Postal does
    assert check_dkim(EXP, [EXP.dkim_record, EXP.dkim_record]).status == "Invalid"
    assert check_dkim(EXP, ["v=DKIM1; p=OTHER;"]).status == "Invalid"


def test_mx_rules() -> None:
    assert check_mx(EXP, []).status == "Missing"
    assert check_mx(EXP, ["mx1.p.test.", "MX2.p.test"]).status == "OK"
    assert check_mx(EXP, ["mail.elsewhere.test"]).status == "Missing"
    invalid = check_mx(EXP, ["mx1.p.test"])
    assert invalid.status == "Invalid" and invalid.error and "mx2.p.test" in invalid.error


def test_return_path_rules() -> None:
    assert check_return_path(EXP, []).status == "Missing"
    assert check_return_path(EXP, ["rp.p.test."]).status == "OK"
    assert check_return_path(EXP, ["rp.elsewhere.test"]).status == "Invalid"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _emulator_with_webhook(clock: Clock, scale: float) -> tuple[PostalEmulator, dict[str, object]]:
    from tests.emulators.postal.config import PostalConfig

    emulator = PostalEmulator(PostalConfig(), MemoryStore(), KEY, Settings(time_scale=scale, clock=clock))
    emulator.ensure_organization("acme", {"name": "Acme", "owner_email_address": "o@acme.test"})
    server = emulator.ensure_server("acme", "main", {"name": "Main"})["server"]
    emulator.ensure_webhook("acme", "main", "hook", {"url": "http://hooks.test/x"})
    row = next(s for s in emulator.store.rows("servers") if s["id"] == server["id"])
    return emulator, row


def test_webhook_retries_follow_postal_schedule_scaled() -> None:
    clock = Clock()
    emulator, server = _emulator_with_webhook(clock, scale=0.5)
    assert emulator.trigger_webhook(server, "MessageSent", {"x": 1}) == 1
    calls: list[float] = []

    def failing(url: str, body: bytes, headers: dict[str, str]) -> int:
        calls.append(clock.now)
        assert json.loads(body)["event"] == "MessageSent"
        return 500

    start = clock.now
    for _ in range(1200):
        emulator.deliver_webhooks(failing)
        clock.now += 1
    # Six attempts: the first, then after 2, 3, 6, 10, 15 minutes (× 0.5), then Postal gives up.
    gaps = [round(b - a) for a, b in itertools.pairwise(calls)]
    assert calls[0] == start
    assert gaps == [60, 90, 180, 300, 450]
    assert emulator.store.rows("webhook_requests") == []


def test_webhook_success_is_not_retried() -> None:
    clock = Clock()
    emulator, server = _emulator_with_webhook(clock, scale=1.0)
    emulator.trigger_webhook(server, "MessageSent", {})
    assert emulator.deliver_webhooks(lambda url, body, headers: 204) == 1
    assert emulator.deliver_webhooks(lambda url, body, headers: 204) == 0
