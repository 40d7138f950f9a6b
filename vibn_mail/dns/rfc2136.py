"""Apply record changes to a zone with RFC 2136 dynamic updates (TSIG-signed, over TCP).

Used by the checks' tests to apply a fix exactly as reported, and by provisioning as its RFC 2136
backend. Speaks :class:`~vibn_mail.dns.records.DnsRecord`; splitting TXT into 255-byte strings
happens here, on the way out, as the record model asks of backends.
"""

from __future__ import annotations

from collections.abc import Sequence

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.tsig
import dns.tsigkeyring
import dns.update
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from vibn_mail.dns.records import DnsRecord, RecordType, normalise_name

_TSIG_ALGORITHMS = {
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
}


class TsigKey(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    secret: SecretStr
    algorithm: str = "hmac-sha256"

    @field_validator("algorithm")
    @classmethod
    def _algorithm(cls, value: str) -> str:
        if value not in _TSIG_ALGORITHMS:
            raise ValueError(f"algorithm {value!r} is not supported; use one of {sorted(_TSIG_ALGORITHMS)}")
        return value


class UpdateRefused(RuntimeError):
    """The server answered the update with an error rcode (NOTAUTH: wrong key or ACL, REFUSED, ...)."""


def to_rdata(record: DnsRecord) -> dns.rdata.Rdata:
    """The wire rdata of a record; TXT content is split into character-strings of ≤ 255 bytes."""
    if record.type is RecordType.TXT:
        raw = record.content.encode()
        chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
        return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks)
    if record.type is RecordType.MX:
        text = f"{record.priority} {record.content}."
    elif record.type in (RecordType.CNAME, RecordType.NS, RecordType.PTR):
        text = f"{record.content}."
    else:
        text = record.content
    return dns.rdata.from_text(dns.rdataclass.IN, record.type.value, text)


class Rfc2136Updater:
    """Sends one update per call to a primary server; all changes of a call apply atomically."""

    def __init__(
        self, server: str, *, port: int = 53, key: TsigKey | None = None, timeout: float = 5.0, ttl: int = 300
    ) -> None:
        self.server = server
        self.port = port
        self.timeout = timeout
        self.ttl = ttl
        self._keyring: dict[dns.name.Name, dns.tsig.Key] | None = None
        self._algorithm: dns.name.Name | str = dns.tsig.default_algorithm
        self._key_name: dns.name.Name | None = None
        if key is not None:
            self._keyring = dns.tsigkeyring.from_text({key.name: key.secret.get_secret_value()})
            self._algorithm = _TSIG_ALGORITHMS[key.algorithm]
            self._key_name = dns.name.from_text(key.name)

    def update(self, zone: str, *, remove: Sequence[DnsRecord] = (), add: Sequence[DnsRecord] = ()) -> None:
        """Remove the given records (exact rdata), then add the others, in one transaction."""
        zone = normalise_name(zone)
        msg = dns.update.UpdateMessage(
            f"{zone}.", keyring=self._keyring, keyname=self._key_name, keyalgorithm=self._algorithm
        )
        for record in [*remove, *add]:
            if record.name != zone and not record.name.endswith(f".{zone}"):
                raise ValueError(f"record {record.name} is not inside zone {zone}; pass the zone that holds it")
        for record in remove:
            msg.delete(f"{record.name}.", to_rdata(record))
        for record in add:
            msg.add(f"{record.name}.", record.ttl or self.ttl, to_rdata(record))
        self._send(msg)

    def replace(self, zone: str, records: Sequence[DnsRecord]) -> None:
        """Make each (name, type) RRset in ``records`` hold exactly those records."""
        zone = normalise_name(zone)
        msg = dns.update.UpdateMessage(
            f"{zone}.", keyring=self._keyring, keyname=self._key_name, keyalgorithm=self._algorithm
        )
        for name, rtype in dict.fromkeys(r.key() for r in records):
            msg.delete(f"{name}.", rtype.value)
        for record in records:
            msg.add(f"{record.name}.", record.ttl or self.ttl, to_rdata(record))
        self._send(msg)

    def _send(self, msg: dns.update.UpdateMessage) -> None:
        response = dns.query.tcp(msg, self.server, port=self.port, timeout=self.timeout)
        rcode = response.rcode()
        if rcode != dns.rcode.NOERROR:
            raise UpdateRefused(
                f"{self.server}:{self.port} refused the update with {dns.rcode.to_text(rcode)}; "
                "check the TSIG key name/secret and the zone's update ACL"
            )
