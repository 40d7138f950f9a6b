"""DKIM key records: tags and RSA key size (RFC 6376, RFC 8301)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from vibn_mail.checks.tags import parse_tags

RECOMMENDED_RSA_BITS = 2048
MINIMUM_RSA_BITS = 1024


@dataclass(frozen=True)
class DkimKey:
    algorithm: str  # "rsa" | "ed25519"
    bits: int | None
    revoked: bool


def parse_key(record: str) -> DkimKey:
    """The key a DKIM record publishes; ValueError naming the tag when it is unusable."""
    tags = parse_tags(record)
    if "v" in tags and (tags["v"] != "DKIM1" or next(iter(tags)) != "v"):
        raise ValueError("tag v must be first and equal 'DKIM1'")
    k = tags.get("k", "rsa").lower()
    if k not in ("rsa", "ed25519"):
        raise ValueError(f"k={k} is not a DKIM key type (rsa or ed25519)")
    if "p" not in tags:
        raise ValueError("tag p (the public key) is missing")
    if tags["p"] == "":
        return DkimKey(k, None, revoked=True)
    try:
        raw = base64.b64decode(tags["p"], validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"p= is not base64: {e}") from e
    if k == "ed25519":
        if len(raw) != 32:
            raise ValueError(f"p= holds {len(raw)} bytes; an ed25519 key has 32")
        ed25519.Ed25519PublicKey.from_public_bytes(raw)
        return DkimKey(k, 256, revoked=False)
    try:
        key = load_der_public_key(raw)
    except ValueError as e:
        raise ValueError("p= is not a DER SubjectPublicKeyInfo RSA key") from e
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("p= holds a non-RSA key but k=rsa")
    return DkimKey(k, key.key_size, revoked=False)
