"""The test world served by Knot: Postal's own names, one zone per domain case, PTR and DNSBL zones.

Addresses are from the documentation ranges (192.0.2.0/24, 2001:db8::/32); nothing here is routable.
"""

from __future__ import annotations

import base64
from functools import cache

import dns.reversename
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.dns.knot import zone_text
from vibn_mail.dns.records import DnsRecord, RecordType
from vibn_mail.postal.domain_dns import PostalDomainDns

SPF_INCLUDE = "spf.postal.test"
RETURN_PATH = "rp.postal.test"
MX = "mx.postal.test"
DKIM_NAME = "postal-abc123._domainkey"
IP_ZONE = "zen.dnsbl.test"
DOMAIN_ZONE = "dbl.dnsbl.test"
REV4 = "2.0.192.in-addr.arpa"
REV6 = "8.b.d.0.1.0.0.2.ip6.arpa"


@cache
def dkim_record(bits: int, seed: int = 0) -> str:
    """Postal's record format for a fresh RSA key (``seed`` tells apart keys of the same size)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; t=s; h=sha256; p={base64.b64encode(der).decode()};"


#: Domains whose Postal key is not the default 2048-bit one.
KEY_BITS = {"weakdkim.test": 1024}


def expected(domain: str, *, bits: int | None = None, token: str | None = "tok" + "x" * 29) -> PostalDomainDns:
    return PostalDomainDns(
        domain=domain,
        spf_include=SPF_INCLUDE,
        dkim_record_name=DKIM_NAME,
        dkim_record=dkim_record(bits or KEY_BITS.get(domain, 2048)),
        return_path_target=RETURN_PATH,
        mx_records=(MX,),
        verification_token=token,
    )


def txt(name: str, content: str) -> DnsRecord:
    return DnsRecord(name=name, type=RecordType.TXT, content=content)


def rec(name: str, rtype: str, content: str, priority: int | None = None) -> DnsRecord:
    return DnsRecord(name=name, type=RecordType(rtype), content=content, priority=priority)


def correct(domain: str, *, bits: int | None = None) -> list[DnsRecord]:
    """Everything a domain should publish, done right (the base every case breaks one thing of)."""
    x = expected(domain, bits=bits)
    return [
        *x.records(),
        rec(domain, "A", "192.0.2.10"),
        txt(f"_dmarc.{domain}", "v=DMARC1; p=quarantine; rua=mailto:dmarc@reports.test"),
        txt(f"{domain}._report._dmarc.reports.test", "v=DMARC1"),
        txt(f"_mta-sts.{domain}", "v=STSv1; id=2026010101"),
        txt(f"_smtp._tls.{domain}", f"v=TLSRPTv1; rua=mailto:tls@{domain}"),
    ]


def _without(records: list[DnsRecord], name: str, rtype: str) -> list[DnsRecord]:
    return [r for r in records if not (r.name == name and r.type == RecordType(rtype))]


def _replace(records: list[DnsRecord], name: str, rtype: str, *new: DnsRecord) -> list[DnsRecord]:
    return [*_without(records, name, rtype), *new]


def domain_zones() -> dict[str, list[DnsRecord]]:
    """Zone name → records. Records for reports.test are gathered from the domains' authorisations."""
    z: dict[str, list[DnsRecord]] = {}
    z["good.test"] = correct("good.test")
    z["empty.test"] = []
    d = "dupspf.test"
    z[d] = [*correct(d), txt(d, "v=spf1 ip4:198.51.100.1 -all")]
    d = "noinclude.test"
    z[d] = _replace(
        correct(d),
        d,
        "TXT",
        txt(d, "v=spf1 ip4:198.51.100.1 -all"),
        txt(d, expected(d).verification_value or ""),
    )
    d = "nested.test"
    nested = _replace(
        correct(d),
        d,
        "TXT",
        txt(d, f"v=spf1 a mx include:{SPF_INCLUDE} include:i1.{d} ~all"),
        txt(d, expected(d).verification_value or ""),
    )
    for i in range(1, 8):
        nested.append(txt(f"i{i}.{d}", f"v=spf1 ip4:198.51.100.{i} include:i{i + 1}.{d} ~all"))
    nested.append(txt(f"i8.{d}", "v=spf1 ip4:198.51.100.8 ip6:2001:db8:8::/48 -all"))
    z[d] = nested
    d = "void.test"
    z[d] = _replace(
        correct(d),
        d,
        "TXT",
        txt(d, f"v=spf1 a:nx1.{d} a:nx2.{d} mx:nx3.{d} include:{SPF_INCLUDE} ~all"),
        txt(d, expected(d).verification_value or ""),
    )
    d = "wrongdkim.test"
    z[d] = _replace(correct(d), f"{DKIM_NAME}.{d}", "TXT", txt(f"{DKIM_NAME}.{d}", dkim_record(2048, seed=1)))
    d = "twodkim.test"
    z[d] = [*correct(d), txt(f"{DKIM_NAME}.{d}", "v=DKIM1; p=")]
    d = "weakdkim.test"
    z[d] = correct(d, bits=1024)
    d = "badcname.test"
    z[d] = _replace(
        _replace(correct(d), f"psrp.{d}", "CNAME", rec(f"psrp.{d}", "CNAME", "rp.elsewhere.test")),
        d,
        "MX",
        rec(d, "MX", "mail.elsewhere.test", 10),
    )
    d = "nodmarc.test"
    z[d] = _without(correct(d), f"_dmarc.{d}", "TXT")
    d = "baddmarc.test"
    z[d] = _replace(correct(d), f"_dmarc.{d}", "TXT", txt(f"_dmarc.{d}", "v=DMARC1; p=bogus; pct=50"))
    d = "oldmarc.test"
    z[d] = _replace(correct(d), f"_dmarc.{d}", "TXT", txt(f"_dmarc.{d}", "v=DMARC1; p=reject; pct=100; ri=3600"))
    # Never changed by a test: the CLI tests read it.
    d = "cli.test"
    z[d] = _without(correct(d), f"_dmarc.{d}", "TXT")
    d = "extrua.test"
    z[d] = [r for r in correct(d) if r.name != f"{d}._report._dmarc.reports.test"]
    # reports.test holds every domain's authorisation record; the rest stay in their own zone.
    reports = [r for recs in z.values() for r in recs if r.name.endswith(".reports.test")]
    z = {k: [r for r in v if not r.name.endswith(".reports.test")] for k, v in z.items()}
    z["reports.test"] = reports
    z["postal.test"] = [
        txt(SPF_INCLUDE, "v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 ~all"),
        rec(RETURN_PATH, "A", "192.0.2.10"),
        rec(MX, "A", "192.0.2.10"),
        rec(MX, "AAAA", "2001:db8::10"),
        rec("mx20.postal.test", "A", "192.0.2.20"),
        rec("mx30.postal.test", "A", "192.0.2.30"),
        rec("mx50.postal.test", "A", "192.0.2.50"),
        rec("mx20.postal.test", "AAAA", "2001:db8::20"),
    ]
    return z


