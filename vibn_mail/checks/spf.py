"""SPF (RFC 7208): parsing, DNS-lookup counting through includes, void lookups, flattening.

Counting follows RFC 7208 §4.6.4: ``include``, ``a``, ``mx``, ``ptr``, ``exists`` and ``redirect``
each cost one lookup, counted through every nested record; a lookup that returns no records is void
(limit 2). Domain-specs holding macros (``%{i}``) cannot be expanded without a message, so they are
counted but not resolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vibn_mail.checks.resolver import Outcome, Resolver

LOOKUP_LIMIT = 10
VOID_LIMIT = 2
_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
_MAX_DEPTH = 20


@dataclass(frozen=True)
class Term:
    qualifier: str
    name: str
    value: str
    modifier: bool

    def __str__(self) -> str:
        if self.modifier:
            return f"{self.name}={self.value}"
        q = "" if self.qualifier == "+" else self.qualifier
        sep = ":" if self.value and not self.value.startswith("/") else ""
        return f"{q}{self.name}{sep}{self.value}"


def is_spf(text: str) -> bool:
    return text == "v=spf1" or text.startswith("v=spf1 ")


def parse(text: str) -> list[Term]:
    """Terms of an SPF record (``v=spf1`` dropped). Raises ValueError on a malformed term."""
    if not is_spf(text.strip()):
        raise ValueError(f"not an SPF record (must start with 'v=spf1'): {text!r}")
    terms: list[Term] = []
    for raw in text.split()[1:]:
        m = re.fullmatch(r"([a-zA-Z][a-zA-Z0-9_.-]*)=(.*)", raw)
        if m:
            terms.append(Term("+", m.group(1).lower(), m.group(2), True))
            continue
        m = re.fullmatch(r"([+\-~?]?)([a-zA-Z0-9]+)(?:[:](.*)|(/.*))?", raw)
        if not m or m.group(2).lower() not in {"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"}:
            raise ValueError(f"unknown SPF term {raw!r}")
        terms.append(Term(m.group(1) or "+", m.group(2).lower(), m.group(3) or m.group(4) or "", False))
    return terms


def render(terms: list[Term]) -> str:
    return " ".join(["v=spf1", *(str(t) for t in terms)])


@dataclass
class Count:
    lookups: int = 0
    void: int = 0
    errors: list[str] = field(default_factory=list)
    #: Every record met, ``(domain, record)``, in the order read: what the user sees as "observed".
    chain: list[tuple[str, str]] = field(default_factory=list)


def _domain_spec(term: Term, current: str) -> str | None:
    """The domain a term queries, without CIDR suffix; None when it holds macros."""
    value = term.value.split("/", 1)[0] if term.value else ""
    if not value:
        return current
    if "%" in value:
        return None
    return value.lower().rstrip(".")


def spf_records(resolver: Resolver, domain: str) -> tuple[list[str], Outcome]:
    answer = resolver.query(domain, "TXT")
    return [v for v in answer.values if is_spf(v.strip())], answer.outcome


def count(resolver: Resolver, domain: str, record: str) -> Count:
    """Count lookups and void lookups of ``record`` (published at ``domain``) and everything it includes."""
    result = Count()
    _count(resolver, domain, record, result, depth=0, seen=set())
    return result


def _count(resolver: Resolver, domain: str, record: str, out: Count, depth: int, seen: set[str]) -> None:
    out.chain.append((domain, record))
    if depth > _MAX_DEPTH or domain in seen:
        out.errors.append(f"include loop through {domain}")
        return
    seen = seen | {domain}
    try:
        terms = parse(record)
    except ValueError as e:
        out.errors.append(f"{domain}: {e}")
        return
    for term in terms:
        if term.name not in _LOOKUP_TERMS:
            continue
        out.lookups += 1
        target = _domain_spec(term, domain)
        if target is None or term.name == "ptr":
            continue
        if term.name in ("include", "redirect"):
            records, outcome = spf_records(resolver, target)
            if outcome in (Outcome.NXDOMAIN, Outcome.NODATA):
                out.void += 1
            if len(records) != 1:
                what = "no SPF record" if not records else f"{len(records)} SPF records"
                out.errors.append(f"{term.name}:{target} has {what}")
                continue
            _count(resolver, target, records[0], out, depth + 1, seen)
        elif term.name == "mx":
            if resolver.query(target, "MX").void:
                out.void += 1
        elif term.name in ("a", "exists"):
            a = resolver.query(target, "A")
            if a.void and (term.name == "exists" or resolver.query(target, "AAAA").void):
                out.void += 1


def _addresses(resolver: Resolver, host: str) -> list[str] | None:
    out: list[str] = []
    for rdtype, prefix in (("A", "ip4"), ("AAAA", "ip6")):
        answer = resolver.query(host, rdtype)
        if answer.failed:
            return None
        out += [f"{prefix}:{v}" for v in answer.values]
    return out


def _flatten_include(resolver: Resolver, domain: str, depth: int) -> list[str] | None:
    """The ip4/ip6 terms an included record stands for, or None when it cannot be flattened safely."""
    if depth > _MAX_DEPTH:
        return None
    records, _ = spf_records(resolver, domain)
    if len(records) != 1:
        return None
    try:
        terms = parse(records[0])
    except ValueError:
        return None
    out: list[str] = []
    for term in terms:
        if term.name == "all" and not term.modifier:
            continue
        # Only "pass" terms flatten to the same meaning; "-ip4" inside an include changes nothing
        # outside it, but dropping it silently would surprise whoever reads the record.
        if term.modifier or term.qualifier != "+":
            return None
        if term.name in ("ip4", "ip6"):
            out.append(f"{term.name}:{term.value}")
            continue
        target = _domain_spec(term, domain)
        if target is None or term.name in ("ptr", "exists"):
            return None
        if term.name == "include":
            nested = _flatten_include(resolver, target, depth + 1)
        elif term.name == "a":
            nested = _addresses(resolver, target) if "/" not in term.value else None
        else:  # mx
            mx = resolver.query(target, "MX")
            if mx.failed:
                return None
            nested = []
            for v in mx.values:
                addrs = _addresses(resolver, v.split()[1])
                if addrs is None:
                    return None
                nested += addrs
        if nested is None:
            return None
        out += [x for x in nested if x not in out]
    return out


def flatten(resolver: Resolver, domain: str, record: str, keep: set[str]) -> str | None:
    """``record`` with every include not in ``keep`` replaced by the addresses it stands for.

    None when nothing could be flattened. The result goes stale when an included provider changes
    its addresses: the fix text says so.
    """
    try:
        terms = parse(record)
    except ValueError:
        return None
    out: list[str] = []
    changed = False
    for term in terms:
        target = _domain_spec(term, domain) if term.name == "include" else None
        if term.name == "include" and term.qualifier == "+" and target is not None and target not in keep:
            flat = _flatten_include(resolver, target, 0)
            if flat is not None:
                out += [x for x in flat if x not in out]
                changed = True
                continue
        out.append(str(term))
    return " ".join(["v=spf1", *out]) if changed else None


def with_include(record: str, include: str) -> str:
    """``record`` with ``include:<include>`` added before ``all``/``redirect`` (never a second record)."""
    terms = parse(record)
    new = Term("+", "include", include, False)
    for i, term in enumerate(terms):
        if term.name in ("all", "redirect"):
            return render([*terms[:i], new, *terms[i:]])
    return render([*terms, new])


def merge(records: list[str]) -> str:
    """One record holding the terms of several, first record's ``all`` kept (duplicate SPF fix)."""
    merged: list[Term] = []
    tail: list[Term] = []
    for record in records:
        for term in parse(record):
            if term.name in ("all", "redirect"):
                if not tail:
                    tail.append(term)
            elif str(term) not in [str(t) for t in merged]:
                merged.append(term)
    return render(merged + tail)
