"""``ai-serving models``: lifecycle dates, filters, the catalogue's age and its staleness warning."""

from __future__ import annotations

import argparse
import io
from datetime import timedelta

import pytest
from rich.console import Console

from ai_serving.models import run, staleness_warning
from infra.catalogues import lifecycle
from tests.cli_helpers import cli


def _row(out: str, model: str, version: str) -> str:
    return next(line for line in out.splitlines() if line.split()[:2] == [model, version])


def test_models_lists_lifecycle_dates_and_the_catalogue_date(capsys):
    assert cli("models") == 0
    out = capsys.readouterr().out
    chat = _row(out, "gpt-5.5", "2026-04-24")
    assert "open" in chat and "2027-10-26" in chat
    legacy = _row(out, "gpt-4o", "2024-11-20")
    assert "open (Legacy)" in legacy and "2027-04-14" in legacy and "gpt-5.1" in legacy
    assert "deprecated" in _row(out, "gpt-4o", "2024-08-06")
    assert "offered: swedencentral: GlobalStandard/DataZoneStandard; eastus: GlobalProvisionedManaged" in out
    assert f"model catalogue as of {lifecycle.as_of().isoformat()}" in out
    assert "2024-05-13" not in out  # retired: only with --all


def test_models_filters_by_region_and_type(capsys):
    assert cli("models", "--region", "swedencentral", "--type", "Standard") == 0
    out = capsys.readouterr().out
    listed = {tuple(line.split()[:2]) for line in out.splitlines()[2:] if line and not line.startswith("model ")}
    assert ("text-embedding-3-large", "1") in listed and ("text-embedding-ada-002", "2") in listed
    assert ("text-embedding-3-small", "1") not in listed  # only GlobalStandard in swedencentral
    assert ("gpt-5.5", "2026-04-24") not in listed


def test_models_all_shows_retired_versions_with_dates_and_replacements(capsys):
    assert cli("models", "--all") == 0
    row = _row(capsys.readouterr().out, "gpt-4o", "2024-05-13")
    assert "retired" in row and "2026-10-01" in row and "gpt-5.1" in row


@pytest.mark.parametrize(("region", "hint"), [
    ("SwedenCentral", " (did you mean 'swedencentral'?)"), ("Sweden Central", " (did you mean 'swedencentral'?)"),
    ("", ""), ("   ", ""), ("nowhere", ""), ("japaneast", ""),
], ids=["case", "portal-name", "empty", "blank", "unknown", "region-not-catalogued"])
def test_models_refuses_a_region_not_written_as_catalogued_naming_the_closest(capsys, region, hint):
    """Matched exactly, as a stack's location is; `SwedenCentral` (as the portal writes it) gets the hint."""
    assert cli("models", "--region", region) == 2
    captured = capsys.readouterr()
    assert captured.err == (f"error: --region {region!r} is not in the model catalogue{hint}; covered regions: "
                            f"{', '.join(lifecycle.regions_covered())}\n") and captured.out == "", captured.err


def test_models_refuses_an_unknown_region_or_type(capsys):
    assert cli("models", "--region", "mars") == 2
    err = capsys.readouterr().err
    assert "--region 'mars' is not in the model catalogue" in err and "swedencentral" in err
    assert "Traceback" not in err
    assert cli("models", "--type", "Batch") == 2
    assert "expected one of: Standard, GlobalStandard" in capsys.readouterr().err
    assert cli("models", "--type", "ProvisionedManaged", "--region", "eastus") == 0
    assert _row(capsys.readouterr().out, "gpt-5.5", "2026-04-24")


def _run_on(day) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(region=None, sku=None, all=False)
    code = run(args, Console(file=out, width=200), Console(file=err, width=200), today=day)
    return code, out.getvalue(), err.getvalue()


def test_an_old_catalogue_warns_but_does_not_fail():
    fresh = lifecycle.as_of() + timedelta(days=lifecycle.STALE_AFTER_DAYS)
    code, out, err = _run_on(fresh)
    assert code == 0 and err == "" and staleness_warning(fresh) is None
    assert f"({lifecycle.STALE_AFTER_DAYS} days old" in out

    stale = fresh + timedelta(days=1)
    code, out, err = _run_on(stale)
    assert code == 0
    assert f"the model catalogue is {lifecycle.STALE_AFTER_DAYS + 1} days old" in err
