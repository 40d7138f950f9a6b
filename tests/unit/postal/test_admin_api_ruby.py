"""The Ruby admin API ships through jinja2 templating and runs on Postal's Ruby: it must survive both."""

from __future__ import annotations

import json
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
    rendered = jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined).from_string(source)
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


def test_rack_app_authenticates_routes_and_answers_json_errors() -> None:
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("ruby not installed: apt-get install ruby (listed in .ci/apt-packages.txt)")
    harness = Path(__file__).with_name("admin_api_harness.rb")
    done = subprocess.run([ruby, str(harness), str(RUBY_FILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    answers = [(a["status"], a["body"].get("error", {}).get("code")) for a in result["answers"]]
    assert answers == [
        (200, None),
        (401, "Unauthorized"),
        (401, "Unauthorized"),
        (404, "NotFound"),
        (405, "MethodNotAllowed"),
        (400, "BadRequest"),
        (400, "BadRequest"),
        (422, "ValidationFailed"),
        (404, "NotFound"),
        (503, "DatabaseUnavailable"),
    ]
    health = result["answers"][0]["body"]
    assert health == {"status": "ok", "postal_version": "3.3.6"}
    assert all(a["content_type"] == "application/json" for a in result["answers"])
    assert all(set(a["body"]["error"]) == {"code", "message", "field"} for a in result["answers"][1:])
    assert result["answers"][7]["body"]["error"]["field"] == "permalink"
    assert result["looked_up"] == "acme-co"  # path segments are percent-decoded once
    assert result["disconnected"]  # a dead DB connection is dropped so the next call reconnects
