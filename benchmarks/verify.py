"""Benchmark: check N generated domains concurrently against a local Knot.

    .venv/bin/python benchmarks/verify.py --domains 500 [--workers 32] [--json]

Prints {"wall_s", "queries", "peak_rss_mb"} (plus the inputs). Knot is started and stopped here.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.dns.cases import correct, expected
from tests.dns.knot import run_knot, zone_text
from vibn_mail.checks import Resolver, check_domains
from vibn_mail.dns.records import DnsRecord, RecordType


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=int, default=200)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    names = [f"d{i:05d}.bench.test" for i in range(args.domains)]
    records = [r for n in names for r in correct(n) if not r.name.endswith(".reports.test")]
    zones = {
        "bench.test": zone_text("bench.test", records),
        "reports.test": zone_text(
            "reports.test",
            [
                DnsRecord(name=f"{n}._report._dmarc.reports.test", type=RecordType.TXT, content="v=DMARC1")
                for n in names
            ],
        ),
        "postal.test": zone_text(
            "postal.test",
            [
                DnsRecord(name="spf.postal.test", type=RecordType.TXT, content="v=spf1 ip4:192.0.2.10 ~all"),
                DnsRecord(name="mx.postal.test", type=RecordType.A, content="192.0.2.10"),
            ],
        ),
    }
    want = [expected(n) for n in names]
    with tempfile.TemporaryDirectory() as tmp, run_knot(Path(tmp), zones) as knot:
        resolver = Resolver.given([knot.host], port=knot.port, timeout=5.0)
        start = time.perf_counter()
        reports = check_domains(want, resolver, workers=args.workers)
        wall = time.perf_counter() - start
    failed = [r.domain for r in reports if r.failed]
    out = {
        "domains": args.domains,
        "workers": args.workers,
        "wall_s": round(wall, 3),
        "queries": resolver.queries,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "failed_domains": len(failed),
    }
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>15}: {v}")
    if failed:
        sys.exit(f"{len(failed)} generated domains failed their checks, e.g. {failed[:3]}")


if __name__ == "__main__":
    main()
