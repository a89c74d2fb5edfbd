#!/usr/bin/python3
"""Recording fakes of the tools a GPU pool instance calls at boot (runs INSIDE the sandbox).

Installed as ``/opt/rehearsal/fake_tool.py`` in the throwaway root, with ``apt-get``, ``curl``,
``gpg``, ``docker``, ``nvidia-smi``, ``nvidia-ctk`` and ``systemctl`` in ``/usr/bin`` linking to
it; it acts as the tool its name says. Each call is checked against the real tool's contract
(``/opt/rehearsal/contracts.json``, from ``facts/contracts.yaml``, plus what this pool must do,
``/opt/rehearsal/expect.json``), recorded in ``/opt/rehearsal/log.jsonl`` and answered the way
the real tool or service would. A call outside the contract is *rejected*: recorded, explained
on stderr, and answered with the exit status the real tool would give. Nothing leaves the
sandbox: no network, no GPU, no daemon.

Standard library only: it runs under the sandbox's system Python, not the project's venv.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.parse
from pathlib import Path

HOME = Path("/opt/rehearsal")
CONTRACTS = json.loads((HOME / "contracts.json").read_text())
EXPECT = json.loads((HOME / "expect.json").read_text())
STATE_FILE = HOME / "state.json"
KEY_MARKER = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nrehearsal key from {url}\n"
DEARMORED_MARKER = b"rehearsal dearmored keyring from "


class Driverless(Exception):
    """nvidia-smi without a loaded driver: a real outcome (exit 9), not a contract violation."""


class Rejected(Exception):
    """A call outside the tool's contract; ``status`` is what the real tool would exit with."""

    def __init__(self, reason: str, status: int = 2) -> None:
        super().__init__(reason)
        self.status = status


def _state() -> dict:
    return json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {}


def _save(state: dict) -> None:
    STATE_FILE.write_text(json.dumps(state))


def _record(tool: str, argv: list[str], *, rejected: str | None = None, note: str = "") -> None:
    entry = {"tool": tool, "argv": argv, "rejected": rejected, "note": note}
    with open(HOME / "log.jsonl", "a") as fh:
        fh.write(json.dumps(entry) + "\n")


def _installed(tool: str) -> bool:
    """Whether the package that provides ``tool`` was installed by an earlier apt-get."""
    installed = set(_state().get("installed", []))
    return any(tool in tools and pkg in installed for pkg, tools in CONTRACTS["apt"]["provides"].items())


# --- apt-get ----------------------------------------------------------------------------------

def _apt_sources() -> list[tuple[dict[str, str], str, str]]:
    """(options, uri, suite) of every one-line ``deb`` source, with apt's own $(ARCH) substitution."""
    lines: list[str] = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]:
        if path.is_file():
            lines += [ln.strip() for ln in path.read_text().splitlines()]
    sources = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)(?:\s+(.*))?", line)
        if not match:
            raise Rejected(f"E: Malformed entry in a sources list: {line!r}", 100)
        options = dict(o.split("=", 1) for o in (match.group(1) or "").split() if "=" in o)
        arch = CONTRACTS["apt"]["architecture"]
        uri, suite = (match.group(i).replace("$(ARCH)", arch) for i in (2, 3))
        if match.group(4) and suite.endswith("/"):
            raise Rejected(f"E: a flat repository ({suite}) takes no components: {line!r}", 100)
        if not suite.endswith("/"):
            raise Rejected(f"E: the rehearsal knows only flat repositories, found suite {suite!r}", 100)
        sources.append((options, uri, suite))
    return sources


