"""Benchmark: how long sandbox hosts take to come up and go away, and how long a converge takes.

    .venv/bin/python benchmarks/sandbox.py [--hosts 2] [--no-images] [--converge] [--json]

Runs up → down → up (the second `up` starts from the cached root filesystem and image base) and,
with --converge, the first and the no-op converge of deploys/all.py on host 1 (standalone mode).
Prints {"hosts", "images", "up_s", "down_s", "second_up_s", "first_converge_s", "noop_converge_s"}.
Needs root. Everything it creates is removed at the end, also on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.converge import converge
from vibn_mail.sandbox import manager


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--no-images", action="store_true")
    parser.add_argument("--converge", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    images = not args.no_images
    name = f"bench{os.getpid():x}"[:20]
    figures: dict[str, float | int | bool | None] = {"hosts": args.hosts, "images": images}
    try:
        started = time.monotonic()
        manager.up(name, args.hosts, images=images)
        figures["up_s"] = round(time.monotonic() - started, 1)
        started = time.monotonic()
        manager.down(name)
        figures["down_s"] = round(time.monotonic() - started, 1)
        started = time.monotonic()
        state = manager.up(name, args.hosts, images=images)
        figures["second_up_s"] = round(time.monotonic() - started, 1)
        if args.converge:
            data = {"proxy_mode": "standalone", "caddy_tls": "internal"}
            first = converge(state, state.hosts[0], **data)
            first.assert_ok()
            noop = converge(state, state.hosts[0], **data)
            noop.assert_ok()
            figures["first_converge_s"] = round(first.seconds, 1)
            figures["noop_converge_s"] = round(noop.seconds, 1)
            figures["noop_changed_ops"] = len(noop.changed)
    finally:
        manager.down(name)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>18}: {value}")


if __name__ == "__main__":
    main()
