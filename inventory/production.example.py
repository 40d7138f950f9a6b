"""Example production inventory: copy to inventory/production.py and fill in your values.

    pyinfra inventory/production.py deploys/all.py          # firewall, then the Postal stack
    pyinfra inventory/production.py deploys/firewall.py     # firewall only
    pyinfra inventory/production.py deploys/postal.py       # stack only

Defaults for every other setting are in inventory/group_data/all.py (read it: each is explained).
Data is flat keys: host data here overrides group data key by key.
"""

postal_hosts = [
    (
        "mail.example.com",  # the name pyinfra connects to (DNS name or IP)
        {
            # --- connection (pyinfra's own keys) ---
            "ssh_user": "root",
            # "ssh_key": "~/.ssh/id_ed25519",
            # --- required ---
            "web_hostname": "postal.example.com",  # Postal web UI/API; Host header Postal accepts
            "admin_email": "ops@example.com",  # first admin user; also Postal's From address
            # --- common choices ---
            "smtp_hostname": "postal.example.com",  # HELO name; PTR of the IP must equal it
            "public_ipv4": "203.0.113.25",  # sending addresses, checked by `vibn-mail doctor` (PTR, blocklists)
            # "public_ipv6": "2001:db8::25",
            "proxy_mode": "coolify",  # or "standalone" (own Caddy with ACME on 80/443)
            "traefik_router_prefix": "vibn-postal",
            # DNS values Postal hands to tenants (defaults derive from web_hostname):
            "dns_mx_records": ["postal.example.com"],
            "dns_spf_include": "spf.postal.example.com",
            "dns_return_path_domain": "rp.postal.example.com",
            # --- firewall ---
            "firewall_ssh_sources": ["203.0.113.7/32", "2001:db8::/64"],  # your admin addresses
            # Coolify's dashboard and realtime, if you reach them directly rather than via a domain:
            "firewall_extra_tcp_ports": [8000, 6001, 6002],
            "firewall_submission_ports": False,
        },
    ),
]
