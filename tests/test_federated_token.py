""".github/actions/azure-federated-token: the deploy's federated token file, run for real against a fake token service.

The script is run as the composite action runs it (python3, `start`, GitHub's environment variables) against
a local HTTP server that answers as GitHub's OIDC token service does (``{"value": "<jwt>"}``), so these
tests see what the job would see: the step's exit, the file's content and mode, $GITHUB_ENV, the step's
output, and the refresher it leaves behind.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.processes import alive
from tests.workflow_docs import GITHUB

SCRIPT = GITHUB / "actions" / "azure-federated-token" / "federated_token.py"
REQUEST_TOKEN = "request-token-that-must-never-be-printed"
CLIENT = "11111111-2222-3333-4444-555555555555"
TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def _jwt(n: int) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    now = int(time.time())
    return f"{part({'alg': 'RS256'})}.{part({'n': n, 'iat': now, 'exp': now + 300})}.c2lnbmF0dXJl"


class FakeTokenService:
    """GitHub's token service: a new JWT per request; ``statuses`` queues HTTP errors to answer first."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.issued: list[str] = []
        self.statuses: list[int] = []
        self.raw: list[bytes] = []  # answers written as they are, malformed ones among them
        self.always: int | None = None
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                service.requests.append((self.path, dict(self.headers)))
                if service.raw:
                    self.wfile.write(service.raw.pop(0))
                    self.close_connection = True
                    return
                status = service.statuses.pop(0) if service.statuses else service.always
                if status:
                    self.send_response(status)
                    self.end_headers()
                    return
                token = _jwt(len(service.issued))
                service.issued.append(token)
                body = json.dumps({"count": 1, "value": token}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/_apis/token?api-version=2.0&audience=x"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def service() -> Iterator[FakeTokenService]:
    fake = FakeTokenService()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def job(tmp_path: Path, service: FakeTokenService) -> Iterator[dict[str, str]]:
    """The step's environment as the runner gives it; whatever refresher a test starts is stopped after it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACTIONS_", "GITHUB_", "AZURE_"))}
    env.update(ACTIONS_ID_TOKEN_REQUEST_URL=service.url, ACTIONS_ID_TOKEN_REQUEST_TOKEN=REQUEST_TOKEN,
               GITHUB_ENV=str(tmp_path / "github_env"), RUNNER_TEMP=str(tmp_path))
    yield env
    _run(env, "stop", "--file", str(tmp_path / "token"))


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # Pipes, as the runner gives a step: `start` must return although its refresher lives on.
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=30, check=False)


def _start(env: dict[str, str], tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _run(env, "start", "--client-id", CLIENT, "--tenant-id", TENANT, "--file", str(tmp_path / "token"),
                *extra)


def _wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_start_writes_the_token_and_the_environment_and_returns(tmp_path: Path, job, service: FakeTokenService):
    result = _start(job, tmp_path, "--interval", "60")
    assert result.returncode == 0, result.stderr
    token_file = tmp_path / "token"
    assert token_file.read_text() == service.issued[0]
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert (tmp_path / "github_env").read_text().splitlines() == [
        f"AZURE_CLIENT_ID={CLIENT}", f"AZURE_TENANT_ID={TENANT}", f"AZURE_FEDERATED_TOKEN_FILE={token_file}"]
    path, headers = service.requests[0]
    query = parse_qs(urlsplit(path).query)
    assert query == {"api-version": ["2.0"], "audience": ["api://AzureADTokenExchange"]}
    assert headers["Authorization"] == f"Bearer {REQUEST_TOKEN}"
    for text in (result.stdout, result.stderr):
        assert REQUEST_TOKEN not in text and service.issued[0] not in text
    assert "valid until" in result.stdout


def test_the_refresher_keeps_the_file_fresh_through_errors_then_stops(tmp_path: Path, job,
                                                                       service: FakeTokenService):
    assert _start(job, tmp_path, "--interval", "0.2").returncode == 0
    pid = int((tmp_path / "token.pid").read_text())
    assert alive(pid)
    _wait_for(lambda: len(service.issued) >= 3)
    service.statuses = [500, 503]  # GitHub's service has a bad moment: the last good token stays
    seen: set[str] = set()

    def fresh() -> bool:
        seen.add((tmp_path / "token").read_text())  # never a part of a token, never empty
        return (tmp_path / "token").read_text() == service.issued[-1] and len(service.issued) >= 5
    _wait_for(fresh)
    assert seen <= set(service.issued)
    log = (tmp_path / "token.log").read_text()
    assert "refresh failed, retrying" in log and "HTTP 500" in log and "token refreshed" in log
    assert REQUEST_TOKEN not in log and not any(t in log for t in service.issued)
    # A malformed answer (a bad status line) and a moment's refusal: the refresher goes on.
    issued = len(service.issued)
    service.raw = [b"HTTP/1.1 two hundred\r\n\r\n"]
    service.statuses = [401]
    _wait_for(lambda: len(service.issued) >= issued + 2)
    assert alive(pid)
    log = (tmp_path / "token.log").read_text()
    assert "could not be reached (BadStatusLine)" in log and "HTTP 401" in log and "Traceback" not in log
    # The job's request token has expired: refused three times in a row, the refresher stops by itself.
    service.always = 401
    _wait_for(lambda: not alive(pid))
    assert "stopping: GitHub's token service answered HTTP 401 (3 times in a row)" in (
        tmp_path / "token.log").read_text()


def test_stop_ends_the_refresher(tmp_path: Path, job):
    assert _start(job, tmp_path, "--interval", "60").returncode == 0
    pid = int((tmp_path / "token.pid").read_text())
    assert alive(pid)
    assert _run(job, "stop", "--file", str(tmp_path / "token")).returncode == 0
    _wait_for(lambda: not alive(pid))
    assert not (tmp_path / "token.pid").exists()


def test_a_second_start_replaces_the_first_refresher(tmp_path: Path, job):
    assert _start(job, tmp_path, "--interval", "60").returncode == 0
    first = int((tmp_path / "token.pid").read_text())
    assert _start(job, tmp_path, "--interval", "60").returncode == 0
    second = int((tmp_path / "token.pid").read_text())
    assert second != first and alive(second)
    _wait_for(lambda: not alive(first))


def test_stop_leaves_a_process_alone_whose_pid_a_stale_file_names(tmp_path: Path, job):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "token.pid").write_text(str(bystander.pid))
        assert _run(job, "stop", "--file", str(tmp_path / "token")).returncode == 0
        time.sleep(0.3)
        assert bystander.poll() is None, "stop killed a process that is not its refresher"
        assert not (tmp_path / "token.pid").exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_the_refresher_ends_after_max_seconds(tmp_path: Path, job, service: FakeTokenService):
    assert _start(job, tmp_path, "--interval", "0.1", "--max-seconds", "0.5").returncode == 0
    pid = int((tmp_path / "token.pid").read_text())
    _wait_for(lambda: not alive(pid))
    assert "stopping: --max-seconds reached" in (tmp_path / "token.log").read_text()


@pytest.mark.parametrize(("change", "message"), [
    ({"ACTIONS_ID_TOKEN_REQUEST_TOKEN": ""}, "needs `permissions: id-token: write`"),
    ({"ACTIONS_ID_TOKEN_REQUEST_URL": ""}, "needs `permissions: id-token: write`"),
    ({"ACTIONS_ID_TOKEN_REQUEST_URL": "file:///etc/passwd?x=1"}, "is not an http(s) URL"),
    ({"ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:9/nothing-listens"}, "could not be reached"),
], ids=["no-request-token", "no-url", "not-http", "unreachable"])
def test_start_fails_the_step_with_one_message_when_no_token_can_be_had(tmp_path: Path, job, change, message):
    job.update(change)
    result = _start(job, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("::error title=azure-federated-token::") and message in result.stderr
    assert "Traceback" not in result.stderr and REQUEST_TOKEN not in result.stdout + result.stderr
    assert not (tmp_path / "token").exists() and not (tmp_path / "github_env").exists()
    assert not (tmp_path / "token.pid").exists(), "no refresher is left behind"


@pytest.mark.parametrize(("status", "body"), [(403, None), (200, b'{"value": "not a jwt"}'), (200, b"<html>")],
                         ids=["refused", "not-a-jwt", "not-json"])
def test_start_rejects_what_the_token_service_answers_wrongly(tmp_path: Path, job, service: FakeTokenService,
                                                              status: int, body: bytes | None, monkeypatch):
    if body is None:
        service.statuses = [status]
    else:
        handler = service.server.RequestHandlerClass

        def do_get(self) -> None:
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body)
        monkeypatch.setattr(handler, "do_GET", do_get)
    result = _start(job, tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "token service answered" in result.stderr
    assert not (tmp_path / "token").exists()


@pytest.mark.parametrize("client", ["", "not-a-guid", f"{CLIENT}\nAZURE_CLIENT_SECRET=x", f"{CLIENT}x"],
                         ids=["unset", "not-a-guid", "newline-injection", "trailing"])
def test_ids_that_are_not_guids_never_reach_github_env(tmp_path: Path, job, service: FakeTokenService,
                                                       client: str):
    result = _run(job, "start", "--client-id", client, "--tenant-id", TENANT, "--file", str(tmp_path / "token"))
    assert result.returncode == 2 and "--client-id must be an Entra ID GUID" in result.stderr
    assert not (tmp_path / "github_env").exists() and not service.requests


def test_an_interval_as_long_as_the_tokens_life_is_refused(tmp_path: Path, job, service: FakeTokenService):
    result = _start(job, tmp_path, "--interval", "300")
    assert result.returncode == 2 and "shorter than the token's 300 s lifetime" in result.stderr
    assert not service.requests
