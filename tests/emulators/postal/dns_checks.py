"""Postal's domain DNS checks (``has_dns_checks.rb``), as a pure evaluation over looked-up records plus
a dnspython lookup that asks the domain's authoritative name servers, as Postal does, unless told to
use a given resolver (loopback DNS in tests, ``use_local_ns_for_domain_verification``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import dns.resolver


@dataclass(frozen=True)
class Check:
    status: str
    error: str | None


@dataclass(frozen=True)
class DnsExpectations:
    name: str
    dkim_record_name: str
    dkim_record: str
    spf_include: str
    mx_records: tuple[str, ...]
    return_path_prefix: str
    return_path_target: str


class Lookup(Protocol):
    def txt(self, name: str) -> list[str]: ...

    def mx(self, name: str) -> list[str]: ...

    def cname(self, name: str) -> list[str]: ...


def check_spf(exp: DnsExpectations, txt: list[str]) -> Check:
    spf = [t for t in txt if t.startswith("v=spf1")]
    if not spf:
        return Check("Missing", "No SPF record exists for this domain")
    pattern = re.compile(r"include:\s*" + re.escape(exp.spf_include))
    if not any(pattern.search(t) for t in spf):
        return Check("Invalid", f"An SPF record exists but it doesn't include {exp.spf_include}")
    return Check("OK", None)


def check_dkim(exp: DnsExpectations, txt: list[str]) -> Check:
    fqdn = f"{exp.dkim_record_name}.{exp.name}"
    if not txt:
        return Check("Missing", f"No TXT records were returned for {fqdn}")
    first = txt[0].strip()
    sanitised = first if first.endswith(";") else f"{first};"
    if len(txt) > 1:
        return Check("Invalid", f"There are {len(txt)} records for at {fqdn}. There should only be one.")
    if sanitised != exp.dkim_record:
        return Check(
            "Invalid",
            f"The DKIM record at {fqdn} does not match the record we have provided. "
            "Please check it has been copied correctly.",
        )
    return Check("OK", None)


def check_mx(exp: DnsExpectations, mx: list[str]) -> Check:
    if not mx:
        return Check("Missing", f"There are no MX records for {exp.name}")
    present = {m.lower().rstrip(".") for m in mx}
    missing = [m for m in exp.mx_records if m not in present]
    if not missing:
        return Check("OK", None)
    if len(missing) == len(exp.mx_records):
        return Check("Missing", "You have MX records but none of them point to us.")
    noun = "record" if len(missing) == 1 else "records"
    return Check("Invalid", f"MX {noun} for {', '.join(missing)} are missing and are required.")


def check_return_path(exp: DnsExpectations, cname: list[str]) -> Check:
    fqdn = f"{exp.return_path_prefix}.{exp.name}"
    targets = [c.lower().rstrip(".") for c in cname]
    if not targets:
        return Check("Missing", f"There is no return path record at {fqdn}")
    if len(targets) == 1 and targets[0] == exp.return_path_target:
        return Check("OK", None)
    return Check(
        "Invalid",
        f"There is a CNAME record at {fqdn} but it points to {targets[0]} which is incorrect. "
        f"It should point to {exp.return_path_target}.",
    )


def check_all(exp: DnsExpectations, lookup: Lookup) -> dict[str, Check]:
    return {
        "spf": check_spf(exp, lookup.txt(exp.name)),
        "dkim": check_dkim(exp, lookup.txt(f"{exp.dkim_record_name}.{exp.name}")),
        "mx": check_mx(exp, lookup.mx(exp.name)),
        "return_path": check_return_path(exp, lookup.cname(f"{exp.return_path_prefix}.{exp.name}")),
    }


class DnsPythonLookup:
    """Queries one resolver (``nameserver``/``port``) or, without one, the domain's authoritative servers."""

    def __init__(self, domain: str, nameserver: str | None = None, port: int = 53, timeout: float = 5.0) -> None:
        self._domain = domain
        self._port = port
        self._timeout = timeout
        self._servers: list[str] | None = [nameserver] if nameserver else None

    def _authoritative(self) -> list[str]:
        # Postal's DNSResolver.for_domain: walk up from the domain to the first name with NS records.
        if self._servers is None:
            resolver = dns.resolver.Resolver()
            name = dns.name.from_text(self._domain)
            servers: list[str] = []
            while not servers and len(name.labels) > 1:
                try:
                    ns_names = [r.target.to_text() for r in resolver.resolve(name, "NS")]
                    for ns in ns_names:
                        servers += [a.to_text() for a in resolver.resolve(ns, "A")]
                except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
                    name = name.parent()
                except dns.exception.Timeout:
                    break
            self._servers = servers or [str(n) for n in resolver.nameservers[:1]]
        return self._servers

    def _query(self, name: str, rdtype: str) -> list[object]:
        for server in self._authoritative():
            query = dns.message.make_query(name, rdtype)
            try:
                answer = dns.query.udp(query, server, port=self._port, timeout=self._timeout)
                if answer.flags & dns.flags.TC:
                    answer = dns.query.tcp(query, server, port=self._port, timeout=self._timeout)
            except (dns.exception.Timeout, OSError):
                continue
            wanted = dns.rdatatype.from_text(rdtype)
            return [rd for rrset in answer.answer if rrset.rdtype == wanted for rd in rrset]
        return []

    def txt(self, name: str) -> list[str]:
        return [b"".join(rd.strings).decode(errors="replace") for rd in self._query(name, "TXT")]  # type: ignore[attr-defined]

    def mx(self, name: str) -> list[str]:
        return [rd.exchange.to_text().rstrip(".").lower() for rd in self._query(name, "MX")]  # type: ignore[attr-defined]

    def cname(self, name: str) -> list[str]:
        return [rd.target.to_text().rstrip(".").lower() for rd in self._query(name, "CNAME")]  # type: ignore[attr-defined]
