"""A tiny authoritative DNS server on 127.0.0.1 (UDP) answering from records the test publishes;
enough for Postal-style domain checks (TXT, MX, CNAME) against a resolver the test controls."""

from __future__ import annotations

import socket
import threading
from types import TracebackType

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset


class LoopbackDns:
    def __init__(self) -> None:
        self._records: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def publish(self, records: dict[str, list[tuple[str, str]]]) -> None:
        """Replace the records at each name: ``{"acme.test": [("TXT", "v=spf1 ..."), ("MX", "10 mx.")]}``."""
        with self._lock:
            for name in records:
                for key in [k for k in self._records if k[0] == name.rstrip(".").lower()]:
                    del self._records[key]
            for name, values in records.items():
                for rtype, value in values:
                    self._records.setdefault((name.rstrip(".").lower(), rtype), []).append(value)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        rtype = dns.rdatatype.to_text(question.rdtype)
        with self._lock:
            values = list(self._records.get((name, rtype), []))
            known = any(k[0] == name for k in self._records)
        if values:
            if rtype == "TXT":
                values = [
                    " ".join('"' + v[i : i + 255].replace('"', '\\"') + '"' for i in range(0, len(v), 255))
                    for v in values
                ]
            response.answer.append(dns.rrset.from_text_list(question.name, 300, "IN", rtype, values))
        elif not known:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                reply = self._answer(dns.message.from_wire(data))
                self._sock.sendto(reply.to_wire(), peer)
            except Exception:  # a malformed query must not stop the server
                continue

    def __enter__(self) -> LoopbackDns:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
