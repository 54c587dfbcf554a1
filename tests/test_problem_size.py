"""Problems too large for this machine, and solvers that cannot run here, are refused before anything is built."""

from __future__ import annotations

from typing import Any

import time
import tracemalloc

import pandas as pd
import pytest

import afforest.solvers.highs_direct as highs_direct
from afforest.chain.bundle import load_bundle
from afforest.errors import InputError, SolverError
from afforest.model.cells import cell_problem, load_cell_spreads, synthetic_cells
from afforest.model.landuse import TimeGrid
from afforest.chain.inputs import resolve_inputs
from afforest.scenarios import load_scenario
from afforest.solvers import HipoCheck


def study_cells(n_cells: int, **kwargs: Any) -> pd.DataFrame:
    """``synthetic_cells`` over the study's tables (the process's bundle) and spreads; ``kwargs`` override."""
    bundle = load_bundle()
    data = {"params": bundle.landuse_parameters, "area": bundle.afforestable_area, "esv": bundle.esv,
            "spreads": load_cell_spreads()}
    return synthetic_cells(n_cells, **{**data, **kwargs})

pytestmark = pytest.mark.unit


def _scenario(tmp_path, body: str):
    path = tmp_path / "big.toml"
    path.write_text('extends = "baseline"\n' + body)
    return load_scenario(str(path))


@pytest.mark.parametrize(
    ("body", "field", "classes", "periods"),
    [
        # 499.58 x 10^4 ha in slices of 10^-9 x 10^4 ha: 4.9958e11 classes (the 32 classes split)
        ("[classes]\nmax_class_area_10k_ha = 1e-9\n", "classes.max_class_area_10k_ha", "499,580,000,000", "100"),
        # 100 years in steps of 10^-5 years: 10^7 periods of the study's 32 classes
        ("[numerics]\nstep_yr = 1e-5\n", "numerics.step_yr", "32", "10,000,000"),
    ],
)
def test_a_landuse_model_beyond_memory_is_refused_before_it_is_built(tmp_path, body, field, classes, periods):
    scenario = _scenario(tmp_path, body)
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(InputError) as caught:
        resolve_inputs(scenario)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert caught.value.field == field
    assert f"{classes} classes x {periods} periods" in str(caught.value)
    assert "GB is available" in str(caught.value)
    assert peak < 20 * 2**20 and elapsed < 10  # refused by arithmetic, not by trying


def test_a_modest_split_is_accepted(tmp_path):
    """Slices of 5 x 10^4 ha: a few hundred classes, well within memory."""
    inputs = resolve_inputs(_scenario(tmp_path, "[classes]\nmax_class_area_10k_ha = 5.0\n"))
    assert 32 < len(inputs.classes) < 200


def test_the_fast_cell_path_says_why_hipo_cannot_run(monkeypatch, study_params):
    reason = "HiGHS rejects solver = 'hipo' with highspy 1.16.0 and highspy-extras 1.15.1"
    monkeypatch.setattr(highs_direct, "hipo_check", lambda: HipoCheck(False, "1.16.0", "1.15.1", reason))
    problem = cell_problem(study_cells(64, params=study_params), study_params, TimeGrid(horizon_yr=10.0))
    qp = highs_direct.build_cell_qp(problem)
    with pytest.raises(SolverError, match=r"1\.16\.0 and highspy-extras 1\.15\.1.*4000 free variables"):
        highs_direct.load_cell_qp(qp)
