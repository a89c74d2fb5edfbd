"""Record what the real Pulumi engine hands a program for each form of YAML value: tests/fixtures/engine_yaml.json.

    .venv/bin/python -m tests.engine_yaml_probe     # needs `make engine` (build/engine/pulumi); about 3 minutes

Each form is written into a throw-away stack file of a throw-away project (a file:// backend, the passphrase
secrets provider, no plugin downloads) twice: as a top-level config value (``probe:top: <form>``, which the
program receives as text) and inside a mapping (``probe:nested: {k: <form>}``, received as JSON), and as a
key inside a mapping for the key forms. The program, the Python language host of the built engine, writes
the config map it was handed (``pulumi.runtime.config``, as ``infra/sdk.py`` reads it) to a file; an engine
that refuses the file is recorded with its error. ``tests/test_hostile_values.py`` holds the offline reader
(``ai_serving/engine/stack_yaml.py``) to these answers: each form is either read the same way or refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "build" / "engine"
OUT = ROOT / "tests" / "fixtures" / "engine_yaml.json"

PLAIN = [
    "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N",
    "true", "True", "TRUE", "false", "False", "FALSE", "tRuE", "null", "Null", "NULL", "~", "",
    "2027-01-31", "2027-1-3", "2027-01-31T10:00:00Z", "2027-01-31t10:00:00+02:00", "2027-01-31 10:00:00",
    "2001-12-14 21:59:43.10 -5", "2027-02-30", "2027-1-32", "0000-01-01", "2027-01-31T10:00:00",
    "1:30", "190:20:30", "1:30.5", "1e3", "1E3", "1.0e+3", "1.0e3", "1.5", "1.0", "2.0", "0.5", ".5", "5.", "-1.5",
    "+.5", "-.5", "1_000.5", "3.14_15", "0.1e1", "0.00001", "1e-7", "1e20", "1e21", "1e300", "1e400",
    "1.0e+400", ".5e400", "+1", "+12", "-0", "00", "0", "1_000", "1_", "017", "08", "0800", "-017",
    "0o17", "-0o17", "0O17", "0o-17", "0x1F", "0X1f", "+0x1F", "-0x1F", "0x_1F", "0x", "0x_", "0b101",
    "-0b101", "0b-101", "0b_", "0b", "9007199254740993", "9223372036854775807", "9223372036854775808",
    "18446744073709551615", "18446744073709551616", "-9223372036854775809", "123456789012345678901",
    ".nan", ".NaN", ".NAN", ".inf", ".Inf", "+.inf", "-.inf", "-.INF", "nan", "inf", "._", "1_._",
    "=", "<<", "0b_1", "1__0", "_1", "+", "-_", "12:30:45", "0:30",
]
TAGGED = [
    "!!bool maybe", "!!bool yes", "!!bool true", '!!bool ""', "!!int abc", "!!int 1.5", "!!int 017",
    "!!int 0o17", '!!int ""', "!!int 1:30", "!!float abc", '!!float ""', "!!float 1", "!!float 1e3",
    "!!float .nan", "!!float 1:30.5", "!!timestamp abc", "!!timestamp 2027-01-31", '!!timestamp ""',
    "!!str 1", "!!str yes", "!!str 2027-01-31", '!!null ""', "!!null abc", "!!binary aGVsbG8=",
    '!!binary "!!"', "!!set {a, b}", "!!omap [a: 1]", "!!pairs [a: 1]", "!!seq [1]", "!!map {a: 1}",
    "!!merge x", "!!value =", '!!python/name:os.system ""', "!foo bar", "! yes",
    "!<tag:example.com,2000:x> y", "!!seq x", "!!map x", "!!str [1]",
]
KEYS = ["True", "true", "1.0", "0x1F", "~", "null", "2027-03-31", "404", "1_000", "yes", "1e3", "1000000.0",
        "0.00001", "+1", "017", "1:30", ".inf", "-0", "FALSE", "<<"]

PROGRAM = """import json, os
from pulumi.runtime import config
with open(os.environ["PROBE_OUT"], "w", encoding="utf-8") as f:
    json.dump({**config.get_config_env(), **config.CONFIG.get()}, f)
"""


def _run(project: Path, env: dict[str, str], config_lines: str) -> dict[str, object]:
    (project / "Pulumi.probe.yaml").write_text("config:\n" + config_lines, encoding="utf-8")
    out = project / "out.json"
    out.unlink(missing_ok=True)
    proc = subprocess.run([str(ENGINE / "pulumi"), "preview", "--non-interactive"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    if not out.exists():
        lines = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if "error:" in line]
        return {"error": lines[0] if lines else f"exit {proc.returncode}"}
    return {"config": json.loads(out.read_text(encoding="utf-8"))}


def main() -> int:
    if not (ENGINE / "pulumi").exists():
        print("no build/engine/pulumi: run `make engine` first", file=sys.stderr)
        return 3
    with tempfile.TemporaryDirectory(prefix="engine-yaml-") as scratch:
        project = Path(scratch) / "project"
        project.mkdir()
        (Path(scratch) / "state").mkdir()
        (project / "Pulumi.yaml").write_text(
            f"name: probe\nruntime:\n  name: python\n  options:\n    virtualenv: {ROOT / '.venv'}\n", encoding="utf-8")
        (project / "__main__.py").write_text(PROGRAM, encoding="utf-8")
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")},
               "PATH": f"{ENGINE}{os.pathsep}{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
               "PULUMI_HOME": f"{scratch}/home", "PULUMI_BACKEND_URL": f"file://{scratch}/state",
               "PULUMI_CONFIG_PASSPHRASE": "probe", "PULUMI_SKIP_UPDATE_CHECK": "true",
               "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true", "NO_COLOR": "1",
               "PROBE_OUT": str(project / "out.json")}
        subprocess.run([str(ENGINE / "pulumi"), "stack", "init", "probe", "--secrets-provider", "passphrase",
                        "--non-interactive"], cwd=project, env=env, check=True, capture_output=True, timeout=120)
        version = subprocess.run([str(ENGINE / "pulumi"), "version"], capture_output=True, text=True,
                                 check=True).stdout.strip()

        def value(form: str) -> dict[str, object]:
            got = _run(project, env, f"  probe:top: {form}\n  probe:nested:\n    k: {form}\n")
            if "error" in got:
                return {"yaml": form, "error": got["error"]}
            config = got["config"]
            return {"yaml": form, "top": config.get("probe:top"), "nested": json.loads(config["probe:nested"])["k"]}

        def key(form: str) -> dict[str, object]:
            got = _run(project, env, f"  probe:nested:\n    {form}: 1\n    zz: 2\n")
            if "error" in got:
                return {"yaml": form, "error": got["error"]}
            return {"yaml": form, "key": next(k for k in json.loads(got["config"]["probe:nested"]) if k != "zz")}

        record = {
            "engine": f"build/engine/pulumi {version} (`make engine`), recorded by tests/engine_yaml_probe.py",
            "top": "the text a program got for `probe:top: <yaml>` (absent: null)",
            "nested": "the JSON value a program got for `probe:nested: {k: <yaml>}`",
            "plain": [value(f) for f in PLAIN],
            "tagged": [value(f) for f in TAGGED],
            "keys": [key(f) for f in KEYS],
        }
    OUT.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {sum(len(record[k]) for k in ('plain', 'tagged', 'keys'))} forms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
