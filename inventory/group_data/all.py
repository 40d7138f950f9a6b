"""Production defaults for every vibn-mail host (pyinfra group data for the `all` group).

Every key here is validated by deploys/config.py (HostSettings); a typo stops the deploy with the
key's name. Values equal the model's defaults (a unit test keeps them in step): this file is the
place to read what a setting does. Host-specific values (web_hostname, admin_email, ...) belong in
the inventory itself: see inventory/production.example.py.
"""

# --- Postal stack ---------------------------------------------------------------------------
# Postal release to run (image tag, no "v"). Changing it upgrades: dump → pull → migrate → restart.
postal_version = "3.3.6"
# Official images. Sandbox inventories override these with locally loaded images.
postal_image = "ghcr.io/postalserver/postal"
mariadb_image = "mariadb:10.11"  # Postal needs MariaDB >= 10.6, not MySQL
caddy_image = "caddy:2.8"  # only used with proxy_mode = "standalone"
# Compose pull_policy: "missing" (default), "always", or "never" (images loaded with `docker load`).
pull_policy = "missing"
# Everything Postal keeps lives here, in bind mounts (Coolify may prune named volumes).
postal_root = "/opt/postal"
compose_project = "postal"
admin_first_name = "Postal"
admin_last_name = "Admin"
smtp_max_message_size_mb = 14
# STARTTLS on port 25 (receivers and MTA-STS expect it). The first deploy generates a self-signed
# certificate for the SMTP host name in config/smtp.cert + smtp.key (MTAs do not validate certificates
# for opportunistic STARTTLS); replace both files with a real certificate if you like: never overwritten.
smtp_tls = True

# --- Web proxy ------------------------------------------------------------------------------
# "coolify": Postal web joins Coolify's Traefik network with labels; "standalone": our own Caddy
# publishes 80/443 and gets certificates with ACME.
proxy_mode = "coolify"
coolify_network = "coolify"
# Stem of Traefik router/service/middleware names; must be unique among the host's routers.
traefik_router_prefix = "vibn-postal"
traefik_certresolver = "letsencrypt"
# Caddy TLS: "acme" (public certificates) or "internal" (Caddy's own CA, test hosts only).
caddy_tls = "acme"

# --- Firewall (nftables table inet vibn_mail) -------------------------------------------------
firewall_enabled = True
firewall_ssh_port = 22
# Who may SSH in. Narrow this to your admin addresses in production.
firewall_ssh_sources = ("0.0.0.0/0", "::/0")
# Docker networks keep SSH access (Coolify SSHes from its container into the host).
firewall_docker_subnets = ("10.0.0.0/8", "172.16.0.0/12")
# Open 465/587 as well as 25 (587 is published to Postal's SMTP server).
firewall_submission_ports = False
# More public ports, e.g. Coolify's dashboard (8000) and realtime (6001, 6002) if reached directly.
firewall_extra_tcp_ports = ()
firewall_extra_udp_ports = ()
# A new rule set reverts by itself unless a fresh SSH login succeeds within this many seconds.
firewall_revert_seconds = 90

# --- Host preconditions -------------------------------------------------------------------------
# Install docker.io + docker-compose from Debian when Docker is absent (Coolify hosts have Docker).
install_docker = False
min_disk_free_gb = 5.0
min_memory_mb = 1800
