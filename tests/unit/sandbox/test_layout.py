import ipaddress

import pytest

from vibn_mail.sandbox.errors import SandboxError
from vibn_mail.sandbox.layout import choose_slot, host_layouts, sandbox_id, slot_networks, validate_name

POOL = ipaddress.IPv4Network("10.213.0.0/16")


def test_interface_names_fit_the_kernel_limit_and_carry_the_sandbox_id() -> None:
    slot = choose_slot("ci-run-12345678901", POOL, [])
    hosts = host_layouts("ci-run-12345678901", slot, 8)
    sid = sandbox_id("ci-run-12345678901")
    for h in hosts:
        assert len(h.veth_host) <= 15 and len(h.veth_guest) <= 15
        assert sid in h.netns and sid in h.veth_host
    assert len({h.netns for h in hosts}) == 8


def test_each_host_gets_its_own_link_inside_the_sandbox_slot() -> None:
    slot = choose_slot("demo", POOL, [])
    hosts = host_layouts("demo", slot, 3)
    links = [h.guest_address.network for h in hosts]
    assert len(set(links)) == 3
    for h in hosts:
        assert h.host_address.network == h.guest_address.network
        assert h.guest_address.network.subnet_of(slot)


def test_two_sandboxes_never_share_addresses() -> None:
    first = choose_slot("a", POOL, [])
    second = choose_slot("a", POOL, [first])
    assert not first.overlaps(second)


def test_slot_avoids_networks_already_on_the_machine() -> None:
    preferred = choose_slot("b", POOL, [])
    busy = ipaddress.IPv4Network(f"{preferred.network_address}/24", strict=False)
    chosen = choose_slot("b", POOL, [busy])
    assert not chosen.overlaps(busy)


def test_a_full_pool_is_a_clear_error() -> None:
    small = ipaddress.IPv4Network("10.213.0.0/26")
    taken = slot_networks(small)
    with pytest.raises(SandboxError) as exc:
        choose_slot("c", small, taken)
    assert "no free" in exc.value.message and "VIBN_SANDBOX_POOL" in (exc.value.fix or "")


@pytest.mark.parametrize("name", ["", "Upper", "1abc", "has space", "x" * 21, "under_score"])
def test_bad_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(SandboxError) as exc:
        validate_name(name)
    assert "lower-case letter" in (exc.value.fix or "")


@pytest.mark.parametrize("count", [0, 9])
def test_host_count_is_bounded(count: int) -> None:
    with pytest.raises(SandboxError):
        host_layouts("d", choose_slot("d", POOL, []), count)


def test_each_host_gets_its_own_unique_local_ipv6_link() -> None:
    hosts = host_layouts("demo", choose_slot("demo", POOL, []), 3)
    ula = ipaddress.IPv6Network("fd00::/8")
    links = {h.guest_address6.network for h in hosts}
    assert len(links) == 3
    for h in hosts:
        assert h.guest_address6.network.prefixlen == 64 and h.guest_address6.network.subnet_of(ula)
        assert h.host_address6.network == h.guest_address6.network
    other = host_layouts("other", choose_slot("other", POOL, []), 1)[0]
    assert not other.guest_address6.network.overlaps(hosts[0].guest_address6.network)
