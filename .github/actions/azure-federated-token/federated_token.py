"""Keep a fresh GitHub Actions OIDC token in a file, for Azure workload-identity credentials that renew.

Why: ``azure/login`` exchanges one GitHub OIDC token (valid 5 minutes: ``exp - iat = 300``) for the Azure
CLI's access tokens, and the CLI cannot get another assertion later (Azure/azure-cli#28708), so whatever
uses the CLI login stops working when those access tokens expire, 60-90 minutes in. The Pulumi CLI's
state backend (``azblob://``, gocloud ``azureblob``) and Key Vault secrets provider (gocloud
``azurekeyvault``) both authenticate with azidentity's ``DefaultAzureCredential``, which tries
``WorkloadIdentityCredential`` before the CLI when ``AZURE_CLIENT_ID``, ``AZURE_TENANT_ID`` and
``AZURE_FEDERATED_TOKEN_FILE`` are set. That credential reads the file again whenever it needs an
assertion and its copy is older than 10 minutes (azidentity v1.14.0 ``workload_identity.go``,
``getAssertion``). A file kept fresh therefore lets the backend and the secrets provider renew their
access tokens for as long as GitHub hands out ID tokens (the job's request token lasts about 6 h).

``start`` fetches one token (failing the step with a clear message if it cannot), writes it to the file
(mode 0600, replaced atomically, never printed), writes the three variables to ``$GITHUB_ENV`` and leaves a
refresher running in its own session, with its output in ``<file>.log``, that fetches a new token every
``--interval`` seconds. Background processes outlive the step that started them and the runner ends them
with the job ("Cleaning up orphan processes"); the refresher also stops by itself after ``--max-seconds``
or when GitHub refuses the job's request token three times in a row. ``stop`` ends it early.

Standard library only: it runs with the runner's python3.

    python3 federated_token.py start --client-id GUID --tenant-id GUID --file "$RUNNER_TEMP/azure-token"
    python3 federated_token.py stop --file "$RUNNER_TEMP/azure-token"
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

#: The audience Entra ID's federated credentials expect from GitHub (azure/login's default).
AUDIENCE = "api://AzureADTokenExchange"
#: GitHub's ID tokens are valid for 300 s; fetching every 120 s keeps the file's token at most 2 minutes old,
#: so a credential that reads it has at least 3 minutes to present it. azidentity keeps what it read for 10
#: minutes, so a second token request by the same credential 3-10 minutes after a read (a retry after a
#: transient Entra error, a claims challenge) presents an expired assertion and fails; no file can close that
#: window, which is inside azidentity. Renewals 55-85 minutes apart, the case this exists for, read afresh.
DEFAULT_INTERVAL = 120.0
#: A failed refresh is retried this soon; the last good token stays in the file meanwhile.
RETRY_AFTER = 15.0
#: GitHub refusing the request token (401/403) this many times in a row ends the refresher: the request token
#: has expired (about 6 h 10 min after the job started). Fewer could be a moment's hiccup.
REFUSALS_TO_STOP = 3
#: The longest a GitHub-hosted job runs (6 h) plus the request token's 10-minute head start.
DEFAULT_MAX_SECONDS = 6 * 3600 + 600
#: Seconds one request may take.
REQUEST_TIMEOUT = 20.0
#: Entra ID object ids: these values are written to $GITHUB_ENV, so nothing else (a newline above all) may pass.
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


class TokenError(Exception):
    """A token could not be fetched. ``final`` when retrying cannot help (GitHub refused the request token)."""

    def __init__(self, message: str, *, final: bool = False) -> None:
        super().__init__(message)
        self.final = final


def _request_url() -> tuple[str, str]:
    url = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL", "")
    token = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
    if not url or not token:
        raise TokenError("ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: the job needs "
                         "`permissions: id-token: write` (and pull requests from forks get no token)", final=True)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise TokenError("ACTIONS_ID_TOKEN_REQUEST_URL is not an http(s) URL", final=True)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in query if k != "audience"] + [("audience", AUDIENCE)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query))), token


def fetch_token() -> tuple[str, float | None]:
    """One ID token from GitHub's token service and its expiry (epoch seconds, None if it has none)."""
    url, request_token = _request_url()
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {request_token}",
                                                   "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310 - http(s) only
            body = response.read(1 << 16)
    except urllib.error.HTTPError as err:
        # 401/403: the request token expired or was never valid; no retry brings it back.
        raise TokenError(f"GitHub's token service answered HTTP {err.code}", final=err.code in (401, 403)) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        # HTTPException: a malformed answer (bad status line, over-long header, body cut short).
        raise TokenError(f"GitHub's token service could not be reached ({type(err).__name__})") from None
    try:
        value = json.loads(body)["value"]
    except (ValueError, KeyError, TypeError):
        raise TokenError("GitHub's token service answered without a token") from None
    if not isinstance(value, str) or not _JWT.fullmatch(value):
        raise TokenError("GitHub's token service answered with something that is not a JWT")
    return value, _expiry(value)


def _expiry(jwt: str) -> float | None:
    payload = jwt.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
    except (ValueError, AttributeError):
        return None
    return float(exp) if isinstance(exp, (int, float)) else None


