"""Blocklists: ZEN-style for IPs (reversed octets / nibbles) and DBL-style for domains.

Spamhaus answers 127.255.255.252/254/255 when it refuses the question (typo in the query, query
through a public resolver, rate limit): that is "unknown", never "listed". Zone names are parameters
so tests and private mirrors (Spamhaus DQS) can stand in for the public zones.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from vibn_mail.checks.ptr import reverse_name
from vibn_mail.checks.resolver import Resolver
from vibn_mail.checks.results import CheckResult, ResultFor, Status

DEFAULT_IP_ZONES = ("zen.spamhaus.org",)
DEFAULT_DOMAIN_ZONES = ("dbl.spamhaus.org",)
_REFUSED = {
    "127.255.255.252": "the query was malformed",
    "127.255.255.254": "queries through a public/open resolver are refused",
    "127.255.255.255": "rate limited (too many queries)",
}


def _judge(check: str, subject: str, query_name: str, zone: str, resolver: Resolver, delist: str) -> CheckResult:
    result = ResultFor(check, subject, f"not listed in {zone} (NXDOMAIN for {query_name})")
    answer = resolver.query(query_name, "A")
    if answer.failed:
        return result(Status.UNKNOWN, f"lookup failed: {answer.error}", f"Re-run; {zone} did not answer.")
    if not answer.values:
        return result(Status.OK, "not listed")
    refused = sorted(_REFUSED[v] for v in answer.values if v in _REFUSED)
    if refused:
        return result(
            Status.UNKNOWN,
            f"{zone} refused to answer ({', '.join(answer.values)}: {'; '.join(refused)})",
            f"Query {zone} through your own recursive resolver (not a public one) or a Spamhaus DQS key.",
        )
    reason = resolver.query(query_name, "TXT")
    detail = f" — {reason.values[0]}" if reason.values else ""
    return result(
        Status.INVALID,
        f"listed in {zone}: {', '.join(answer.values)}{detail}",
        f"Stop the cause (open relay, compromised account, bad list), then request removal: {delist}",
    )


def check_ip(ip: str, resolver: Resolver, zones: Sequence[str] = DEFAULT_IP_ZONES) -> list[CheckResult]:
    """Check ids ``host.dnsbl.<zone>``, one per zone."""
    str(ipaddress.ip_address(ip))  # ValueError names a bad address before any query
    out = []
    for zone in zones:
        name = reverse_name(ip, v4_zone=zone, v6_zone=zone)
        out.append(_judge(f"host.dnsbl.{zone}", ip, name, zone, resolver, f"https://check.spamhaus.org/ (IP {ip})"))
    return out


def check_domain_listing(
    domain: str, resolver: Resolver, zones: Sequence[str] = DEFAULT_DOMAIN_ZONES
) -> list[CheckResult]:
    """Check ids ``domain.dbl.<zone>``, one per zone."""
    return [
        _judge(
            f"domain.dbl.{zone}",
            domain,
            f"{domain}.{zone}",
            zone,
            resolver,
            f"https://check.spamhaus.org/ (domain {domain})",
        )
        for zone in zones
    ]
