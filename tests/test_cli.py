"""The command line as a user runs it: `afforest solve --json`, errors, help."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from afforest.data import data_path, load_quantities

pytestmark = pytest.mark.integration

PUBLISHED = load_quantities(data_path("published_results.toml"))


def _afforest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "afforest", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def solved() -> dict:
    run = _afforest("solve", "--json")
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_solve_json_keys(solved):
    for key in (
        "analytic_afforested_area_10k_ha",
        "numeric_afforested_area_10k_ha",
        "classes_afforested_area_10k_ha",
        "afforested_share_of_A0",
        "solver",
        "allocation",
        "scenario_hash",
        "afforest_version",
    ):
        assert key in solved
    assert {"province", "land_type", "area_10k_ha"} <= set(solved["allocation"][0])


def test_solve_baseline_numbers(solved):
    assert solved["analytic_afforested_area_10k_ha"] == pytest.approx(PUBLISHED["rounded_coefficient_root"].value, abs=0.01)
    assert len(solved["analytic_roots"]) == 1
    assert abs(solved["numeric_afforested_area_10k_ha"] / solved["analytic_afforested_area_10k_ha"] - 1) < 1e-3
    assert solved["solver"]["curves"]["solver"] == "ipopt"
    assert solved["solver"]["classes"]["solver"] == "highs"
    assert sum(row["area_10k_ha"] for row in solved["allocation"]) == pytest.approx(solved["analytic_afforested_area_10k_ha"])


def test_solve_report_names_the_solvers():
    run = _afforest("solve")
    assert run.returncode == 0, run.stderr
    assert "ipopt" in run.stdout and "highs" in run.stdout and "102.71" in run.stdout


def test_bad_scenario_exits_2_with_message(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[landuse]\nfinancial_discount_rate = -1\n")
    run = _afforest("solve", str(bad))
    assert run.returncode == 2
    assert str(bad) in run.stderr and "financial_discount_rate" in run.stderr
    assert "Traceback" not in run.stderr


def test_help_and_steady_state():
    run = _afforest("--help")
    assert run.returncode == 0 and "solve" in run.stdout and "steady-state" in run.stdout
    run = _afforest("steady-state", "--rate", "0.05", "--json")
    assert run.returncode == 0
    (point,) = json.loads(run.stdout)
    assert point["analytic_afforested_area_10k_ha"] == pytest.approx(PUBLISHED["rounded_coefficient_root"].value, abs=0.01)
