"""The inventory settings model: defaults, derived values and the errors an operator sees."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from deploys.config import HostSettings, SettingsError, load_settings

REPO = Path(__file__).resolve().parents[3]
MINIMAL = {"web_hostname": "postal.example.com", "admin_email": "ops@example.com"}


def test_minimal_settings_take_production_defaults() -> None:
    s = load_settings(MINIMAL)
    assert s.postal_image_ref == "ghcr.io/postalserver/postal:3.3.6"
    assert s.proxy_mode == "coolify"
    assert s.smtp_host == "postal.example.com"
    assert s.spf_include == "spf.postal.example.com"
    assert s.return_path_domain == "rp.postal.example.com"
    assert s.public_tcp_ports == (25, 80, 443)


def test_reserved_pyinfra_keys_are_ignored() -> None:
    data = {**MINIMAL, "ssh_user": "root", "ssh_port": 2222, "_sudo": True, "sandbox_name": "x"}
    assert load_settings(data).web_hostname == "postal.example.com"


def test_typo_names_the_key_and_the_likely_fix() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({**MINIMAL, "postal_verison": "3.3.7"})
    assert "postal_verison: unknown setting; did you mean 'postal_version'?" in str(err.value)


def test_missing_required_key_points_to_the_example_inventory() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({"admin_email": "ops@example.com"})
    assert "web_hostname: required" in str(err.value)
    assert "production.example.py" in str(err.value)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("postal_version", "latest", "write it like '3.3.6'"),
        ("web_hostname", "postal", "fully qualified host name"),
        ("admin_email", "ops", "not an email address"),
        ("proxy_mode", "nginx", "proxy_mode"),
        ("firewall_ssh_sources", ["10.0.0.300/8"], "firewall_ssh_sources"),
        ("firewall_revert_seconds", 5, "greater than or equal to 20"),
        ("traefik_router_prefix", "Postal Web", "lower-case letters"),
        ("postal_root", "opt/postal", "absolute directory"),
    ],
)
def test_bad_values_are_reported_with_their_key(key: str, value: object, expected: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({**MINIMAL, key: value})
    assert key in str(err.value)
    assert expected in str(err.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({"web_hostname": "x", "admin_emial": "a@b.c"})
    text = str(err.value)
    assert "web_hostname" in text and "admin_emial" in text and "admin_email: required" in text


def test_internal_tls_only_with_standalone_caddy() -> None:
    with pytest.raises(SettingsError, match="caddy_tls='internal'"):
        load_settings({**MINIMAL, "caddy_tls": "internal"})
    assert load_settings({**MINIMAL, "caddy_tls": "internal", "proxy_mode": "standalone"}).caddy_tls == "internal"


def test_version_accepts_a_leading_v() -> None:
    assert load_settings({**MINIMAL, "postal_version": "v3.4.0"}).postal_image_ref.endswith(":3.4.0")


def test_submission_and_extra_ports_join_the_public_set() -> None:
    s = load_settings({**MINIMAL, "firewall_submission_ports": True, "firewall_extra_tcp_ports": [8000]})
    assert s.public_tcp_ports == (25, 80, 443, 465, 587, 8000)


def test_group_data_defaults_match_the_model() -> None:
    """inventory/group_data/all.py documents the defaults: it must not drift from the model."""
    values = {
        k: v for k, v in runpy.run_path(str(REPO / "inventory/group_data/all.py")).items() if not k.startswith("_")
    }
    assert values, "group_data/all.py defines no settings"
    # Only the documented keys are compared; the required ones have no default to drift from.
    defaults = HostSettings.model_construct(web_hostname=MINIMAL["web_hostname"], admin_email=MINIMAL["admin_email"])
    parsed = load_settings({**MINIMAL, **values})
    for key in values:
        assert key in HostSettings.model_fields, f"group_data/all.py sets unknown key {key}"
        assert getattr(parsed, key) == getattr(defaults, key), key


def test_example_inventory_validates() -> None:
    inv = runpy.run_path(str(REPO / "inventory/production.example.py"))
    hosts = inv["postal_hosts"]
    for _name, data in hosts:
        load_settings(data)
