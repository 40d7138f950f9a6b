import pytest

from vibn_mail.sandbox import system
from vibn_mail.sandbox.errors import SandboxError


def test_not_root_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(SandboxError) as exc:
        system.preflight()
    assert "needs root" in exc.value.message and "sudo" in (exc.value.fix or "")


def test_missing_tools_name_their_debian_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr("shutil.which", lambda tool: None if tool in ("debootstrap", "systemd-nspawn") else "/x")
    with pytest.raises(SandboxError) as exc:
        system.preflight()
    assert "debootstrap" in exc.value.message and "systemd-container" in exc.value.message
    assert "apt-get install -y debootstrap systemd-container" in (exc.value.fix or "")


def test_a_failing_command_reports_its_stderr() -> None:
    with pytest.raises(SandboxError) as exc:
        system.run(["sh", "-c", "echo broken >&2; exit 3"])
    assert "(3)" in exc.value.message and "broken" in (exc.value.detail or "")