def write_token(path: Path, token: str) -> None:
    """Replace ``path`` with ``token`` atomically; readers see the old token or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)  # left by a refresher killed mid-write whose pid came round again
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(token)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S', time.gmtime())} {message}", flush=True)


def _until(exp: float | None) -> str:
    return "" if exp is None else f", valid until {time.strftime('%H:%M:%S', time.gmtime(exp))} UTC"


def refresh(path: Path, interval: float, max_seconds: float) -> int:
    """Fetch a token every ``interval`` seconds into ``path`` until ``max_seconds`` pass or GitHub keeps refusing."""
    deadline = time.monotonic() + max_seconds
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    refusals = 0
    while True:
        delay = min(interval, RETRY_AFTER)
        try:
            token, exp = fetch_token()
            write_token(path, token)
            _log(f"token refreshed{_until(exp)}")
            delay, refusals = interval, 0
        except TokenError as err:
            refusals = refusals + 1 if err.final else 0
            if refusals >= REFUSALS_TO_STOP:
                _log(f"stopping: {err} ({refusals} times in a row)")
                return 1
            _log(f"refresh failed, retrying in {delay:g} s: {err}")
        except OSError as err:
            _log(f"refresh failed, retrying in {delay:g} s: cannot write the token file ({err.strerror})")
        except Exception as err:  # noqa: BLE001 - the refresher must outlive any one bad answer
            # Only the type: an exception's text could quote what the service sent.
            _log(f"refresh failed, retrying in {delay:g} s: {type(err).__name__}")
        if time.monotonic() + delay > deadline:
            _log("stopping: --max-seconds reached")
            return 0
        time.sleep(delay)


def _pid_file(path: Path) -> Path:
    return path.with_name(path.name + ".pid")


def start(path: Path, client_id: str, tenant_id: str, interval: float, max_seconds: float) -> int:
    """Write the first token and the environment, then leave the refresher running. 0, or 2 with a message."""
    for name, value in (("--client-id", client_id), ("--tenant-id", tenant_id)):
        if not _GUID.fullmatch(value):
            return _fail(f"{name} must be an Entra ID GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx); "
                         f"found {'nothing' if not value else 'something else'}: is the repository variable set?")
    if not path.parent.is_dir():
        return _fail(f"--file: directory {path.parent} does not exist")
    try:
        token, exp = fetch_token()
        write_token(path, token)
    except TokenError as err:
        return _fail(str(err))
    except OSError as err:
        return _fail(f"cannot write {path}: {err.strerror}")
    github_env = os.environ.get("GITHUB_ENV")
    lines = f"AZURE_CLIENT_ID={client_id}\nAZURE_TENANT_ID={tenant_id}\nAZURE_FEDERATED_TOKEN_FILE={path}\n"
    if github_env:
        with open(github_env, "a", encoding="utf-8") as handle:
            handle.write(lines)
    else:
        sys.stdout.write(lines)
    stop(path)  # a second start in the same job replaces the first refresher instead of running beside it
    log = path.with_name(path.name + ".log")
    with open(log, "ab") as out:
        # Its own session, and no pipe of the step's: the runner waits for the step's output to close, and a
        # signal to the step's process group must not end the refresher.
        child = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
            [sys.executable, os.path.abspath(__file__), "refresh", "--file", str(path),
             "--interval", str(interval), "--max-seconds", str(max_seconds)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    _pid_file(path).write_text(str(child.pid), encoding="ascii")
    print(f"federated token written to {path}{_until(exp)}; refreshed every {interval:g} s by pid {child.pid} "
          f"(log: {log})")
    return 0


def stop(path: Path) -> int:
    """End the refresher ``start`` left running for ``path`` (nothing to do if it has ended)."""
    try:
        pid = int(_pid_file(path).read_text(encoding="ascii"))
    except (OSError, ValueError):
        return 0
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        command = []
    # Only our refresher for this file: a pid left in a stale file may belong to another process by now.
    if os.path.abspath(__file__).encode() in command and str(path).encode() in command:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    _pid_file(path).unlink(missing_ok=True)
    return 0


def _fail(message: str) -> int:
    print(f"::error title=azure-federated-token::{message}", file=sys.stderr)
    return 2


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def main(argv: list[str] | None = None) -> int:
    """Command line: ``start``, ``refresh`` (what ``start`` leaves running) or ``stop``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "refresh", "stop"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--file", required=True, type=Path, help="the token file (under $RUNNER_TEMP)")
        if name != "stop":
            cmd.add_argument("--interval", type=_positive, default=DEFAULT_INTERVAL)
            cmd.add_argument("--max-seconds", type=_positive, default=DEFAULT_MAX_SECONDS)
        if name == "start":
            cmd.add_argument("--client-id", required=True)
            cmd.add_argument("--tenant-id", required=True)
    args = parser.parse_args(argv)
    path = args.file.absolute()
    if args.command == "start":
        if args.interval >= 300:
            return _fail("--interval must be shorter than the token's 300 s lifetime")
        return start(path, args.client_id.strip(), args.tenant_id.strip(), args.interval, args.max_seconds)
    if args.command == "refresh":
        return refresh(path, args.interval, args.max_seconds)
    return stop(path)


if __name__ == "__main__":
    sys.exit(main())
