"""Judge one tenant domain: Postal's own checks first, then what receivers (Gmail, Yahoo) demand.

Entry point for every caller (``vibn-mail verify``, provisioning's post-apply check, the service's
"Verify DNS" button and ``verify_domain`` tool): :func:`check_domain`. It does no I/O except through
the resolver it is given. Check ids and wording are stable; see docs/checks.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

from pydantic import BaseModel, ConfigDict

from vibn_mail.checks import dmarc as dmarc_mod
from vibn_mail.checks import spf
from vibn_mail.checks.dkim import MINIMUM_RSA_BITS, RECOMMENDED_RSA_BITS, parse_key
from vibn_mail.checks.readiness import readiness
from vibn_mail.checks.resolver import Answer, Resolver
from vibn_mail.checks.results import ChangeAction, CheckResult, DomainReport, RecordChange, ResultFor, Status
from vibn_mail.dns.records import DnsRecord, RecordType
from vibn_mail.postal.domain_dns import PostalDomainDns


class DomainCheckOptions(BaseModel):
    """Caller choices that shape fixes, not verdicts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Address for ``rua=`` in a DMARC record we propose (none: the fix publishes no reports address).
    dmarc_rua: str | None = None


def _txt(name: str, content: str) -> DnsRecord:
    return DnsRecord(name=name, type=RecordType.TXT, content=content)


def _add(*records: DnsRecord) -> tuple[RecordChange, ...]:
    return tuple(RecordChange(action=ChangeAction.ADD, record=r) for r in records)


def _remove(*records: DnsRecord) -> tuple[RecordChange, ...]:
    return tuple(RecordChange(action=ChangeAction.REMOVE, record=r) for r in records)


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f'"{v}"' for v in values) if values else "nothing"


def _unknown(result: ResultFor, answer: Answer) -> CheckResult:
    return result(
        Status.UNKNOWN,
        f"lookup of {answer.rdtype} {answer.name} failed: {answer.error}",
        "Re-run when the domain's nameservers answer; if it persists, check the delegation (NS records).",
    )


