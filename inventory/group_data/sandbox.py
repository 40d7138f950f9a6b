"""Sandbox hosts: the only place the official images are swapped for locally built stand-ins.

No registry is reachable from a sandbox; `vibn-mail sandbox up` loads these images into each host
(vibn_mail/sandbox/images.py). The Postal image is the contract-tested Postal emulator with Postal's
command names, ports, config file and database wiring.
"""

postal_image = "vibn-local/postal"
mariadb_image = "vibn-local/mariadb:10.11"
caddy_image = "vibn-local/caddy:2"
pull_policy = "never"
# ACME cannot reach a sandbox: Caddy issues from its own CA.
caddy_tls = "internal"
# Sandbox hosts are small.
min_disk_free_gb = 2.0
min_memory_mb = 512