#: The case table: domain → the checks that must come out with these statuses (others: not failing).
DOMAIN_CASES: dict[str, dict[str, str]] = {
    "empty.test": {
        "postal.spf": "missing",
        "postal.dkim": "missing",
        "postal.mx": "missing",
        "postal.return_path": "missing",
        "postal.verification": "missing",
        "spf.single": "missing",
        "dmarc.record": "missing",
        "dmarc.alignment": "invalid",
    },
    "dupspf.test": {"postal.spf": "ok", "spf.single": "invalid"},
    "noinclude.test": {"postal.spf": "invalid"},
    "nested.test": {"postal.spf": "ok", "spf.lookups": "invalid"},
    "void.test": {"spf.void_lookups": "invalid", "spf.lookups": "ok"},
    "wrongdkim.test": {"postal.dkim": "invalid", "dmarc.alignment": "warn"},
    "twodkim.test": {"postal.dkim": "invalid"},
    "badcname.test": {"postal.return_path": "invalid", "postal.mx": "missing", "dmarc.alignment": "warn"},
    "nodmarc.test": {"dmarc.record": "missing"},
    "baddmarc.test": {"dmarc.record": "invalid"},
    "oldmarc.test": {"dmarc.record": "warn"},
    "extrua.test": {"dmarc.rua_authorisation": "invalid"},
}


def _rev(ip: str) -> str:
    return dns.reversename.from_address(ip).to_text().rstrip(".")


def host_zones() -> dict[str, str]:
    """PTR and blocklist zones as raw zone text."""
    return {
        REV4: zone_text(
            REV4,
            [
                rec(f"10.{REV4}", "PTR", MX),
                rec(f"20.{REV4}", "PTR", "wrong.postal.test"),
                rec(f"40.{REV4}", "PTR", "mx40.postal.test"),
                rec(f"50.{REV4}", "PTR", "wrong.postal.test"),  # read by the CLI tests only
            ],
        ),
        REV6: zone_text(
            REV6,
            [
                rec(_rev("2001:db8::10"), "PTR", MX),
            ],
        ),
        IP_ZONE: zone_text(
            IP_ZONE,
            [
                rec(f"20.2.0.192.{IP_ZONE}", "A", "127.0.0.2"),
                txt(f"20.2.0.192.{IP_ZONE}", "Listed by SBL, see https://check.spamhaus.org/"),
                rec(f"30.2.0.192.{IP_ZONE}", "A", "127.255.255.254"),
                rec(f"50.2.0.192.{IP_ZONE}", "A", "127.0.0.4"),
                rec(_rev("2001:db8::20").replace("ip6.arpa", IP_ZONE), "A", "127.0.0.3"),
            ],
        ),
        DOMAIN_ZONE: zone_text(
            DOMAIN_ZONE,
            [
                rec(f"listed.test.{DOMAIN_ZONE}", "A", "127.0.1.2"),
                rec(f"ratelimited.test.{DOMAIN_ZONE}", "A", "127.255.255.254"),
            ],
        ),
    }


def all_zones() -> dict[str, str]:
    out = {name: zone_text(name, records) for name, records in domain_zones().items()}
    out.update(host_zones())
    return out
