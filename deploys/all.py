"""The whole Postal host: ``pyinfra inventory/production.py deploys/all.py``.

Order, and why:
1. firewall first: the stack publishes 25 (and 80/443 in standalone mode); the forward-hook chain
   must already filter published ports when Docker starts publishing them, so no port is ever
   exposed unfiltered, and a firewall mistake is reverted before the stack is touched;
2. the Postal stack (see deploys/postal.py for its own stages);
3. later: the send service, which needs the stack's admin API.
"""

from __future__ import annotations

from pyinfra.api.deploy import deploy

from deploys.firewall import deploy_firewall
from deploys.postal import deploy_postal, host_settings


@deploy("Postal host")
def deploy_all() -> None:
    settings = host_settings()  # validated once, before any operation, for both parts
    deploy_firewall(settings=settings)
    deploy_postal(settings=settings)


if __name__ == "builtins":  # executed by the pyinfra CLI as a deploy file
    deploy_all()