class _DomainCheck:
    """One run over one domain. Holds answers read once and shared by several checks."""

    def __init__(self, expected: PostalDomainDns, resolver: Resolver, options: DomainCheckOptions) -> None:
        self.x = expected
        self.d = expected.domain
        self.any = resolver
        # Postal asks the domain's own nameservers for its four checks.
        self.own = resolver.for_domain(expected.domain)
        self.options = options
        self.apex_txt = self.own.query(self.d, "TXT")
        # The record carrying Postal's include first: a merge keeps its ``all``.
        self.spf_now = sorted(
            (v for v in self.apex_txt.values if spf.is_spf(v.strip())),
            key=lambda v: (f"include:{expected.spf_include}" not in v, v),
        )

    # SPF ---------------------------------------------------------------------------------------
    def _spf_missing(self, result: ResultFor) -> CheckResult:
        return result(Status.MISSING, "no SPF record", f'Publish TXT {self.d} "{self.desired_spf}"', self.spf_changes)

    def postal_spf(self) -> CheckResult:
        result = ResultFor("postal.spf", self.d, f"an SPF record containing include:{self.x.spf_include}")
        if self.apex_txt.failed:
            return _unknown(result, self.apex_txt)
        pattern = re.compile(r"include:\s*" + re.escape(self.x.spf_include))
        if not self.spf_now:
            return self._spf_missing(result)
        if not any(pattern.search(r) for r in self.spf_now):
            return result(
                Status.INVALID,
                f"SPF without include:{self.x.spf_include}: {_quoted(self.spf_now)}",
                f'Replace the SPF record with "{self.desired_spf}" (merged: keeps your other senders)',
                self.spf_changes,
            )
        return result(Status.OK, _quoted(self.spf_now))

    def spf_single(self) -> CheckResult:
        result = ResultFor("spf.single", self.d, "exactly one v=spf1 TXT record")
        if self.apex_txt.failed:
            return _unknown(result, self.apex_txt)
        if len(self.spf_now) == 1:
            return result(Status.OK, _quoted(self.spf_now))
        if not self.spf_now:
            return self._spf_missing(result)
        return result(
            Status.INVALID,
            f"{len(self.spf_now)} SPF records (receivers answer permerror): {_quoted(self.spf_now)}",
            f'Replace them with one merged record "{self.desired_spf}"',
            self.spf_changes,
        )

    @cached_property
    def count_now(self) -> spf.Count | None:
        if len(self.spf_now) != 1:
            return None
        return spf.count(self.any, self.d, self.spf_now[0])

    @staticmethod
    def _uncounted(result: ResultFor) -> CheckResult:
        return result(Status.UNKNOWN, "no single SPF record to count", "Fix spf.single first.")

    def spf_lookups(self) -> CheckResult:
        result = ResultFor("spf.lookups", self.d, f"at most {spf.LOOKUP_LIMIT} DNS-querying terms, includes counted")
        counted = self.count_now
        if counted is None:
            return self._uncounted(result)
        observed = f"{counted.lookups} lookups through {len(counted.chain)} records"
        if counted.errors:
            observed += "; " + "; ".join(counted.errors)
        if counted.lookups <= spf.LOOKUP_LIMIT and not counted.errors:
            return result(Status.OK, observed)
        fixable = bool(self.spf_changes) and self.desired_spf_ok
        fix = (
            f'Replace the SPF record with "{self.desired_spf}" (includes other than {self.x.spf_include} '
            "flattened to their addresses; re-check when those providers change their ranges)"
            if fixable
            else "Remove includes you no longer send through, or replace them with ip4:/ip6: ranges, "
            f"until at most {spf.LOOKUP_LIMIT} lookups remain"
        )
        return result(Status.INVALID, observed, fix, self.spf_changes if fixable else ())

    def spf_void(self) -> CheckResult:
        result = ResultFor("spf.void_lookups", self.d, f"at most {spf.VOID_LIMIT} lookups answering no records")
        counted = self.count_now
        if counted is None:
            return self._uncounted(result)
        observed = f"{counted.void} void lookups"
        if counted.void <= spf.VOID_LIMIT:
            return result(Status.OK, observed)
        fixable = bool(self.spf_changes) and self.desired_spf_ok
        fix = (
            f'Replace the SPF record with "{self.desired_spf}" (void terms removed)'
            if fixable
            else "Remove the terms that name domains without records"
        )
        return result(Status.INVALID, observed, fix, self.spf_changes if fixable else ())

    @property
    def desired_spf(self) -> str:
        """The one SPF record every SPF fix proposes, so fixes of different checks never conflict."""
        return self.desired[0]

    @property
    def desired_spf_ok(self) -> bool:
        """Whether :attr:`desired_spf` passes every SPF check (else its fix is text only)."""
        return self.desired[1]

    @cached_property
    def desired(self) -> tuple[str, bool]:
        if not self.spf_now:
            return self.x.spf_value, True
        try:
            record = spf.merge(self.spf_now) if len(self.spf_now) > 1 else self.spf_now[0]
            if not any(t.name == "include" and t.value.lower() == self.x.spf_include for t in spf.parse(record)):
                record = spf.with_include(record, self.x.spf_include)
        except ValueError:
            return self.x.spf_value, True
        counted = spf.count(self.any, self.d, record)
        if counted.void > spf.VOID_LIMIT:
            record = self._drop_void_terms(record)
            counted = spf.count(self.any, self.d, record)
        if counted.lookups > spf.LOOKUP_LIMIT:
            flat = spf.flatten(self.any, self.d, record, keep={self.x.spf_include})
            if flat is not None:
                record, counted = flat, spf.count(self.any, self.d, flat)
        ok = counted.lookups <= spf.LOOKUP_LIMIT and counted.void <= spf.VOID_LIMIT and not counted.errors
        return record, ok

    def _drop_void_terms(self, record: str) -> str:
        kept = []
        for term in spf.parse(record):
            if term.name in ("a", "mx", "exists", "include") and term.value and "%" not in term.value:
                target = term.value.split("/", 1)[0]
                rdtype = {"mx": "MX", "include": "TXT"}.get(term.name, "A")
                if self.any.query(target, rdtype).void and (rdtype != "A" or self.any.query(target, "AAAA").void):
                    continue
            kept.append(term)
        return spf.render(kept)

    @cached_property
    def spf_changes(self) -> tuple[RecordChange, ...]:
        desired = self.desired_spf
        if self.spf_now == [desired]:
            return ()
        return _remove(*(_txt(self.d, r) for r in self.spf_now)) + _add(_txt(self.d, desired))

    # DKIM --------------------------------------------------------------------------------------
    def postal_dkim(self) -> CheckResult:
        name = self.x.dkim_fqdn
        result = ResultFor("postal.dkim", name, f'exactly one TXT at {name} equal to "{self.x.dkim_record}"')
        answer = self.own.query(name, "TXT")
        if answer.failed:
            return _unknown(result, answer)
        records = [v.strip() for v in answer.values]
        changes = _remove(*(_txt(name, v) for v in answer.values)) + _add(_txt(name, self.x.dkim_record))
        fix = f'Publish exactly one TXT at {name}: "{self.x.dkim_record}"'
        if not records:
            return result(Status.MISSING, "no TXT record", fix, changes)
        first = records[0] if records[0].endswith(";") else f"{records[0]};"
        if len(records) > 1:
            return result(
                Status.INVALID,
                f"{len(records)} TXT records: {_quoted(records)}",
                fix + " and remove the others",
                changes,
            )
        if first != self.x.dkim_record:
            return result(Status.INVALID, f'"{records[0]}"', fix + " (it differs; copy it again in full)", changes)
        return result(Status.OK, f'"{records[0]}"')

    def dkim_key_size(self) -> CheckResult:
        result = ResultFor(
            "dkim.key_size", self.x.dkim_fqdn, f"an RSA key of at least {RECOMMENDED_RSA_BITS} bits (or ed25519)"
        )
        regenerate = "Regenerate the domain's DKIM key in Postal."
        try:
            key = parse_key(self.x.dkim_record)
        except ValueError as e:
            return result(Status.INVALID, f"expected record unusable: {e}", regenerate)
        if key.revoked:
            return result(Status.INVALID, "key revoked (empty p=)", regenerate)
        observed = f"{key.algorithm} {key.bits} bits"
        if key.algorithm == "ed25519" or (key.bits or 0) >= RECOMMENDED_RSA_BITS:
            return result(Status.OK, observed)
        return result(
            Status.WARN if (key.bits or 0) >= MINIMUM_RSA_BITS else Status.INVALID,
            observed,
            f"Rotate to a {RECOMMENDED_RSA_BITS}-bit key (RFC 8301). Postal makes 1024-bit keys "
            "and cannot be told otherwise yet (postal PR #3030).",
        )

    # MX and return path ------------------------------------------------------------------------
    def postal_mx(self) -> CheckResult:
        want = list(self.x.mx_records)
        expected = "MX " + ", ".join(f"10 {m}" for m in want) if want else "any MX (Postal has no mx_records)"
        result = ResultFor("postal.mx", self.d, expected)
        answer = self.own.query(self.d, "MX")
        if answer.failed:
            return _unknown(result, answer)
        have = [v.split(" ", 1)[1] for v in answer.values]
        observed = ", ".join(sorted(answer.values)) if answer.values else "no MX record"
        missing = [m for m in want if m not in have]
        adds = _add(*(DnsRecord(name=self.d, type=RecordType.MX, content=m, priority=10) for m in missing))
        publish = f"Publish MX {', '.join(f'10 {m}' for m in missing)} at {self.d}"
        if not have:
            if not want:
                return result(
                    Status.WARN, observed, "None needed to send; publish MX records to receive mail for this domain."
                )
            return result(Status.MISSING, observed, publish, adds)
        if not missing:
            return result(Status.OK, observed)
        status, what = (
            (Status.MISSING, "none of them points to Postal")
            if len(missing) == len(want)
            else (Status.INVALID, f"{', '.join(missing)} missing")
        )
        return result(
            status,
            f"{observed} ({what})",
            f"{publish}; remove other MX records if Postal should receive all of this domain's mail",
            adds,
        )

    def postal_return_path(self) -> CheckResult:
        name = self.x.return_path_fqdn
        expected = f"CNAME {name} → {self.x.return_path_target}"
        result = ResultFor("postal.return_path", name, expected)
        answer = self.own.query(name, "CNAME")
        if answer.failed:
            return _unknown(result, answer)
        target = DnsRecord(name=name, type=RecordType.CNAME, content=self.x.return_path_target)
        if not answer.values:
            return result(
                Status.MISSING, "no CNAME record", f"Publish {expected} (DNS only, never proxied)", _add(target)
            )
        if list(answer.values) == [self.x.return_path_target]:
            return result(Status.OK, f"CNAME {answer.values[0]}")
        old = [DnsRecord(name=name, type=RecordType.CNAME, content=v) for v in answer.values]
        return result(
            Status.INVALID,
            f"CNAME {', '.join(answer.values)}",
            f"Point the CNAME at {self.x.return_path_target} instead",
            _remove(*old) + _add(target),
        )

    def postal_verification(self) -> CheckResult | None:
        value = self.x.verification_value
        if value is None:
            return None
        expected = f'TXT {self.d} "{value}"'
        result = ResultFor("postal.verification", self.d, expected)
        if self.apex_txt.failed:
            return _unknown(result, self.apex_txt)
        if value in [v.strip() for v in self.apex_txt.values]:
            return result(Status.OK, f'"{value}"')
        return result(Status.MISSING, "no verification TXT record", f"Publish {expected}", _add(_txt(self.d, value)))

    # DMARC -------------------------------------------------------------------------------------
    def dmarc_lookup(self) -> tuple[str, list[str], Answer]:
        """The DMARC records that apply: the domain's own, else the nearest ancestor's (RFC 9989)."""
        name = f"_dmarc.{self.d}"
        answer = self.any.query(name, "TXT")
        found = [v for v in answer.values if dmarc_mod.is_dmarc(v)]
        if found or answer.failed:
            return name, found, answer
        labels = self.d.split(".")
        for i in range(1, len(labels) - 1):
            parent = f"_dmarc.{'.'.join(labels[i:])}"
            up = self.any.query(parent, "TXT")
            up_found = [v for v in up.values if dmarc_mod.is_dmarc(v)]
            if up_found:
                return parent, up_found, up
        return name, [], answer

    def dmarc_record(self) -> tuple[CheckResult, dmarc_mod.Dmarc | None]:
        own = f"_dmarc.{self.d}"
        where, records, answer = self.dmarc_lookup()
        # A failed lookup or no record at all leaves ``where`` at the domain's own name, never an ancestor's.
        result = ResultFor("dmarc.record", where, "one v=DMARC1 TXT record with p=none|quarantine|reject")
        if answer.failed:
            return _unknown(result, answer), None
        proposal = dmarc_mod.repaired(records[0] if records else None, self.options.dmarc_rua)
        if not records:
            return result(
                Status.MISSING,
                "no DMARC record",
                f'Publish TXT {own} "{proposal}" (p=none is enough for Gmail/Yahoo bulk senders; '
                "tighten to quarantine/reject once reports look clean)",
                _add(_txt(own, proposal)),
            ), None
        replace = _remove(*(_txt(where, r) for r in records)) + _add(_txt(where, proposal))
        if len(records) > 1:
            return result(
                Status.INVALID,
                f"{len(records)} DMARC records (receivers ignore all): {_quoted(records)}",
                f'Keep one record: "{proposal}"',
                replace,
            ), None
        parsed = dmarc_mod.parse(records[0])
        inherited = "" if where == own else f" (inherited from {where})"
        if not parsed.valid:
            return result(
                Status.INVALID,
                f'"{records[0]}": {"; ".join(parsed.errors)}',
                f'Replace it with "{proposal}"',
                replace,
            ), None
        if parsed.warnings:
            return result(
                Status.WARN,
                f'"{records[0]}"{inherited}: {"; ".join(parsed.warnings)}',
                f'Replace it with "{proposal}"',
                replace,
            ), parsed
        return result(Status.OK, f'"{records[0]}"{inherited}'), parsed

    def dmarc_alignment(self, parsed: dmarc_mod.Dmarc | None, dkim: CheckResult, rp: CheckResult) -> CheckResult:
        result = ResultFor(
            "dmarc.alignment", self.d, f"mail From @{self.d} aligned with its DKIM d= or SPF MAIL FROM domain"
        )
        # Postal signs with d=<domain> only when its DKIM check passes, and uses MAIL FROM
        # @psrp.<domain> only when the return path passes: alignment follows from those two.
        dkim_ok = dkim.status is Status.OK
        strict_spf = parsed is not None and parsed.tags.get("aspf", "r").lower() == "s"
        spf_ok = rp.status is Status.OK and not strict_spf
        mail_from = f"@{self.x.return_path_fqdn}" if rp.status is Status.OK else "@Postal's own domain"
        dkim_part = f"d={self.d}" if dkim_ok else "d=Postal's own domain"
        spf_part = "aspf=s: the psrp subdomain never aligns strictly" if strict_spf else f"MAIL FROM {mail_from}"
        parts = [
            f"DKIM {'aligned' if dkim_ok else 'not aligned'} ({dkim_part})",
            f"SPF {'aligned' if spf_ok else 'not aligned'} ({spf_part})",
        ]
        observed = "; ".join(parts)
        if dkim_ok and spf_ok:
            return result(Status.OK, observed)
        if dkim_ok or spf_ok:
            return result(
                Status.WARN,
                observed,
                "One aligned mechanism passes DMARC; fix the other (postal.dkim / postal.return_path) "
                "so a forwarded message still passes.",
                rp.changes if dkim_ok and not strict_spf else dkim.changes,
            )
        return result(
            Status.INVALID,
            observed,
            "Publish the DKIM record and the return-path CNAME (see postal.dkim, postal.return_path).",
            dkim.changes + rp.changes,
        )

    def dmarc_rua(self, parsed: dmarc_mod.Dmarc | None) -> CheckResult:
        result = ResultFor(
            "dmarc.rua_authorisation", self.d, "each external rua domain publishes <domain>._report._dmarc.<dest>"
        )
        if parsed is None:
            return result(Status.OK, "no usable DMARC record")
        missing: list[DnsRecord] = []
        notes: list[str] = []
        for addr in parsed.rua():
            dest = addr.rsplit("@", 1)[-1].lower()
            if dest == self.d or dest.endswith(f".{self.d}") or self.d.endswith(f".{dest}"):
                continue
            name = f"{self.d}._report._dmarc.{dest}"
            answer = self.any.query(name, "TXT")
            if any(dmarc_mod.is_dmarc(v) for v in answer.values):
                notes.append(f"{dest} authorised")
            else:
                notes.append(f"{dest} not authorised")
                missing.append(_txt(name, "v=DMARC1"))
        observed = "; ".join(notes) if notes else "no external rua address"
        if not missing:
            return result(Status.OK, observed)
        return result(
            Status.INVALID,
            observed,
            "Ask the report receiver to publish "
            + ", ".join(f'TXT {r.name} "v=DMARC1"' for r in missing)
            + " (else reports to it are dropped)",
            _add(*missing),
        )

    # Informational -----------------------------------------------------------------------------
    def _informational(self, check: str, name: str, prefix: str, required: str, example: str) -> CheckResult:
        expected = f'TXT {name} "{example}" (optional)'
        result = ResultFor(check, name, expected)
        answer = self.any.query(name, "TXT")
        if answer.failed:
            return _unknown(result, answer)
        found = [v for v in answer.values if v.replace(" ", "").startswith(prefix)]
        if len(found) == 1 and required in found[0]:
            return result(Status.OK, f'"{found[0]}"')
        observed = "no record" if not found else f"unusable: {_quoted(found)}"
        return result(Status.WARN, observed, f"Optional: publish {expected.removesuffix(' (optional)')}")

    def mta_sts(self) -> CheckResult:
        # DNS half only: the policy at https://mta-sts.<domain>/.well-known/mta-sts.txt is not fetched here.
        return self._informational("mta_sts", f"_mta-sts.{self.d}", "v=STSv1", "id=", "v=STSv1; id=<yyyymmddnn>")

    def tls_rpt(self) -> CheckResult:
        return self._informational(
            "tls_rpt",
            f"_smtp._tls.{self.d}",
            "v=TLSRPTv1",
            "rua=",
            f"v=TLSRPTv1; rua=mailto:tls-reports@{self.d}",
        )

    def run(self) -> DomainReport:
        dkim = self.postal_dkim()
        rp = self.postal_return_path()
        postal_spf = self.postal_spf()
        mx = self.postal_mx()
        dmarc_result, parsed = self.dmarc_record()
        results = [postal_spf, dkim, mx, rp]
        verification = self.postal_verification()
        if verification is not None:
            results.append(verification)
        results += [
            self.spf_single(),
            self.spf_lookups(),
            self.spf_void(),
            self.dkim_key_size(),
            dmarc_result,
            self.dmarc_alignment(parsed, dkim, rp),
            self.dmarc_rua(parsed),
            self.mta_sts(),
            self.tls_rpt(),
        ]
        usable = (
            postal_spf.status is Status.OK
            and dkim.status is Status.OK
            and mx.status in (Status.OK, Status.MISSING, Status.WARN)
            and rp.status in (Status.OK, Status.MISSING)
        )
        return DomainReport(domain=self.d, results=tuple(results), postal_usable=usable, readiness=readiness(results))


def check_domain(
    expected: PostalDomainDns, resolver: Resolver, options: DomainCheckOptions | None = None
) -> DomainReport:
    """Judge ``expected.domain`` against what Postal expects of it, through ``resolver`` only."""
    return _DomainCheck(expected, resolver, options or DomainCheckOptions()).run()


def check_domains(
    expected: Sequence[PostalDomainDns],
    resolver: Resolver,
    options: DomainCheckOptions | None = None,
    *,
    workers: int = 16,
) -> list[DomainReport]:
    """Many domains at once, in input order.

    Threads, not asyncio: a check is a short chain of dependent lookups that spends its time waiting
    on sockets (dnspython releases the GIL there), and keeping the engine synchronous lets the CLI,
    provisioning and a sync service route call it without an event loop.
    """
    if len(expected) <= 1 or workers <= 1:
        return [check_domain(e, resolver, options) for e in expected]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="check-domain") as pool:
        return list(pool.map(lambda e: check_domain(e, resolver, options), expected))
