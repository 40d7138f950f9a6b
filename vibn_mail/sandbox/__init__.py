"""Real Debian test hosts on one machine: systemd-nspawn guests, each in its own network namespace.

See docs/sandbox.md and ../shared/reference/sandbox-hosts.md for the recipe this follows.
"""
