"""Gmail/Yahoo sender requirements (February 2024) as far as a domain's DNS can answer them.

All senders: SPF or DKIM passing. Bulk senders (about 5,000 messages a day to Gmail): SPF and DKIM,
a DMARC record (p=none is enough) and the From domain aligned with SPF or DKIM. The rest of the
rules are about the host or the mail itself and are listed in ``outside_dns``.
"""

from __future__ import annotations

from collections.abc import Sequence

from vibn_mail.checks.results import CheckResult, Readiness, Status

OUTSIDE_DNS = (
    "sending IP has a PTR equal to the HELO name that resolves back (vibn-mail doctor: host.ptr.*)",
    "SMTP connections use TLS (vibn-mail doctor: host.tls.starttls)",
    "spam rate reported in Postmaster Tools stays below 0.3 %",
    "marketing mail carries RFC 8058 one-click unsubscribe headers",
)


def readiness(results: Sequence[CheckResult]) -> Readiness:
    status = {r.check: r.status for r in results}

    def ok(*checks: str) -> bool:
        # WARN counts as passing: it is advice (a 1024-bit key still verifies).
        return all(status.get(c) in (Status.OK, Status.WARN) for c in checks)

    spf_ok = ok("postal.spf", "spf.single", "spf.lookups", "spf.void_lookups")
    dkim_ok = ok("postal.dkim")
    dmarc_ok = ok("dmarc.record")
    aligned = ok("dmarc.alignment")
    unmet = []
    if not spf_ok:
        unmet.append("SPF passes (postal.spf, spf.*)")
    if not dkim_ok:
        unmet.append("DKIM passes (postal.dkim)")
    if not dmarc_ok:
        unmet.append("DMARC record published (dmarc.record)")
    if not aligned:
        unmet.append("From aligned with SPF or DKIM (dmarc.alignment)")
    return Readiness(
        all_senders=spf_ok or dkim_ok,
        bulk_senders=spf_ok and dkim_ok and dmarc_ok and aligned,
        unmet=tuple(unmet),
        outside_dns=OUTSIDE_DNS,
    )
