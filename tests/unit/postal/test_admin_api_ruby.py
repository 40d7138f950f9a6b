"""The Ruby admin API ships through jinja2 templating and runs on Postal's Ruby: it must survive both."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest

RUBY_FILE = Path(__file__).resolve().parents[3] / "templates" / "postal" / "admin-api.rb"


def test_ruby_accepts_the_syntax() -> None:
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("ruby not installed: apt-get install ruby (listed in .ci/apt-packages.txt)")
    done = subprocess.run([ruby, "-wc", str(RUBY_FILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Syntax OK" in done.stdout
    assert "warning" not in done.stderr


def test_jinja2_renders_it_unchanged() -> None:
    source = RUBY_FILE.read_text()
    rendered = jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined).from_string(
        source
    )
    assert rendered.render() == source


def test_it_serves_every_route_of_the_python_emulator() -> None:
    # Both implementations declare their routes as literal suffixes; a route added on one side only
    # would make the contract suite pass against the emulator and fail against Postal.
    from tests.emulators.postal.admin_api import ROUTES

    source = RUBY_FILE.read_text()
    for suffix in (
        "/v1/default-dkim-record",
        "/v1/inventory",
        "/credentials",
        "/webhooks",
        "/domains",
        "/check-dns",
        "/verify",
        "/servers",
    ):
        assert suffix in source
        assert any(suffix in rx.pattern for _, rx, _ in ROUTES)
    methods = {m for m, _, _ in ROUTES}
    assert methods == {"GET", "PUT", "DELETE", "POST"}
    assert all(f'["{m}", route(' in source for m in methods)
