"""Sandbox hosts: the only place the official images are swapped for locally built stand-ins.

No registry is reachable from a sandbox; `vibn-mail sandbox up` loads these images into each host
(vibn_mail/sandbox/images.py). The Postal image is the contract-tested Postal emulator with Postal's
command names, ports, config file and database wiring.

Standalone mode in a sandbox needs `--data proxy_mode=standalone --data caddy_tls=internal`: ACME
cannot reach a sandbox, so Caddy must issue from its own CA.
"""

postal_image = "vibn-local/postal"
mariadb_image = "vibn-local/mariadb:10.11"
caddy_image = "vibn-local/caddy:2"
pull_policy = "never"
# Sandbox hosts are small.
min_disk_free_gb = 2.0
min_memory_mb = 512
# Sandbox links are carved from 10.213.0.0/16, inside the 10.0.0.0/8 that production trusts for SSH
# from Docker networks (Coolify's address pool): trust only Docker's own default range here, so the
# build machine is treated as the outside world it stands for.
firewall_docker_subnets = ("172.16.0.0/12",)
