from pathlib import Path

import pytest

from vibn_mail.sandbox.errors import SandboxError
from vibn_mail.sandbox.rootfs import cache_key, debian_mirror


def test_mirror_comes_from_deb822_sources_not_the_security_suite(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d/debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\nComponents: main\n"
    )
    assert debian_mirror(tmp_path) == "http://mirror.invalid/debian"


def test_mirror_comes_from_a_legacy_sources_list(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text("# comment\ndeb [arch=amd64] http://legacy.invalid/debian bookworm main\n")
    assert debian_mirror(tmp_path) == "http://legacy.invalid/debian"


def test_no_mirror_says_which_variable_to_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIBN_DEBIAN_MIRROR", raising=False)
    with pytest.raises(SandboxError) as exc:
        debian_mirror(tmp_path)
    assert "VIBN_DEBIAN_MIRROR" in (exc.value.fix or "")


def test_cache_key_changes_with_the_mirror() -> None:
    assert cache_key("http://a.invalid/debian") != cache_key("http://b.invalid/debian")
