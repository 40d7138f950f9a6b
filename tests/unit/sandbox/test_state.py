from pathlib import Path

import pytest

from vibn_mail.sandbox import state
from vibn_mail.sandbox.errors import SandboxError
from vibn_mail.sandbox.inventory import host_data


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VIBN_SANDBOX_HOME", str(tmp_path))
    monkeypatch.delenv("VIBN_SANDBOX", raising=False)
    return tmp_path


def make(name: str, hosts: int = 2) -> state.SandboxState:
    st = state.SandboxState(
        name=name,
        id="abc123",
        slot="10.213.0.0/27",
        directory=str(state.state_dir(name)),
        ssh_key="/k/id_ed25519",
        ssh_config="/k/ssh_config",
    )
    for i in range(1, hosts + 1):
        st.hosts.append(
            state.HostState(
                index=i,
                name=f"{name}-{i}",
                netns=f"vibn-abc123-{i}",
                veth_host=f"vbabc123{i}h",
                veth_guest=f"vbabc123{i}g",
                host_address=f"10.213.0.{4 * i - 3}/30",
                guest_address=f"10.213.0.{4 * i - 2}/30",
                rootfs="/r",
                log="/l",
            )
        )
    st.save()
    return st


def test_resolve_takes_the_only_sandbox(home: Path) -> None:
    make("alpha")
    assert state.resolve(None).name == "alpha"


def test_resolve_asks_to_choose_when_several_are_up(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make("alpha")
    make("beta")
    with pytest.raises(SandboxError) as exc:
        state.resolve(None)
    assert "--name" in (exc.value.fix or "")
    monkeypatch.setenv("VIBN_SANDBOX", "beta")
    assert state.resolve(None).name == "beta"


def test_resolve_without_any_sandbox_says_how_to_make_one(home: Path) -> None:
    with pytest.raises(SandboxError) as exc:
        state.resolve(None)
    assert "sandbox up" in (exc.value.fix or "")


def test_hosts_are_found_by_name_or_index(home: Path) -> None:
    st = make("alpha", 2)
    assert st.host("2").name == "alpha-2"
    assert st.host("alpha-1").index == 1
    with pytest.raises(SandboxError) as exc:
        st.host("3")
    assert "alpha-1, alpha-2" in (exc.value.fix or "")


def test_unreadable_state_names_the_file_and_the_way_out(home: Path) -> None:
    make("alpha")
    (home / "alpha" / "state.json").write_text('{"name": "alpha", "surprise": 1}')
    with pytest.raises(SandboxError) as exc:
        state.load("alpha")
    assert "state.json" in exc.value.message and "down --name alpha" in (exc.value.fix or "")


def test_inventory_data_points_pyinfra_at_each_guest(home: Path) -> None:
    st = make("alpha", 2)
    data = dict(host_data(st))
    assert data["alpha-2"]["ssh_hostname"] == "10.213.0.6"
    assert data["alpha-2"]["ssh_key"] == "/k/id_ed25519"
    assert data["alpha-1"]["web_hostname"] == "postal.alpha-1.test"
