"""The checks engine: domain authentication and host preflight, no I/O but through its arguments.

Callers build a :class:`Resolver` (system, given nameservers, or authoritative like Postal) and call
:func:`check_domain` / :func:`check_domains`; host checks live in ``ptr``, ``dnsbl``, ``smtp_probe``
and ``tls``. Results are :class:`CheckResult` objects with a stable check id, status and fix.
"""

from vibn_mail.checks.domain import DomainCheckOptions, check_domain, check_domains
from vibn_mail.checks.resolver import Answer, Outcome, Resolver
from vibn_mail.checks.results import (
    ChangeAction,
    CheckResult,
    DomainReport,
    HostReport,
    Readiness,
    RecordChange,
    Status,
)

__all__ = [
    "Answer",
    "ChangeAction",
    "CheckResult",
    "DomainCheckOptions",
    "DomainReport",
    "HostReport",
    "Outcome",
    "Readiness",
    "RecordChange",
    "Resolver",
    "Status",
    "check_domain",
    "check_domains",
]
