"""FCrDNS and blocklists against the PTR and DNSBL zones Knot serves."""

from __future__ import annotations

import pytest

from tests.dns.cases import DOMAIN_ZONE, IP_ZONE, MX
from tests.dns.knot import Knot
from vibn_mail.checks.dnsbl import check_domain_listing, check_ip
from vibn_mail.checks.ptr import check_fcrdns
from vibn_mail.checks.resolver import Resolver
from vibn_mail.checks.results import ChangeAction, CheckResult, Status

pytestmark = pytest.mark.dns


def apply(knot: Knot, result: CheckResult) -> None:
    assert result.changes, f"{result.check}: no machine-usable fix"
    for change in result.changes:
        zone = knot.zone_of(change.record.name)
        if change.action is ChangeAction.REMOVE:
            knot.updater().update(zone, remove=[change.record])
        else:
            knot.updater().update(zone, add=[change.record])


@pytest.mark.parametrize(
    ("ip", "helo", "status"),
    [
        ("192.0.2.10", MX, Status.OK),
        ("2001:db8::10", MX, Status.OK),
        ("192.0.2.20", "mx20.postal.test", Status.INVALID),  # PTR says wrong.postal.test
        ("192.0.2.30", "mx30.postal.test", Status.MISSING),  # no PTR at all
        ("192.0.2.40", "mx40.postal.test", Status.INVALID),  # PTR right, name has no A back
        ("2001:db8::20", "mx20.postal.test", Status.MISSING),
    ],
)
def test_fcrdns_status_and_fix(ip: str, helo: str, status: Status, knot: Knot, resolver: Resolver) -> None:
    result = check_fcrdns(ip, helo, resolver)
    assert result.status is status, result.observed
    assert result.check == f"host.ptr.ipv{6 if ':' in ip else 4}"
    if status is Status.OK:
        return
    apply(knot, result)
    assert check_fcrdns(ip, helo, resolver).status is Status.OK


def test_ip_blocklist_answers(resolver: Resolver) -> None:
    zones = (IP_ZONE,)
    (clean,) = check_ip("192.0.2.10", resolver, zones)
    (unknown,) = check_ip("192.0.2.30", resolver, zones)
    (listed6,) = check_ip("2001:db8::20", resolver, zones)
    assert (clean.status, clean.observed) == (Status.OK, "not listed")
    assert unknown.status is Status.UNKNOWN and "public/open resolver" in unknown.observed
    assert listed6.status is Status.INVALID and "127.0.0.3" in listed6.observed
    assert clean.check == f"host.dnsbl.{IP_ZONE}"


def test_listed_ip_turns_ok_once_the_list_drops_it(knot: Knot, resolver: Resolver) -> None:
    (listed,) = check_ip("192.0.2.20", resolver, (IP_ZONE,))
    assert listed.status is Status.INVALID
    assert "Listed by SBL" in listed.observed and "check.spamhaus.org" in listed.fix
    assert listed.changes == ()  # delisting is the list operator's change, not a record the owner publishes
    # the list operator's side of the fix: the entry goes away
    from vibn_mail.dns.records import DnsRecord, RecordType

    name = f"20.2.0.192.{IP_ZONE}"
    knot.updater().update(IP_ZONE, remove=[DnsRecord(name=name, type=RecordType.A, content="127.0.0.2")])
    (after,) = check_ip("192.0.2.20", resolver, (IP_ZONE,))
    assert after.status is Status.OK


def test_domain_blocklist(resolver: Resolver) -> None:
    zones = (DOMAIN_ZONE,)
    assert check_domain_listing("good.test", resolver, zones)[0].status is Status.OK
    assert check_domain_listing("listed.test", resolver, zones)[0].status is Status.INVALID
    assert check_domain_listing("ratelimited.test", resolver, zones)[0].status is Status.UNKNOWN
