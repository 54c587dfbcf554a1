"""The install holds: the lock satisfies pyproject's ranges, HiPO is detected by trying it, and PyNumero's
library is checked from a new process."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import afforest.solvers as solvers
from afforest.model.landuse import TimeGrid, build_classes_model
from afforest.model.landuse import afforested_area_by_horizon as long_run_afforested_area

ROOT = Path(__file__).resolve().parents[1]


def _locked_versions() -> dict[str, Version]:
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", (ROOT / "requirements.lock").read_text(), re.MULTILINE)
    return {canonicalize_name(name): Version(version) for name, version in pins}


def _declared_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in ("test", "dev"):
        declared += project["optional-dependencies"][extra]
    return [Requirement(text) for text in declared]


@pytest.mark.unit
def test_lock_pins_every_declared_dependency_within_its_range():
    locked = _locked_versions()
    for requirement in _declared_requirements():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is declared in pyproject.toml but not pinned in requirements.lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock pins {name}=={locked[name]} outside pyproject's {requirement}: run `make lock`"
        )


@pytest.mark.unit
def test_highspy_and_its_extras_are_pinned_together():
    """highspy-extras only loads with the highspy of the same minor version (1.16.0 + 1.15.1: no HiPO)."""
    locked = _locked_versions()
    assert locked["highspy"] == locked["highspy-extras"]
    declared = {canonicalize_name(r.name): r.specifier for r in _declared_requirements()}
    assert str(declared["highspy"]) == str(declared["highspy-extras"])


@pytest.mark.unit
def test_hipo_runs_on_this_installation():
    """The check solves a QP with HiPO rather than looking for a package; the lock pins matching versions."""
    check = solvers.hipo_check()
    assert check.usable, check.reason
    assert check.highspy_version == check.extras_version
    assert solvers.qp_algorithm() == "hipo"


@pytest.mark.component
def test_qps_fall_back_with_a_warning_naming_both_versions(monkeypatch, study_params, study_classes):
    """Without HiPO, QPs run on HiGHS's own choice and give the same plan; the warning says why."""
    grid = TimeGrid(horizon_yr=20.0, step_yr=2.0)
    reference = build_classes_model(study_classes, study_params, grid)
    assert solvers.solve(reference).algorithm == "hipo"
    broken = solvers.HipoCheck(
        usable=False,
        highspy_version="1.16.0",
        extras_version="1.15.1",
        reason="HiGHS rejects solver = 'hipo' with highspy 1.16.0 and highspy-extras 1.15.1",
    )
    monkeypatch.setattr(solvers, "hipo_check", lambda: broken)
    solvers.reset_hipo_fallback_warning()  # the warning is given once per process: let this test see it
    fallback = build_classes_model(study_classes, study_params, grid)
    with pytest.warns(solvers.SolverFallbackWarning, match=r"1\.16\.0.*1\.15\.1.*active-set"):
        result = solvers.solve(fallback)
    assert result.algorithm == "choose"
    # two algorithms, one convex QP: the same optimum to the interior point's tolerance
    assert long_run_afforested_area(fallback) == pytest.approx(long_run_afforested_area(reference), rel=1e-6)
    assert solvers.available_solvers()["qp-algorithm"] == "choose"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        solvers.solve(build_classes_model(study_classes, study_params, grid))  # warned once per process only


@pytest.mark.integration
def test_pynumero_library_loads_in_a_new_process():
    from afforest.solvers.pynumero_build import asl_loads_in_new_process

    loads, detail = asl_loads_in_new_process()
    assert loads, detail


@pytest.mark.integration
def test_afforest_solvers_says_which_qp_solver_runs():
    run = subprocess.run(
        [sys.executable, "-m", "afforest", "solvers"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert re.search(r"^qp-algorithm\s+hipo$", run.stdout, re.MULTILINE)
    assert "QPs run on HiGHS's interior-point solver HiPO" in run.stdout
