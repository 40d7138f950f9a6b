"""The checks' only door to DNS: a dnspython resolver that counts what it sends.

Three modes, matching how a domain can be judged:
- ``Resolver.system()``: the machine's resolv.conf (what the operator's own tools see);
- ``Resolver.given([...], port=)``: explicit nameservers, e.g. Knot on loopback in tests;
- ``Resolver.authoritative(bootstrap, port=)``: like Postal, ask each name's authoritative servers
  (effective NS found by walking up the labels through ``bootstrap``), so a fresh change is seen
  before caches expire. ``port`` is where those servers listen (53 in production).

Answers never raise: NXDOMAIN, NODATA and errors are outcomes the checks judge (a void SPF lookup is
not the same failure as a timeout). No cache, so a re-check after a fix sees the new data.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from vibn_mail.dns.records import normalise_name


class Outcome(StrEnum):
    ANSWER = "answer"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    ERROR = "error"


@dataclass(frozen=True)
class Answer:
    """Values are normalised text: TXT strings joined, MX ``"<pref> <target>"``, names without dot."""

    name: str
    rdtype: str
    outcome: Outcome
    values: tuple[str, ...] = ()
    error: str = ""

    @property
    def void(self) -> bool:
        """RFC 7208 §4.6.4: a lookup that returned no records (NXDOMAIN or empty NOERROR)."""
        return self.outcome in (Outcome.NXDOMAIN, Outcome.NODATA)

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.ERROR


@dataclass
class QueryCounter:
    """Thread-safe count of queries sent, shared by a resolver and the resolvers it derives."""

    _count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, n: int = 1) -> None:
        with self._lock:
            self._count += n

    @property
    def count(self) -> int:
        with self._lock:
            return self._count


def _text(rdtype: str, rdata: object) -> str:
    if rdtype == "TXT":
        strings: Sequence[bytes] = rdata.strings  # type: ignore[attr-defined]
        return b"".join(strings).decode("utf-8", "replace")
    if rdtype == "MX":
        return f"{rdata.preference} {normalise_name(rdata.exchange.to_text())}"  # type: ignore[attr-defined]
    if rdtype in ("CNAME", "NS", "PTR"):
        return normalise_name(rdata.target.to_text())  # type: ignore[attr-defined]
    return str(rdata.to_text())  # type: ignore[attr-defined]


class Resolver:
    """Counting, non-raising DNS lookups. Safe to share between threads (no cache, counter locked)."""

    def __init__(
        self,
        nameservers: Sequence[str] | None = None,
        *,
        port: int = 53,
        timeout: float = 3.0,
        bootstrap: Resolver | None = None,
        counter: QueryCounter | None = None,
    ) -> None:
        self.counter = counter if counter is not None else QueryCounter()
        self.timeout = timeout
        self.port = port
        self._bootstrap = bootstrap
        self._ns_cache: dict[str, tuple[str, ...]] = {}
        self._ns_lock = threading.Lock()
        if nameservers is None and bootstrap is None:
            self._dns = dns.resolver.Resolver(configure=True)
        else:
            self._dns = dns.resolver.Resolver(configure=False)
            self._dns.nameservers = list(nameservers or [])
        self._dns.port = port
        self._dns.lifetime = timeout
        self._dns.timeout = timeout
        self._dns.cache = None

    @classmethod
    def system(cls, *, timeout: float = 3.0) -> Resolver:
        return cls(timeout=timeout)

    @classmethod
    def given(cls, nameservers: Sequence[str], *, port: int = 53, timeout: float = 3.0) -> Resolver:
        if not nameservers:
            raise ValueError("nameservers: give at least one IP address, e.g. 127.0.0.1")
        return cls(nameservers, port=port, timeout=timeout)

    @classmethod
    def authoritative(cls, bootstrap: Resolver, *, port: int = 53, timeout: float = 3.0) -> Resolver:
        return cls(port=port, timeout=timeout, bootstrap=bootstrap, counter=bootstrap.counter)

    @property
    def queries(self) -> int:
        return self.counter.count

    @property
    def is_authoritative(self) -> bool:
        return self._bootstrap is not None

    def query(self, name: str, rdtype: str) -> Answer:
        name = normalise_name(name)
        if self._bootstrap is not None:
            servers = self._effective_ns_addresses(name)
            if not servers:
                return Answer(name, rdtype, Outcome.ERROR, error=f"no authoritative nameserver found for {name}")
            return self._ask(servers, name, rdtype)
        return self._ask(None, name, rdtype)

    def for_domain(self, domain: str) -> Resolver:
        """A resolver asking ``domain``'s own nameservers (Postal's ``DNSResolver.for_domain``).

        In the other modes it is this resolver. Postal asks the domain's servers even for names
        below a delegated ``_domainkey`` (postal #3434): so do we, to judge as Postal does.
        """
        if self._bootstrap is None:
            return self
        servers = self._effective_ns_addresses(normalise_name(domain))
        return Resolver(servers or ["0.0.0.0"], port=self.port, timeout=self.timeout, counter=self.counter)

    def _ask(self, servers: Sequence[str] | None, name: str, rdtype: str) -> Answer:
        self.counter.add()
        try:
            if servers is None:
                answer = self._dns.resolve(name, rdtype, raise_on_no_answer=False, search=False)
            else:
                res = dns.resolver.Resolver(configure=False)
                res.nameservers = list(servers)
                res.port, res.lifetime, res.timeout, res.cache = self.port, self.timeout, self.timeout, None
                answer = res.resolve(name, rdtype, raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            return Answer(name, rdtype, Outcome.NXDOMAIN)
        except dns.resolver.NoNameservers as e:
            return Answer(name, rdtype, Outcome.ERROR, error=f"no nameserver answered ({e.msg})")
        except dns.exception.Timeout:
            return Answer(name, rdtype, Outcome.ERROR, error=f"timed out after {self.timeout:g}s")
        except dns.exception.DNSException as e:
            return Answer(name, rdtype, Outcome.ERROR, error=f"{type(e).__name__}: {e}")
        if answer.rrset is None:
            return Answer(name, rdtype, Outcome.NODATA)
        want = dns.rdatatype.from_text(rdtype)
        # Sorted: servers rotate RRset order, and wording must not change between two runs.
        values = tuple(sorted(_text(rdtype, r) for r in answer.rrset if r.rdtype == want))
        return Answer(name, rdtype, Outcome.ANSWER if values else Outcome.NODATA, values)

    def _effective_ns_addresses(self, name: str) -> tuple[str, ...]:
        """Walk up from ``name`` until a label has NS records (Postal's ``effective_ns``); resolve them."""
        assert self._bootstrap is not None
        labels = name.split(".")
        for i in range(max(len(labels) - 1, 1)):
            candidate = ".".join(labels[i:])
            with self._ns_lock:
                cached = self._ns_cache.get(candidate)
            if cached is not None:
                if cached:
                    return cached
                continue
            ns = self._bootstrap.query(candidate, "NS")
            addresses: list[str] = []
            for host in ns.values if ns.outcome is Outcome.ANSWER else ():
                a = self._bootstrap.query(host, "A")
                found = a.values
                if not found:
                    found = self._bootstrap.query(host, "AAAA").values
                addresses += [x for x in found if x not in addresses]
            with self._ns_lock:
                self._ns_cache[candidate] = tuple(addresses)
            if addresses:
                return tuple(addresses)
        return ()
