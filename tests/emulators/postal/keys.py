"""Keys the way Postal makes and uses them: per-domain RSA-1024 DKIM keys, the stack's signing key,
the webhook signatures made with it and the JWKS that publishes it."""

from __future__ import annotations

import base64
import datetime
import hashlib
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID


def generate_rsa(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    # PKCS#1 PEM ("BEGIN RSA PRIVATE KEY") is what Ruby's OpenSSL::PKey::RSA#to_s writes.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def load_private_pem(pem: str | bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("signing key must be an RSA private key (Postal signs with RSA)")
    return key


def load_signing_key(path: Path) -> rsa.RSAPrivateKey:
    if not path.exists():
        raise FileNotFoundError(
            f"signing key {path} does not exist; create it (openssl genrsa -out {path} 2048) "
            "or set postal.signing_key_path"
        )
    return load_private_pem(path.read_bytes())


def write_self_signed(directory: Path, hostname: str) -> tuple[Path, Path]:
    """``smtp.cert`` + ``smtp.key`` in ``directory``: a throwaway self-signed EC P-256 pair for
    ``hostname`` (SAN), shaped like the one the deploy makes, for tests that turn STARTTLS on."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.cert", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def dkim_record(key: rsa.RSAPrivateKey) -> str:
    """``v=DKIM1; t=s; h=sha256; p=<SubjectPublicKeyInfo, base64>;`` as Domain#dkim_record builds it."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; t=s; h=sha256; p={base64.b64encode(der).decode()};"


def key_id(key: rsa.RSAPrivateKey) -> str:
    """ruby-jwt's default kid for RSA: SHA-256 hex of the DER SEQUENCE(n, e), i.e. the PKCS#1 public key."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return hashlib.sha256(der).hexdigest()


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwks(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "RSA", "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e), "kid": key_id(key)}
    return {"keys": [{**jwk, "use": "sig", "alg": "RS256"}]}


def sign_headers(key: rsa.RSAPrivateKey, body: bytes) -> dict[str, str]:
    """Postal::HTTP's signed-request headers over the raw body."""
    sha1 = key.sign(body, padding.PKCS1v15(), hashes.SHA1())
    sha256 = key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    return {
        "X-Postal-Signature-KID": key_id(key),
        "X-Postal-Signature": base64.b64encode(sha1).decode(),
        "X-Postal-Signature-256": base64.b64encode(sha256).decode(),
    }
