"""The one DNS record model of the project.

Every part that talks about DNS (the checks engine, the Postal admin client, provisioning backends for
Cloudflare and RFC 2136) speaks in :class:`DnsRecord`. Names are absolute, lower-case and without the
trailing dot; TXT content is the *unquoted* value with its character-strings joined, which is how
receivers (and Postal's checks) read it. Backends quote/split on the way out and normalise on the way
in, so two records compare equal exactly when DNS would serve the same data.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator, model_validator


class RecordType(StrEnum):
    A = "A"
    AAAA = "AAAA"
    CNAME = "CNAME"
    MX = "MX"
    TXT = "TXT"
    PTR = "PTR"
    NS = "NS"


def normalise_name(name: str) -> str:
    """Absolute, lower-case, no trailing dot: the one spelling we compare names in."""
    return name.strip().rstrip(".").lower()


class DnsRecord(BaseModel):
    """One resource record. MX keeps its preference in ``priority`` and its target in ``content``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: RecordType
    content: str
    priority: int | None = None
    ttl: int | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = normalise_name(value)
        if not value or " " in value:
            raise ValueError(f"record name {value!r} is not a DNS name; give the full name, e.g. mail.example.com")
        return value

    @model_validator(mode="after")
    def _content(self) -> DnsRecord:
        if self.type in (RecordType.CNAME, RecordType.MX, RecordType.NS, RecordType.PTR):
            object.__setattr__(self, "content", normalise_name(self.content))
        if self.type is RecordType.MX and self.priority is None:
            raise ValueError(f"MX record {self.name} needs a priority (e.g. 10)")
        if self.type is not RecordType.MX and self.priority is not None:
            raise ValueError(f"{self.type} record {self.name} cannot have a priority; only MX records do")
        return self

    def key(self) -> tuple[str, RecordType]:
        """The (name, type) pair a DNS RRset is addressed by."""
        return (self.name, self.type)

    def __str__(self) -> str:
        prio = f"{self.priority} " if self.priority is not None else ""
        return f"{self.name} {self.type} {prio}{self.content}"
