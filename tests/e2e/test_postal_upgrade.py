"""Changing postal_version upgrades the stack (dump first, then migrate, restart), and that dump
restores: a tenant made after the dump is gone again, one made before it is back."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Deployed, sh
from tests.e2e.converge import converge
from tests.e2e.tunnel import stack_tunnel
from vibn_mail.postal import admin_models as m
from vibn_mail.sandbox.state import SandboxState

pytestmark = pytest.mark.e2e


def _org(name: str) -> m.OrganizationSpec:
    return m.OrganizationSpec(name=name, owner_email_address=f"{name}@vibn.test")


def _orgs(sandbox: SandboxState, d: Deployed) -> set[str]:
    with stack_tunnel(sandbox, d) as tunnel, tunnel.admin() as admin:
        return {o.permalink for o in admin.run(admin.calls.list_organizations())}


def test_version_change_dumps_upgrades_and_the_dump_restores(sandbox: SandboxState, stack: dict[str, Deployed]) -> None:
    d = stack["standalone"]
    with stack_tunnel(sandbox, d) as tunnel, tunnel.admin() as admin:
        admin.ensure_organization("before-upgrade", _org("before-upgrade"))
        assert admin.health().postal_version.startswith("3.3.6")
    dumps_before = set(sh(sandbox, d.host, "ls /opt/postal/backups").split())

    changed = converge(sandbox, d.host, **d.data, postal_version="3.3.5")
    changed.assert_ok()
    dumps = set(sh(sandbox, d.host, "ls /opt/postal/backups").split()) - dumps_before
    assert len(dumps) == 1, f"expected one new dump, got {dumps}"
    dump = dumps.pop()
    assert dump.startswith("postal-3.3.6-") and dump.endswith(".sql.gz")
    assert sh(sandbox, d.host, f"stat -c %a /opt/postal/backups/{dump}").strip() == "600"
    with stack_tunnel(sandbox, d) as tunnel, tunnel.admin() as admin:
        assert admin.health().postal_version.startswith("3.3.5")
        admin.ensure_organization("after-upgrade", _org("after-upgrade"))
    assert {"before-upgrade", "after-upgrade"} <= _orgs(sandbox, d)

    restored = converge(sandbox, d.host, "deploys/restore.py", **d.data, postal_version="3.3.5", restore_dump=dump)
    restored.assert_ok()
    orgs = _orgs(sandbox, d)
    assert "before-upgrade" in orgs and "after-upgrade" not in orgs

    # Back to the inventory's version; the host then converges to nothing again.
    converge(sandbox, d.host, **d.data).assert_ok()
    assert converge(sandbox, d.host, **d.data).changed == []
