"""Forward-confirmed reverse DNS of a sending IP (PTR = HELO name, and the name resolves back)."""

from __future__ import annotations

import ipaddress

from vibn_mail.checks.resolver import Resolver
from vibn_mail.checks.results import ChangeAction, CheckResult, RecordChange, ResultFor, Status
from vibn_mail.dns.records import DnsRecord, RecordType, normalise_name


def reverse_name(ip: str, *, v4_zone: str = "in-addr.arpa", v6_zone: str = "ip6.arpa") -> str:
    """``192.0.2.10`` → ``10.2.0.192.in-addr.arpa``; IPv6 as reversed nibbles under ``v6_zone``."""
    addr = ipaddress.ip_address(ip)
    if addr.version == 4:
        return ".".join(reversed(str(addr).split("."))) + f".{v4_zone}"
    return ".".join(reversed(addr.exploded.replace(":", ""))) + f".{v6_zone}"


def check_fcrdns(
    ip: str, helo: str, resolver: Resolver, *, v4_zone: str = "in-addr.arpa", v6_zone: str = "ip6.arpa"
) -> CheckResult:
    """Check id ``host.ptr.ipv4`` / ``host.ptr.ipv6``; the PTR fix is made at the IP's provider."""
    helo = normalise_name(helo)
    version = ipaddress.ip_address(ip).version
    rtype = "A" if version == 4 else "AAAA"
    check = f"host.ptr.ipv{version}"
    rev = reverse_name(ip, v4_zone=v4_zone, v6_zone=v6_zone)
    result = ResultFor(check, ip, f"PTR {rev} → {helo}, and {rtype} {helo} → {ip}")
    ptr_record = DnsRecord(name=rev, type=RecordType.PTR, content=helo)
    where = "at the hosting provider (reverse DNS of the server's IP)"
    ptr = resolver.query(rev, "PTR")
    if ptr.failed:
        return result(
            Status.UNKNOWN, f"PTR lookup failed: {ptr.error}", "Re-run; the reverse zone's nameservers did not answer."
        )
    if not ptr.values:
        return result(
            Status.MISSING,
            "no PTR record",
            f"Set the PTR of {ip} to {helo} {where}",
            (RecordChange(action=ChangeAction.ADD, record=ptr_record),),
        )
    if list(ptr.values) != [helo]:
        old = [DnsRecord(name=rev, type=RecordType.PTR, content=v) for v in ptr.values]
        return result(
            Status.INVALID,
            f"PTR {', '.join(ptr.values)}",
            f"Set the PTR of {ip} to {helo} (the HELO name) {where}",
            (
                *(RecordChange(action=ChangeAction.REMOVE, record=r) for r in old),
                RecordChange(action=ChangeAction.ADD, record=ptr_record),
            ),
        )
    forward = resolver.query(helo, rtype)
    if forward.failed:
        return result(
            Status.UNKNOWN,
            f"PTR {helo}; {rtype} lookup failed: {forward.error}",
            "Re-run; the HELO name's nameservers did not answer.",
        )
    if ip not in [str(ipaddress.ip_address(v)) for v in forward.values]:
        shown = ", ".join(forward.values) or "nothing"
        return result(
            Status.INVALID,
            f"PTR {helo}, but {rtype} {helo} → {shown} (not forward-confirmed)",
            f"Publish {rtype} {helo} → {ip}",
            (RecordChange(action=ChangeAction.ADD, record=DnsRecord(name=helo, type=RecordType(rtype), content=ip)),),
        )
    return result(Status.OK, f"PTR {helo}, {rtype} {helo} → {ip}")
