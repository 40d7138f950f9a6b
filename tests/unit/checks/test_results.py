from __future__ import annotations

from vibn_mail.checks.ptr import reverse_name
from vibn_mail.checks.readiness import readiness
from vibn_mail.checks.results import ChangeAction, CheckResult, DomainReport, RecordChange, Status
from vibn_mail.checks.smtp_probe import ProbeOutcome, parse_probe_output
from vibn_mail.checks.tls import name_matches
from vibn_mail.dns.records import DnsRecord, RecordType


def _r(check: str, status: Status, *changes: RecordChange) -> CheckResult:
    return CheckResult(check=check, subject="d.test", status=status, observed="o", expected="e", changes=changes)


def test_changes_are_deduplicated_and_removals_come_first() -> None:
    old = DnsRecord(name="psrp.d.test", type=RecordType.CNAME, content="x.test")
    new = DnsRecord(name="psrp.d.test", type=RecordType.CNAME, content="rp.p.test")
    add, rm = (
        RecordChange(action=ChangeAction.ADD, record=new),
        RecordChange(action=ChangeAction.REMOVE, record=old),
    )
    results = (_r("postal.return_path", Status.INVALID, rm, add), _r("dmarc.alignment", Status.WARN, rm, add))
    report = DomainReport(domain="d.test", results=results, postal_usable=False, readiness=readiness(results))
    assert report.changes() == (rm, add)


def test_failing_means_missing_or_invalid_unless_strict() -> None:
    assert [_r("x", s).fails() for s in Status] == [False, True, True, False, False]
    assert [_r("x", s).fails(strict=True) for s in Status] == [False, True, True, True, True]


def test_readiness_bulk_needs_spf_dkim_dmarc_alignment() -> None:
    ok = {
        c: Status.OK
        for c in (
            "postal.spf",
            "spf.single",
            "spf.lookups",
            "spf.void_lookups",
            "postal.dkim",
            "dmarc.record",
            "dmarc.alignment",
        )
    }
    assert readiness([_r(c, s) for c, s in ok.items()]).bulk_senders
    no_dmarc = readiness([_r(c, Status.MISSING if c == "dmarc.record" else s) for c, s in ok.items()])
    assert no_dmarc.all_senders and not no_dmarc.bulk_senders
    assert no_dmarc.unmet == ("DMARC record published (dmarc.record)",)
    only_dkim = readiness([_r(c, Status.INVALID if c == "postal.spf" else s) for c, s in ok.items()])
    assert only_dkim.all_senders and not only_dkim.bulk_senders


def test_reverse_names() -> None:
    assert reverse_name("192.0.2.10") == "10.2.0.192.in-addr.arpa"
    assert reverse_name("2001:db8::1", v6_zone="zen.test").startswith("1.0.0.0.")
    assert reverse_name("2001:db8::1").endswith(".8.b.d.0.1.0.0.2.ip6.arpa")
    assert reverse_name("192.0.2.10", v4_zone="zen.spamhaus.org") == "10.2.0.192.zen.spamhaus.org"


def test_certificate_name_matching() -> None:
    assert name_matches("mail.p.test", ["mail.p.test"])
    assert name_matches("mail.p.test", ["*.p.test"])
    assert not name_matches("a.mail.p.test", ["*.p.test"])
    assert not name_matches("p.test", ["*.p.test"])


def test_probe_output_parsing() -> None:
    assert parse_probe_output('{"outcome": "banner", "banner": "220 hi"}\n').banner == "220 hi"
    assert parse_probe_output("Traceback ...").outcome is ProbeOutcome.ERROR
    assert parse_probe_output("").outcome is ProbeOutcome.ERROR
