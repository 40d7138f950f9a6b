"""Every domain case against real DNS (Knot on loopback): the status, then the fix applied by RFC 2136."""

from __future__ import annotations

import pytest

from tests.dns.cases import DOMAIN_CASES, SPF_INCLUDE, expected
from tests.dns.knot import Knot
from vibn_mail.checks import ChangeAction, DomainReport, Resolver, Status, check_domain, check_domains
from vibn_mail.checks.resolver import Outcome

pytestmark = pytest.mark.dns


def apply_fixes(knot: Knot, report: DomainReport) -> None:
    """Apply the report's machine fixes exactly as given, one update per zone."""
    by_zone: dict[str, tuple[list, list]] = {}  # type: ignore[type-arg]
    for change in report.changes():
        remove, add = by_zone.setdefault(knot.zone_of(change.record.name), ([], []))
        (remove if change.action is ChangeAction.REMOVE else add).append(change.record)
    assert by_zone, f"{report.domain}: failing checks but no machine-usable fix"
    for zone, (remove, add) in by_zone.items():
        knot.updater().update(zone, remove=remove, add=add)


def test_correct_domain_passes_every_check(resolver: Resolver) -> None:
    report = check_domain(expected("good.test"), resolver)
    assert {r.check: r.status for r in report.results if r.status is not Status.OK} == {}
    assert report.postal_usable
    assert report.readiness.bulk_senders and report.readiness.all_senders
    # the correct DKIM record is served as two character-strings (2048-bit key): joined, it matches
    dkim = report.result("postal.dkim")
    assert dkim.status is Status.OK
    assert resolver.query("postal-abc123._domainkey.good.test", "TXT").outcome is Outcome.ANSWER


def test_multi_string_dkim_is_really_split_on_the_wire(knot: Knot) -> None:
    import dns.message
    import dns.query

    q = dns.message.make_query("postal-abc123._domainkey.good.test.", "TXT")
    answer = dns.query.udp(q, knot.host, port=knot.port, timeout=2)
    (rdata,) = answer.answer[0]
    assert len(rdata.strings) == 2


@pytest.mark.parametrize("domain", sorted(DOMAIN_CASES))
def test_case_status_then_fix_turns_it_ok(domain: str, knot: Knot, resolver: Resolver) -> None:
    want = DOMAIN_CASES[domain]
    before = check_domain(expected(domain), resolver)
    got = {check: before.result(check).status.value for check in want}
    assert got == want
    for r in before.results:
        if r.status is not Status.OK:
            assert r.fix, f"{r.check} has no fix text"
    failing = [r.check for r in before.results if r.failed or (r.status is Status.WARN and r.changes)]
    assert failing
    apply_fixes(knot, before)
    after = check_domain(expected(domain), resolver)
    still = {
        c: (after.result(c).status.value, after.result(c).observed)
        for c in failing
        if after.result(c).status is not Status.OK
    }
    assert still == {}
    assert not after.failed, [r for r in after.results if r.failed]
    assert after.postal_usable


def test_postal_1024_bit_key_is_a_warning_not_a_failure(resolver: Resolver) -> None:
    report = check_domain(expected("weakdkim.test"), resolver)
    size = report.result("dkim.key_size")
    assert (size.status, size.observed) == (Status.WARN, "rsa 1024 bits")
    assert "2048" in size.fix
    assert report.result("postal.dkim").status is Status.OK
    assert not report.failed and report.readiness.bulk_senders


def test_nested_lookup_count_and_flattened_fix(resolver: Resolver) -> None:
    from vibn_mail.checks import spf

    record = f"v=spf1 a mx include:{SPF_INCLUDE} include:i1.nested.test ~all"
    counted = spf.count(resolver, "nested.test", record)
    assert counted.lookups == 11
    flat = spf.flatten(resolver, "nested.test", record, keep={SPF_INCLUDE})
    assert flat is not None
    assert "include:i1" not in flat and f"include:{SPF_INCLUDE}" in flat and "ip4:198.51.100.8" in flat
    assert spf.count(resolver, "nested.test", flat).lookups == 3


def test_unanswered_lookups_are_unknown_not_missing() -> None:
    # A port nothing listens on: every lookup times out; nothing may be judged missing.
    from tests.dns.knot import free_port

    dead = Resolver.given(["127.0.0.1"], port=free_port(), timeout=0.3)
    report = check_domain(expected("good.test"), dead)
    assert report.result("postal.spf").status is Status.UNKNOWN
    assert report.result("postal.dkim").status is Status.UNKNOWN
    assert not any(r.status is Status.MISSING for r in report.results)


def test_authoritative_mode_asks_the_domains_nameservers(knot: Knot, resolver: Resolver) -> None:
    auth = Resolver.authoritative(resolver, port=knot.port, timeout=2.0)
    report = check_domain(expected("good.test"), auth)
    assert [r.status for r in report.results] == [Status.OK] * len(report.results)
    # NS good.test + A ns1.good.test come on top of the checks' own lookups
    given = Resolver.given([knot.host], port=knot.port)
    check_domain(expected("good.test"), given)
    assert auth.queries > given.queries


def test_queries_are_counted_and_domains_run_concurrently(knot: Knot) -> None:
    res = Resolver.given([knot.host], port=knot.port)
    reports = check_domains([expected("good.test")] * 8, res, workers=4)
    assert [r.domain for r in reports] == ["good.test"] * 8
    one = Resolver.given([knot.host], port=knot.port)
    check_domain(expected("good.test"), one)
    assert res.queries == 8 * one.queries > 0