def _apt_get(argv: list[str]) -> str:
    options: dict[str, str] = {}
    words: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-o", "--option"):
            key, _, value = argv[i + 1].partition("=")
            options[key.lower()] = value
            i += 2
            continue
        if arg.startswith("--option="):
            key, _, value = arg[len("--option="):].partition("=")
            options[key.lower()] = value
        elif arg in ("-y", "--yes", "--assume-yes", "-q", "-qq", "--quiet", "--no-install-recommends"):
            pass
        elif arg.startswith("-"):
            raise Rejected(f"apt-get: unknown option {arg!r}", 100)
        else:
            words.append(arg)
        i += 1
    if not words or words[0] not in ("update", "install"):
        raise Rejected(f"apt-get: only update and install are expected at boot, found {words[:1]}", 100)
    wait = options.get("dpkg::lock::timeout")
    minimum = CONTRACTS["apt"]["min_lock_timeout_seconds"]
    if wait is None or not wait.isdigit() or int(wait) < minimum:
        raise Rejected(
            f"apt-get {words[0]}: no lock wait of at least {minimum} s (-o DPkg::Lock::Timeout=N, found "
            f"{wait!r}); the NVIDIA driver extension holds the apt lock for minutes and apt would fail "
            "with 'Could not get lock'", 100)
    state = _state()
    if words[0] == "update":
        available = set(CONTRACTS["apt"]["image_packages"])
        known = {r["index"]: r for r in CONTRACTS["apt"]["repositories"]}
        for opts, uri, suite in _apt_sources():
            index = uri.rstrip("/") + "/" + suite.lstrip("/").rstrip("/")
            index = re.sub(r"(?<!:)//+", "/", index.rstrip("/") + "/InRelease")
            if index not in known:
                raise Rejected(f"E: The repository '{uri} {suite}' does not have a Release file "
                               f"({index} does not exist)", 100)
            keyring = opts.get("signed-by")
            if not keyring or not Path(keyring).is_file() or not Path(keyring).read_bytes().startswith(
                    DEARMORED_MARKER + known[index]["keyring_from"].encode()):
                raise Rejected(f"E: {index}: signed-by keyring {keyring!r} is missing or is not the key "
                               f"from {known[index]['keyring_from']} (NO_PUBKEY)", 100)
            available.update(known[index]["packages"])
        state["available"] = sorted(available)
        _save(state)
        return "package lists updated"
    if os.environ.get("DEBIAN_FRONTEND") != "noninteractive":
        raise Rejected("apt-get install: DEBIAN_FRONTEND=noninteractive is not set (debconf would prompt)", 100)
    if "available" not in state:
        raise Rejected("apt-get install before apt-get update: the package lists are empty", 100)
    missing = [p for p in words[1:] if p not in state["available"]]
    if missing:
        raise Rejected(f"E: Unable to locate package {' '.join(missing)}", 100)
    state["installed"] = sorted(set(state.get("installed", [])) | set(words[1:]))
    _save(state)
    for package in words[1:]:
        for tool in CONTRACTS["apt"]["provides"].get(package, []):
            link = Path("/usr/bin") / tool  # the package puts its command on PATH
            if not link.is_symlink():
                link.symlink_to(HOME / "fake_tool.py")
    if "docker.io" in words[1:]:
        Path("/etc/docker").mkdir(exist_ok=True)
    return "installed " + " ".join(words[1:])


# --- curl ---------------------------------------------------------------------------------------

_CURL_FLAGS = {"--silent", "-s", "--show-error", "-S", "--fail", "-f", "--location", "-L"}
_CURL_VALUES = {"--noproxy", "--max-time", "--header", "-H", "--data", "-d", "--output", "-o"}


