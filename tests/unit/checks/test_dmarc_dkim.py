from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vibn_mail.checks import dmarc
from vibn_mail.checks.dkim import parse_key
from vibn_mail.checks.tags import parse_tags


def test_valid_record() -> None:
    d = dmarc.parse("v=DMARC1; p=reject; rua=mailto:a@r.test,mailto:b@s.test!10m; adkim=s")
    assert d.valid and not d.warnings
    assert d.rua() == ["a@r.test", "b@s.test"]


@pytest.mark.parametrize(
    ("record", "error"),
    [
        ("p=none; v=DMARC1", "must start with v=DMARC1"),
        ("v=DMARC1; p=maybe", "p=maybe"),
        ("v=DMARC1; rua=mailto:a@b.test", "p (policy) is missing"),
        ("v=DMARC1; p=none; p=reject", "appears twice"),
    ],
)
def test_unusable_records(record: str, error: str) -> None:
    d = dmarc.parse(record)
    assert not d.valid
    assert any(error in e for e in d.errors)


def test_rfc9989_removed_tags_warn() -> None:
    d = dmarc.parse("v=DMARC1; p=none; pct=50; rf=afrf; ri=86400; foo=1")
    assert d.valid
    assert len(d.warnings) == 4


def test_repair_keeps_usable_tags_and_drops_the_rest() -> None:
    assert dmarc.repaired("v=DMARC1; p=bogus; pct=50; adkim=s; aspf=x", None) == "v=DMARC1; p=none; adkim=s"
    assert dmarc.repaired(None, "d@r.test") == "v=DMARC1; p=none; rua=mailto:d@r.test"
    assert dmarc.parse(dmarc.repaired("garbage", None)).valid


def _rsa_p(bits: int) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return base64.b64encode(key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).decode()


@pytest.mark.parametrize("bits", [1024, 2048])
def test_rsa_key_size_is_read_from_p(bits: int) -> None:
    key = parse_key(f"v=DKIM1; t=s; h=sha256; p={_rsa_p(bits)};")
    assert (key.algorithm, key.bits, key.revoked) == ("rsa", bits, False)


def test_p_may_be_folded_with_whitespace() -> None:
    p = _rsa_p(2048)
    assert parse_key(f"v=DKIM1; p={p[:100]} {p[100:]}").bits == 2048


def test_ed25519_and_revoked() -> None:
    raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert parse_key(f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}").algorithm == "ed25519"
    assert parse_key("v=DKIM1; p=").revoked


@pytest.mark.parametrize("record", ["v=DKIM1; p=!!!", "k=dsa; p=AAAA", "v=DKIM1; t=s", "t=s; v=DKIM1; p=AAAA"])
def test_unusable_dkim_records(record: str) -> None:
    with pytest.raises(ValueError):
        parse_key(record)


def test_tags_need_equals() -> None:
    with pytest.raises(ValueError, match="not a tag=value"):
        parse_tags("v=DKIM1; nonsense")
