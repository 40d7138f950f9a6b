"""What every check returns: one result model shared by the domain checks and the host doctor.

Wording is part of the contract: observed/expected/fix strings are built from the DNS data only (no
timestamps, no random order), so two runs over the same DNS compare equal and a caller can diff them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from vibn_mail.dns.records import DnsRecord


class Status(StrEnum):
    OK = "ok"
    MISSING = "missing"
    INVALID = "invalid"
    WARN = "warn"
    UNKNOWN = "unknown"


#: Statuses that make `verify`/`doctor` exit non-zero. ``warn`` is advice; ``unknown`` means the
#: question could not be answered (timeout, rate-limited blocklist) and is shown, not failed on,
#: unless the caller asks for strictness.
FAILING = frozenset({Status.MISSING, Status.INVALID})


class ChangeAction(StrEnum):
    ADD = "add"
    REMOVE = "remove"


class RecordChange(BaseModel):
    """One record to add or remove. A fix applies its removals before its additions (CNAME rules)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: ChangeAction
    record: DnsRecord

    def __str__(self) -> str:
        return f"{self.action} {self.record}"


class CheckResult(BaseModel):
    """One check about one subject (a domain, a name, an IP, a host).

    ``fix`` is the human instruction; ``changes`` the same fix as records when the fix is a DNS
    change the domain owner can make (empty when it is not, e.g. a blocklist delisting).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    check: str
    subject: str
    status: Status
    observed: str
    expected: str
    fix: str = ""
    changes: tuple[RecordChange, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    def fails(self, *, strict: bool = False) -> bool:
        """Whether this result fails a run; ``strict`` also fails on warn and unknown."""
        return self.status is not Status.OK if strict else self.failed


@dataclass(frozen=True)
class ResultFor:
    """The results of one check about one subject against one expectation.

    A check returns one of several outcomes that differ only in status, observation and fix; fixing
    the rest once keeps every outcome of a check on the same id, subject and expected wording.
    """

    check: str
    subject: str
    expected: str

    def __call__(
        self, status: Status, observed: str, fix: str = "", changes: tuple[RecordChange, ...] = ()
    ) -> CheckResult:
        return CheckResult(
            check=self.check,
            subject=self.subject,
            status=status,
            observed=observed,
            expected=self.expected,
            fix=fix,
            changes=changes,
        )


class Readiness(BaseModel):
    """Gmail/Yahoo 2024 sender requirements that DNS alone can answer, per domain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    all_senders: bool
    bulk_senders: bool
    unmet: tuple[str, ...] = ()
    outside_dns: tuple[str, ...] = ()


class DomainReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    domain: str
    results: tuple[CheckResult, ...]
    postal_usable: bool
    readiness: Readiness

    @property
    def failed(self) -> bool:
        return any(r.failed for r in self.results)

    def result(self, check: str) -> CheckResult:
        """The (first) result with this check id; KeyError names the ids present."""
        for r in self.results:
            if r.check == check:
                return r
        raise KeyError(f"no check {check!r} in report for {self.domain}; have {[r.check for r in self.results]}")

    def changes(self) -> tuple[RecordChange, ...]:
        """Every machine-usable fix of this report, removals first, without duplicates."""
        seen: list[RecordChange] = []
        for r in self.results:
            for c in r.changes:
                if c not in seen:
                    seen.append(c)
        return tuple(sorted(seen, key=lambda c: c.action is ChangeAction.ADD))


class HostReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str
    results: tuple[CheckResult, ...]

    @property
    def failed(self) -> bool:
        return any(r.failed for r in self.results)
