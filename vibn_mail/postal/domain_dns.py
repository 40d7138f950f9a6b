"""What Postal expects a tenant domain's DNS to hold (postal.md, "Per tenant domain").

One object per domain, built from the values Postal's Domain model reports (through the admin API)
or, in the checks engine, given by the caller. It is the "expected records" half of every domain
check and every DNS plan, so it lives apart from any I/O.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from vibn_mail.dns.records import DnsRecord, RecordType, normalise_name


class PostalDomainDns(BaseModel):
    """Postal's per-domain DNS expectations.

    ``dkim_record_name`` is relative to the domain, as Postal's model gives it
    (``postal-AbC123._domainkey``); ``return_path_name`` likewise (``psrp``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    domain: str
    spf_include: str
    dkim_record_name: str
    dkim_record: str
    return_path_name: str = "psrp"
    return_path_target: str
    mx_records: tuple[str, ...] = ()
    verification_token: str | None = None
    verification_prefix: str = "postal-verification"

    @field_validator("domain", "spf_include", "return_path_target")
    @classmethod
    def _names(cls, value: str) -> str:
        return normalise_name(value)

    @field_validator("mx_records")
    @classmethod
    def _mx(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normalise_name(v) for v in value)

    @property
    def dkim_fqdn(self) -> str:
        return f"{normalise_name(self.dkim_record_name)}.{self.domain}"

    @property
    def return_path_fqdn(self) -> str:
        return f"{normalise_name(self.return_path_name)}.{self.domain}"

    @property
    def spf_value(self) -> str:
        """The SPF record to publish when the domain has none (merge into an existing one otherwise)."""
        return f"v=spf1 a mx include:{self.spf_include} ~all"

    @property
    def verification_value(self) -> str | None:
        if self.verification_token is None:
            return None
        return f"{self.verification_prefix} {self.verification_token}"

    def records(self) -> list[DnsRecord]:
        """The records to publish for this domain, in a stable order."""
        out = [
            DnsRecord(name=self.domain, type=RecordType.TXT, content=self.spf_value),
            DnsRecord(name=self.dkim_fqdn, type=RecordType.TXT, content=self.dkim_record),
            DnsRecord(name=self.return_path_fqdn, type=RecordType.CNAME, content=self.return_path_target),
        ]
        out += [DnsRecord(name=self.domain, type=RecordType.MX, content=mx, priority=10) for mx in self.mx_records]
        if self.verification_value is not None:
            out.append(DnsRecord(name=self.domain, type=RecordType.TXT, content=self.verification_value))
        return out
