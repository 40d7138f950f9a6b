"""Inventory of the local sandbox (`vibn-mail sandbox up`): its hosts, from the sandbox's state file.

    VIBN_SANDBOX=NAME pyinfra inventory/sandbox.py deploys/all.py   (NAME may be omitted if only one is up)

Every host is in the group `sandbox`; inventory/group_data/sandbox.py swaps the official images for
the locally built ones. Everything else is production code and production defaults.
"""

from vibn_mail.sandbox.inventory import sandbox_hosts as _sandbox_hosts

sandbox = _sandbox_hosts()
