"""Outbound port 25: can this host open SMTP to a large provider's MX?

A banner means open; a timeout means the hosting provider filters port 25 (GCP, Azure,
DigitalOcean, Hetzner Cloud...); a refusal is something else (a local firewall REJECT, the target
down). The same judgement serves an in-process probe (:func:`probe`) and one run on a remote host
through a command (:data:`PROBE_SCRIPT`, parsed by :func:`parse_probe_output`).
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from enum import StrEnum

from vibn_mail.checks.resolver import Resolver
from vibn_mail.checks.results import CheckResult, ResultFor, Status

DEFAULT_PROVIDER = "gmail.com"
DEFAULT_TIMEOUT = 8.0


class ProbeOutcome(StrEnum):
    BANNER = "banner"
    TIMEOUT = "timeout"
    REFUSED = "refused"
    ERROR = "error"


@dataclass(frozen=True)
class Probe:
    outcome: ProbeOutcome
    banner: str = ""
    error: str = ""


def probe(host: str, port: int = 25, timeout: float = DEFAULT_TIMEOUT) -> Probe:
    """Connect and read the first line the server sends."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            data = sock.recv(512)
    except TimeoutError:
        return Probe(ProbeOutcome.TIMEOUT)
    except ConnectionRefusedError:
        return Probe(ProbeOutcome.REFUSED)
    except OSError as e:
        return Probe(ProbeOutcome.ERROR, error=str(e))
    return Probe(ProbeOutcome.BANNER, banner=data.decode("latin-1").splitlines()[0] if data else "")


#: The same probe for a host that has only python3: ``python3 -c PROBE_SCRIPT HOST PORT TIMEOUT``.
PROBE_SCRIPT = """
import json, socket, sys
h, p, t = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
try:
    with socket.create_connection((h, p), timeout=t) as s:
        d = s.recv(512)
    r = {"outcome": "banner", "banner": (d.decode("latin-1").splitlines() or [""])[0]}
except socket.timeout:
    r = {"outcome": "timeout"}
except ConnectionRefusedError:
    r = {"outcome": "refused"}
except OSError as e:
    r = {"outcome": "error", "error": str(e)}
print(json.dumps(r))
"""


def parse_probe_output(text: str) -> Probe:
    try:
        data = json.loads(text.strip().splitlines()[-1])
        return Probe(ProbeOutcome(data["outcome"]), banner=data.get("banner", ""), error=data.get("error", ""))
    except (IndexError, ValueError, KeyError, TypeError) as e:
        return Probe(ProbeOutcome.ERROR, error=f"unreadable probe output {text.strip()[:200]!r} ({e})")


def provider_mx(resolver: Resolver, provider: str = DEFAULT_PROVIDER) -> str | None:
    """The most preferred MX host of ``provider`` (production target of the probe)."""
    answer = resolver.query(provider, "MX")
    if not answer.values:
        return None
    return min((int(v.split()[0]), v.split()[1]) for v in answer.values)[1]


def judge_outbound_25(result: Probe, host: str, port: int, timeout: float) -> CheckResult:
    # ``result`` is the probe here; ``report`` makes this check's results.
    report = ResultFor("host.outbound_25", f"{host}:{port}", "a 220 banner from a large provider's MX")
    if result.outcome is ProbeOutcome.BANNER:
        status = Status.OK if result.banner.startswith("220") else Status.WARN
        return report(
            status,
            f"open: {result.banner!r}",
            "" if status is Status.OK else "The server answered but not with 220; try another target.",
        )
    if result.outcome is ProbeOutcome.TIMEOUT:
        return report(
            Status.INVALID,
            f"filtered: no answer within {timeout:g}s",
            "Your hosting provider blocks outbound port 25: ask it to lift the block (many do), "
            "or relay outgoing mail through a smarthost (postal.yml smtp_relays).",
        )
    if result.outcome is ProbeOutcome.REFUSED:
        return report(
            Status.INVALID,
            "refused (connection reset/refused)",
            "Not the provider's silent filter: check this host's own output firewall rules for port 25, "
            "and that the target is a mail server.",
        )
    return report(Status.UNKNOWN, f"probe failed: {result.error}", "Check the host's network/DNS and re-run.")