def _curl(argv: list[str]) -> str:
    flags: set[str] = set()
    values: dict[str, list[str]] = {}
    urls: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in _CURL_FLAGS:
            flags.add(arg)
        elif arg in _CURL_VALUES:
            long = {"-H": "--header", "-d": "--data", "-o": "--output"}.get(arg, arg)
            values.setdefault(long, []).append(argv[i + 1])
            i += 1
        elif arg.startswith("-"):
            raise Rejected(f"curl: option {arg!r} is outside the rehearsed contract", 2)
        else:
            urls.append(arg)
        i += 1
    if len(urls) != 1:
        raise Rejected(f"curl: expected one URL, found {urls}", 2)
    if not ({"--fail", "-f"} & flags):
        raise Rejected("curl: without --fail an HTTP error is exit 0 and its body is parsed as data", 2)
    if "--max-time" not in values:
        raise Rejected("curl: no --max-time (a stuck call would hang the unit's start)", 2)
    stdin = sys.stdin.read() if "@-" in values.get("--header", []) + values.get("--data", []) else ""
    headers = [h for h in values.get("--header", []) if h != "@-"]
    if "@-" in values.get("--header", []):
        headers += [h for h in stdin.splitlines() if h]
    header_map = {h.split(":", 1)[0].strip().lower(): h.split(":", 1)[1].strip() for h in headers if ":" in h}
    data = stdin if "@-" in values.get("--data", []) else "".join(d for d in values.get("--data", []) if d != "@-")
    url = urllib.parse.urlsplit(urls[0])
    query = dict(urllib.parse.parse_qsl(url.query))
    state = _state()
    base = f"{url.scheme}://{url.netloc}{url.path}"

    if base == CONTRACTS["imds"]["endpoint"]:
        imds = CONTRACTS["imds"]
        if header_map.get("metadata") != "true":
            raise Rejected("IMDS: the header 'Metadata: true' is required (400 Bad Request)", 22)
        if values.get("--noproxy") != ["*"] and "169.254.169.254" not in "".join(values.get("--noproxy", [])):
            raise Rejected("IMDS: call it with --noproxy (IMDS refuses proxied requests)", 22)
        if query.get("api-version") not in imds["api_versions"]:
            raise Rejected(f"IMDS: api-version {query.get('api-version')!r} is not one of {imds['api_versions']}", 22)
        if query.get("resource") not in imds["resources"]:
            raise Rejected(f"IMDS: resource {query.get('resource')!r} is not one of {list(imds['resources'])}", 22)
        chosen = {k: query[k] for k in ("client_id", "object_id", "msi_res_id") if k in query}
        if list(chosen) != ["msi_res_id"] or chosen["msi_res_id"].lower() != EXPECT["identity_resource_id"].lower():
            raise Rejected(f"IMDS: identity {chosen!r} is not the pool identity's msi_res_id "
                           f"{EXPECT['identity_resource_id']} (a VM with user-assigned identities needs one id)", 22)
        token = f"rehearsal-{imds['resources'][query['resource']]}-token"
        state.setdefault("tokens", {})[token] = query["resource"]
        _save(state)
        sys.stdout.write(json.dumps({"access_token": token, "token_type": "Bearer", "resource": query["resource"]}))
        return f"IMDS token for {query['resource']}"

    if url.scheme == "https" and url.netloc.endswith(CONTRACTS["key_vault"]["host_suffix"]):
        kv = CONTRACTS["key_vault"]
        if url.netloc != EXPECT.get("vault_host"):
            raise Rejected(f"Key Vault: host {url.netloc} is not the team vault {EXPECT.get('vault_host')}", 22)
        if not re.fullmatch(r"/secrets/[0-9A-Za-z-]+(/[0-9a-f]{32})?", url.path):
            raise Rejected(f"Key Vault: {url.path} is not a secret path", 22)
        if query.get("api-version") not in kv["api_versions"]:
            raise Rejected(f"Key Vault: api-version {query.get('api-version')!r} is not one of "
                           f"{kv['api_versions']}", 22)
        auth = header_map.get("authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        if token is None or state.get("tokens", {}).get(token) != "https://vault.azure.net":
            raise Rejected("Key Vault: no 'Authorization: Bearer <token for https://vault.azure.net>' (401)", 22)
        sys.stdout.write(json.dumps({"value": "hf_rehearsal_not_a_real_token", "id": urls[0]}))
        state["hub_token_read"] = True
        _save(state)
        return f"read secret {url.path}"

    if urls[0] in CONTRACTS["gpg_keys"]:
        out = values.get("--output", [None])[-1]
        body = KEY_MARKER.format(url=urls[0])
        if out:
            Path(out).write_text(body)
        else:
            sys.stdout.write(body)
        return f"downloaded {urls[0]}"

    if url.scheme == "https" and url.path == "/oauth2/exchange" and url.netloc == EXPECT.get("registry"):
        form = dict(urllib.parse.parse_qsl(data))
        if form.get("grant_type") != "access_token" or form.get("service") != url.netloc:
            raise Rejected("ACR exchange: expected grant_type=access_token and service=<registry>", 22)
        if state.get("tokens", {}).get(form.get("access_token", "")) != "https://management.azure.com/":
            raise Rejected("ACR exchange: access_token is not an IMDS token for https://management.azure.com/", 22)
        if form.get("tenant") != EXPECT.get("tenant_id"):
            raise Rejected("ACR exchange: tenant is not the pool's tenant", 22)
        state["acr_refresh_token"] = "rehearsal-acr-refresh-token"
        _save(state)
        sys.stdout.write(json.dumps({"refresh_token": state["acr_refresh_token"]}))
        return "ACR refresh token"

    if url.scheme == "https" and url.netloc.endswith(CONTRACTS["blob"]["host_suffix"]):
        return _blob(url, query, header_map, values, state)

    if EXPECT.get("private_only"):
        raise Rejected(f"curl: {urls[0]} is a public host, and this pool's image and weights come only from "
                       "its private endpoints", 6)
    raise Rejected(f"curl: {urls[0]} is not a service the boot path is expected to call", 6)


def _blob(url, query: dict, header_map: dict, values: dict, state: dict) -> str:
    """Blob storage: List Blobs and Get Blob on the pool's container, with its identity's bearer token."""
    blob, weights = CONTRACTS["blob"], EXPECT.get("weights")
    if weights is None or url.netloc != weights["host"]:
        raise Rejected(f"Blob: {url.netloc} is not the pool's weights account "
                       f"{(weights or {}).get('host')} (the private endpoint resolves only that one)", 22)
    auth = header_map.get("authorization", "")
    token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
    if token is None or state.get("tokens", {}).get(token) != blob["token_resource"]:
        raise Rejected(f"Blob: no 'Authorization: Bearer <token for {blob['token_resource']}>' from the pool's "
                       "managed identity (403 AuthorizationPermissionMismatch / 401)", 22)
    version = header_map.get("x-ms-version", "")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", version) or version < blob["min_oauth_version"]:
        raise Rejected(f"Blob: x-ms-version {version!r}: OAuth requests need {blob['min_oauth_version']} or later "
                       "(400)", 22)
    container, prefix = weights["container"], weights["path"] + "/"
    names = [prefix + f for f in blob["fake_files"]]
    if url.path == f"/{container}" and query.get("restype") == "container" and query.get("comp") == "list":
        if not query.get("prefix", "").startswith(prefix):
            raise Rejected(f"Blob: listing prefix {query.get('prefix')!r} is not the model's {prefix!r}", 22)
        # Two pages: the boot path must follow NextMarker.
        page = names[1:] if query.get("marker") == "page-2" else names[:1]
        marker = "" if query.get("marker") == "page-2" else "page-2"
        body = "".join(f"<Blob><Name>{n}</Name><Properties/></Blob>" for n in page)
        sys.stdout.write('<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="'
                         f'{container}"><Blobs>{body}</Blobs><NextMarker>{marker}</NextMarker></EnumerationResults>')
        state["blob_pages"] = state.get("blob_pages", 0) + 1
        _save(state)
        return f"listed {len(page)} blob(s) under {container}/{prefix}"
    name = url.path[len(f"/{container}/"):] if url.path.startswith(f"/{container}/") else None
    if name not in names:
        raise Rejected(f"Blob: {url.path} is not a blob of the model's container (404 BlobNotFound)", 22)
    out = values.get("--output", [None])[-1]
    if not out:
        raise Rejected("Blob: Get Blob without --output would write gigabytes to stdout", 22)
    Path(out).write_text(f"rehearsal blob {name}\n")
    state.setdefault("blobs_downloaded", []).append(name)
    _save(state)
    return f"downloaded {name}"


# --- gpg ----------------------------------------------------------------------------------------

def _gpg(argv: list[str]) -> str:
    if "--dearmor" in argv:
        out = argv[argv.index("--output") + 1] if "--output" in argv else None
        text = Path(argv[-1]).read_text()
        url = next((u for u in CONTRACTS["gpg_keys"] if KEY_MARKER.format(url=u) == text), None)
        if out is None or url is None:
            raise Rejected("gpg --dearmor: expected --output FILE and a downloaded key file", 2)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_bytes(DEARMORED_MARKER + url.encode())
        return f"dearmored {argv[-1]} -> {out}"
    if "--import" in argv and "show-only" in argv and "--with-colons" in argv:
        text = Path(argv[-1]).read_text()
        url = next((u for u in CONTRACTS["gpg_keys"] if KEY_MARKER.format(url=u) == text), None)
        if url is None:
            raise Rejected(f"gpg: {argv[-1]} is not a key file", 2)
        sys.stdout.write(f"pub:-:4096:1:DDCAE044F796ECB0:::::::::\nfpr:::::::::{CONTRACTS['gpg_keys'][url]}:\n")
        return f"showed fingerprint of {url}"
    raise Rejected(f"gpg: {argv} is outside the rehearsed contract", 2)


# --- nvidia-smi / nvidia-ctk ----------------------------------------------------------------------

def _nvidia_smi(argv: list[str]) -> str:
    if argv != ["--list-gpus"]:
        raise Rejected(f"nvidia-smi: {argv} is outside the rehearsed contract", 2)
    if not _state().get("driver_loaded", True):
        # Before the driver extension's reboot: what nvidia-smi says without a loaded driver.
        print("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", file=sys.stderr)
        raise Driverless()
    for n in range(EXPECT["gpus"]):
        print(f"GPU {n}: NVIDIA {EXPECT['gpu']} (UUID: GPU-rehearsal-{n})")
    return f"{EXPECT['gpus']} GPU(s)"


def _nvidia_ctk(argv: list[str]) -> str:
    if argv != ["runtime", "configure", "--runtime=docker"]:
        raise Rejected(f"nvidia-ctk: {argv} is outside the rehearsed contract", 2)
    daemon = Path("/etc/docker/daemon.json")
    config = json.loads(daemon.read_text()) if daemon.exists() else {}
    config.setdefault("runtimes", {})["nvidia"] = {"args": [], "path": "nvidia-container-runtime"}
    daemon.parent.mkdir(exist_ok=True)
    daemon.write_text(json.dumps(config, indent=4))
    return "registered the nvidia runtime in /etc/docker/daemon.json"


# --- systemctl ------------------------------------------------------------------------------------

_KNOWN_UNITS = {"ssh.service", "ssh.socket"}


def _unit_exists(unit: str) -> bool:
    if unit in _KNOWN_UNITS:
        return True
    if unit in ("docker", "docker.service"):
        return _installed("docker")
    return Path("/etc/systemd/system", unit).is_file()


def _systemctl(argv: list[str]) -> str:
    words = [a for a in argv if not a.startswith("--")]
    flags = {a for a in argv if a.startswith("--")}
    if not words:
        raise Rejected("systemctl: no verb", 1)
    verb, units = words[0], words[1:]
    allowed_flags = {"mask": {"--now"}, "enable": {"--now", "--no-block"}, "daemon-reload": set(),
                     "reload": set(), "restart": set()}
    if verb not in allowed_flags or flags - allowed_flags[verb]:
        raise Rejected(f"systemctl: {argv} is outside the rehearsed contract", 1)
    for unit in units:
        if not _unit_exists(unit):
            raise Rejected(f"systemctl {verb}: Unit {unit} not found (5)", 5)
    state = _state()
    if verb == "enable" and "--now" in flags:
        state.setdefault("started", []).extend(units)
    if verb == "reload" and not state.get("docker_running", True):
        raise Rejected("systemctl reload docker: docker is not running", 1)
    _save(state)
    return f"{verb} {' '.join(units)}".strip()


# --- docker ---------------------------------------------------------------------------------------

def _docker(argv: list[str]) -> str:
    if not argv:
        raise Rejected("docker: no subcommand", 125)
    sub, rest = argv[0], argv[1:]
    if sub == "rm":
        if [a for a in rest if a.startswith("-")] != ["--force"] or len(rest) != 2:
            raise Rejected(f"docker rm: {rest} is outside the rehearsed contract", 125)
        return f"removed container {rest[-1]} (if any)"
    if sub == "stop":
        return f"stopped {rest[-1]}"
    if sub == "login":
        if rest[:2] != ["--username", CONTRACTS["acr"]["login_user"]] or "--password-stdin" not in rest:
            raise Rejected("docker login: expected --username <ACR token user> --password-stdin", 1)
        if rest[-1] != EXPECT.get("registry"):
            raise Rejected(f"docker login: {rest[-1]} is not the pool's registry", 1)
        if sys.stdin.read() != _state().get("acr_refresh_token"):
            raise Rejected("docker login: the password is not the ACR refresh token", 1)
        state = _state()
        state["logged_in"] = rest[-1]
        _save(state)
        return f"logged in to {rest[-1]}"
    if sub != "run":
        raise Rejected(f"docker {sub}: outside the rehearsed contract", 125)
    return _docker_run(rest)


def _docker_run(argv: list[str]) -> str:
    opts = CONTRACTS["docker_run"]["options"]
    given: dict[str, list[str]] = {}
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        name, eq, value = argv[i].partition("=")
        if name not in opts:
            raise Rejected(f"docker run: unknown flag: {name}", 125)
        if opts[name] and not eq:
            value = argv[i + 1]
            i += 1
        given.setdefault(name, []).append(value)
        i += 1
    if i >= len(argv):
        raise Rejected("docker run: no image", 125)
    image, args = argv[i], argv[i + 1:]
    if image != EXPECT["image"]:
        raise Rejected(f"docker run: image {image} is not the configured {EXPECT['image']}", 125)
    registry = EXPECT.get("registry")
    if EXPECT.get("private_only") and not (registry and image.startswith(registry + "/")):
        raise Rejected(f"docker run: {image} comes from a public registry; this pool pulls only from its "
                       f"private registry {registry}", 125)
    if registry and image.startswith(registry + "/") and _state().get("logged_in") != registry:
        raise Rejected(f"docker run: pull {image}: unauthorized (401): docker never logged in to {registry} "
                       "with the pool identity", 125)
    if "--gpus" not in given:
        raise Rejected("docker run: no --gpus: the container would see no GPU", 125)
    daemon = Path("/etc/docker/daemon.json")
    runtime = CONTRACTS["docker_run"]["gpu_runtime"]
    if not daemon.exists() or runtime not in json.loads(daemon.read_text()).get("runtimes", {}):
        raise Rejected("docker run --gpus: could not select device driver \"\" with capabilities: [[gpu]] "
                       "(the NVIDIA runtime is not registered with dockerd)", 125)
    port = str(EXPECT["port"])
    if f"{port}:{port}" not in given.get("--publish", []):
        raise Rejected(f"docker run: port {port} is not published as {port}:{port}", 125)
    env_files = given.get("--env-file", [])
    if not env_files or not all(Path(f).is_file() for f in env_files):
        raise Rejected(f"docker run: --env-file {env_files} missing (docker: open ...: no such file)", 125)
    env = dict(ln.split("=", 1) for f in env_files for ln in Path(f).read_text().splitlines() if "=" in ln)
    env.update(dict(e.split("=", 1) for e in given.get("--env", []) if "=" in e))
    _check_weights(given.get("--volume", []), env)
    for volume in given.get("--volume", []):
        if not Path(volume.split(":", 1)[0]).is_dir():
            raise Rejected(f"docker run: volume source {volume.split(':', 1)[0]} does not exist", 125)
    _check_vllm(args, env)
    return f"serving {EXPECT['model']} on :{port}"


def _check_weights(volumes: list[str], env: dict[str, str]) -> None:
    """Weights from Blob: every listed file is on the host, mounted where vLLM loads it, hub switched off."""
    weights = EXPECT.get("weights")
    if weights is None:
        return
    downloaded = set(_state().get("blobs_downloaded", []))
    wanted = {f"{weights['path']}/{f}" for f in CONTRACTS["blob"]["fake_files"]}
    if downloaded != wanted:
        raise Rejected(f"docker run: the weights are incomplete: downloaded {sorted(downloaded)}, the container "
                       f"holds {sorted(wanted)}", 125)
    for name in wanted:
        if not Path(EXPECT["weights_dir"], name).is_file():
            raise Rejected(f"docker run: {EXPECT['weights_dir']}/{name} is missing on the host", 125)
    mount = f"{EXPECT['weights_dir']}:{EXPECT['container_weights_dir']}"
    if not any(v == mount or v.startswith(mount + ":") for v in volumes):
        raise Rejected(f"docker run: no --volume {mount}: the container cannot see the downloaded weights", 125)
    if env.get("HF_HUB_OFFLINE") != "1":
        raise Rejected("docker run: HF_HUB_OFFLINE=1 is not set: vLLM would still call huggingface.co", 125)


def _check_vllm(args: list[str], env: dict[str, str]) -> None:
    version = EXPECT["vllm_version"]
    flags = set(EXPECT["vllm_flags"])
    seen: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if name not in flags:
                raise Rejected(f"vllm serve: error: unrecognized arguments: {name} (not a flag of vLLM {version})", 2)
            if not eq and i + 1 < len(args) and not args[i + 1].startswith("--"):
                value = args[i + 1]
                i += 1
            seen[name] = value
        else:
            positional.append(arg)
        i += 1
    model = positional[0] if positional else seen.get("--model")
    weights = EXPECT.get("weights")
    if weights is not None:
        local = f"{EXPECT['container_weights_dir']}/{weights['path']}"
        if model != local:
            raise Rejected(f"vllm serve: --model {model!r}: the weights were downloaded to {local!r}; any other "
                           "value makes vLLM fetch them from the model hub", 2)
        if seen.get("--served-model-name") != EXPECT["model"]:
            raise Rejected(f"vllm serve: --served-model-name {seen.get('--served-model-name')!r}: clients ask for "
                           f"{EXPECT['model']!r}", 2)
    elif EXPECT.get("private_only"):
        raise Rejected(f"vllm serve: --model {model!r} downloads from huggingface.co, a public host", 2)
    elif model != EXPECT["model"]:
        raise Rejected(f"vllm serve: model {model!r} is not the configured {EXPECT['model']!r}", 2)
    if seen.get("--tensor-parallel-size") != str(EXPECT["gpus"]):
        raise Rejected(f"vllm serve: --tensor-parallel-size {seen.get('--tensor-parallel-size')} but the VM has "
                       f"{EXPECT['gpus']} GPU(s)", 2)
    if seen.get("--port", "8000") != str(EXPECT["port"]):
        raise Rejected(f"vllm serve: --port {seen.get('--port')} is not the published {EXPECT['port']}", 2)
    if seen.get("--host") not in ("0.0.0.0", "::"):
        raise Rejected("vllm serve: --host must be 0.0.0.0 inside the container, or nothing answers", 2)
    if weights is None and model in EXPECT["gated_models"] and not env.get(CONTRACTS["hugging_face"]["token_variable"]):
        raise Rejected(f"Hugging Face: {model} is gated and the container has no "
                       f"{CONTRACTS['hugging_face']['token_variable']}: the download is refused (401) "
                       "and vLLM exits", 1)


TOOLS = {"apt-get": _apt_get, "curl": _curl, "gpg": _gpg, "nvidia-smi": _nvidia_smi,
         "nvidia-ctk": _nvidia_ctk, "systemctl": _systemctl, "docker": _docker}


def main() -> int:
    """Act as the tool named by argv[0]; exit as the real tool would."""
    tool = os.path.basename(sys.argv[0])
    argv = sys.argv[1:]
    if tool in ("docker", "nvidia-ctk") and not _installed(tool):
        # The binary comes from a package; without it bash would say exactly this.
        _record(tool, argv, rejected=f"{tool}: command not found (its package was never installed)")
        print(f"{sys.argv[0]}: {tool}: command not found", file=sys.stderr)
        return 127
    try:
        note = TOOLS[tool](argv)
    except Driverless:
        _record(tool, argv, note="no NVIDIA driver loaded yet (exit 9)")
        return 9
    except Rejected as exc:
        _record(tool, argv, rejected=str(exc))
        print(f"rehearsal: {tool}: REJECTED: {exc}", file=sys.stderr)
        return exc.status
    _record(tool, argv, note=note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
