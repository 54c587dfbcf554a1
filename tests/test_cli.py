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


# -- every command runs: the listings and every --help ------------------------------------------------------

def _shipped_scenario_files() -> dict[str, str]:
    """name -> description, read from the package's scenarios folder directly (not via shipped_scenarios)."""
    import tomllib
    from importlib.resources import files

    folder = files("afforest.scenarios")
    return {
        entry.name.removesuffix(".toml"): tomllib.loads(entry.read_text()).get("description", "")
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    }


def test_scenarios_lists_every_shipped_scenario():
    run = _afforest("scenarios")
    assert run.returncode == 0 and run.stderr == ""
    listed = {line.split()[0]: line.split(None, 1)[1] for line in run.stdout.splitlines() if line.strip()}
    shipped = _shipped_scenario_files()
    assert "baseline" in shipped and len(shipped) >= 8
    assert set(listed) == set(shipped)
    for name, description in shipped.items():
        if description:  # a scenario that extends another may inherit its description
            assert listed[name] == description


SOLVER_INTERFACES = ("ipopt-executable", "cyipopt", "highspy", "highspy-extras")
"""The ways afforest.solvers reaches a solver: Ipopt as an executable or through cyipopt, HiGHS through highspy
(with HiPO, the interior-point QP solver, from highspy-extras)."""


def test_solvers_names_each_interface(capsys):
    from afforest.cli import main

    assert main(["solvers", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert main(["solvers"]) == 0
    text = capsys.readouterr().out
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    for interface in SOLVER_INTERFACES:
        key = next((k for k in found if k.startswith(interface)), None)
        assert key is not None, (interface, list(found))
        assert interface in lines, (interface, text)
        shown = found[key] or "not available"
        assert lines[interface].rstrip().endswith(str(shown))
    highs = next(k for k in found if k == "highspy")
    assert found[highs], "highspy is a dependency of afforest: it must be available"
    assert found["cyipopt"] or found["ipopt-executable"], "no Ipopt: the curves NLP cannot be solved"


def _command_paths() -> list[tuple[str, ...]]:
    """Every command and sub-command of the parser, e.g. ('solve',), ('cells', 'solve')."""
    import argparse

    from afforest.cli import build_parser

    def walk(parser: argparse.ArgumentParser, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        found = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found.append((*prefix, name))
                    found.extend(walk(sub, (*prefix, name)))
        return found

    return walk(build_parser(), ())


def test_the_parser_has_the_documented_commands():
    top = {path[0] for path in _command_paths()}
    assert {"solve", "steady-state", "solvers", "scenarios", "reproduce", "calibrate-soil"} <= top


@pytest.mark.parametrize("command", _command_paths(), ids=" ".join)
def test_every_command_has_help(command: tuple[str, ...], capsys):
    from afforest.cli import main

    with pytest.raises(SystemExit) as stop:
        main([*command, "--help"])
    assert stop.value.code == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"usage: afforest {' '.join(command)}")
    assert "options:" in captured.out and captured.err == ""


# -- the shared glue of every command ---------------------------------------------------------------------------

@pytest.mark.unit
def test_print_json_writes_no_nan_and_converts_numpy(capsys):
    import math
    from pathlib import Path

    import numpy as np

    from afforest.cli.output import print_json

    print_json({"nan": float("nan"), "values": [np.float64("inf"), np.int64(3), np.float32(1.5)],
                 "path": Path("out"), "pair": (1, -np.inf), "fine": 0.25})
    text = capsys.readouterr().out
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"nan": None, "values": [None, 3, 1.5], "path": "out", "pair": [1, None], "fine": 0.25}
    assert math.isfinite(json.loads(text)["fine"])


@pytest.mark.unit
def test_ctrl_c_ends_with_one_line_and_130(monkeypatch, capsys):
    from afforest.cli import main

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr("afforest.scenarios.shipped_scenarios", interrupted)  # what `afforest scenarios` calls
    assert main(["scenarios"]) == 130
    assert capsys.readouterr().err == "afforest: interrupted\n"
