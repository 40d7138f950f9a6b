"""The admin-user request script, run with bash against a loopback admin API stand-in."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from deploys.ops import AdminUser, Stack, admin_user_commands, admin_user_script

STACK = Stack(root="/opt/postal", project="postal", compose="docker compose")
USER = AdminUser(email="ops+mail@example.com", first_name="Post", last_name='O"Neil')


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []
    answer = 201

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append({"path": self.path, "auth": self.headers["Authorization"], "body": json.loads(body)})
        self.send_response(self.answer)
        self.end_headers()
        self.wfile.write(b'{"user":{},"result":"created"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Any:
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _run(script: str, password: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    return subprocess.run(["bash", "-c", script], input=password + "\n", capture_output=True, text=True, timeout=30)


def test_script_puts_the_user_with_token_and_password(api: HTTPServer, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("t0ken-abcdefghijklmnop\n")
    script = admin_user_script(USER, token_file=str(token), port=api.server_address[1])
    assert "s3cret-pass" not in script and "t0ken" not in script
    done = _run(script, "s3cret-pass")
    assert done.returncode == 0, done.stderr
    (req,) = _Recorder.seen
    assert req["path"] == "/v1/users/ops%2Bmail%40example.com"
    assert req["auth"] == "Bearer t0ken-abcdefghijklmnop"
    assert req["body"] == {
        "first_name": "Post",
        "last_name": 'O"Neil',
        "admin": True,
        "password": "s3cret-pass",
    }


def test_script_fails_on_an_error_answer(api: HTTPServer, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("t")
    _Recorder.answer = 422
    try:
        done = _run(admin_user_script(USER, token_file=str(token), port=api.server_address[1]), "pw")
    finally:
        _Recorder.answer = 201
    assert done.returncode == 1 and "422" in done.stderr


def test_admin_user_runs_once_per_email() -> None:
    assert admin_user_commands(STACK, "ops+mail@example.com", USER, "/opt/postal/secrets/admin-password") == []
    (cmd,) = admin_user_commands(STACK, None, USER, "/opt/postal/secrets/admin-password")
    assert "exec -T admin-api bash -c" in cmd and "< /opt/postal/secrets/admin-password" in cmd
