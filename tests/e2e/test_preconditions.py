"""A host that cannot run the stack is refused before anything changes, with the setting to fix it;
`install_docker=True` installs Docker from Debian (through the sandbox's apt proxy) and the stack
then converges, and converges again to nothing."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import STANDALONE, SandboxFactory, sh
from tests.e2e.converge import converge
from vibn_mail.sandbox.health import wait_healthy

pytestmark = pytest.mark.e2e


def test_missing_docker_is_refused_then_installed_on_request(sandbox_factory: SandboxFactory) -> None:
    st = sandbox_factory("pre", hosts=1)
    host = st.hosts[0]
    # A plain Debian host: no Docker (the images loaded by `up` stay in /var/lib/docker).
    sh(
        st,
        host,
        "systemctl stop docker.socket docker && DEBIAN_FRONTEND=noninteractive apt-get remove -y -q "
        "docker.io docker-compose >/dev/null",
        timeout=300,
    )

    refused = converge(st, host, "deploys/postal.py", **STANDALONE)
    assert refused.returncode != 0
    assert "Docker is not installed" in refused.output and "install_docker=True" in refused.output
    assert sh(st, host, "test -e /opt/postal && echo touched || echo untouched").strip() == "untouched"

    small = converge(st, host, "deploys/postal.py", **STANDALONE, install_docker=True, min_memory_mb=10**8)
    assert small.returncode != 0 and "(min_memory_mb)" in small.output

    installed = converge(st, host, "deploys/postal.py", **STANDALONE, install_docker=True)
    installed.assert_ok()
    assert any(op.endswith("Install Docker and Compose from Debian") for op in installed.changed)
    assert sh(st, host, "docker-compose version --short").strip()
    wait_healthy(st, host)
    again = converge(st, host, "deploys/postal.py", **STANDALONE, install_docker=True)
    again.assert_ok()
    assert again.changed == []
