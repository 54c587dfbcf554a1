"""Cell-level planning: closed forms, agreement of the three solution paths, exact aggregation, bad input."""

from __future__ import annotations

from typing import Any

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from afforest.cli import main
from afforest.data import LandUseParameters
from afforest.chain.bundle import load_bundle
from afforest.errors import InputError
from afforest.model.cells import (
    CELL_COLUMNS,
    CellSpreads,
    build_cells_model,
    cell_problem,
    certify,
    discount_weights,
    load_cell_spreads,
    load_cells,
    plan_from_model,
    synthetic_cells,
    validate_cells,
)
from afforest.model.landuse import (
    Discounting,
    TimeGrid,
    build_classes_model,
    class_allocation,
    planting_path,
)
from afforest.model.merit_order import landuse_classes
from afforest.solvers import solve
from afforest.solvers.decomposition import solve_cells_decomposition
from afforest.solvers.highs_direct import build_cell_qp, solve_cells_highs


def study_cells(n_cells: int, **kwargs: Any) -> pd.DataFrame:
    """``synthetic_cells`` over the study's tables (the process's bundle) and spreads; ``kwargs`` override."""
    bundle = load_bundle()
    data = {"params": bundle.landuse_parameters, "area": bundle.afforestable_area, "esv": bundle.esv,
            "spreads": load_cell_spreads()}
    return synthetic_cells(n_cells, **{**data, **kwargs})

pytestmark = pytest.mark.component

# HiPO stops when its own relative primal-dual gap is below 1e-8 (ipm_optimality_tolerance); measured on
# the welfare gain W - W0 (a few 10^3 x 10^8 yuan) its plans sit within ~1e-8 of the exact optimum, so two
# paths that use it agree to 1e-7 of the gain. The decomposition is exact to rounding (~1e-14).
HIPO_RELATIVE = 1e-7
SHORT = TimeGrid(horizon_yr=15.0, step_yr=1.0)


def _one_cell(area: float, esv: float, forest: float, cost: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cell_id": [7],
            "land_type": ["x"],
            "province": ["p"],
            "area_10k_ha": [area],
            "esv_yuan_per_ha_yr": [esv],
            "afforested_esv_yuan_per_ha_yr": [forest],
            "planting_cost_yuan_per_ha": [cost],
        }
    )


def _rates(plan) -> np.ndarray:
    return plan.planting_rate_10k_ha_per_yr


# ------------------------------------------------------------------------------------ exact small cases
@pytest.mark.parametrize("discounting", ["integrated", "sampled"])
def test_discount_weights_match_the_pyomo_skeleton(study_params, discounting):
    grid = TimeGrid(horizon_yr=12.0, step_yr=2.0, discounting=discounting)
    m = build_cells_model(study_cells(32), study_params, grid)
    w = discount_weights(study_params.financial_discount_rate, grid)
    assert np.allclose([pyo.value(m.flow_discount_yr[k]) for k in m.periods], w.flow_yr, rtol=1e-14, atol=0)
    assert np.allclose([pyo.value(m.cost_discount[k]) for k in m.periods], w.cost, rtol=1e-14, atol=0)
    assert pyo.value(m.terminal_discount_yr) == pytest.approx(w.terminal_yr, rel=1e-14)
    # integrated: a hectare planted at t_j earns e^{-r t_j} / r per yuan of yearly gain (continuous time)
    if discounting == "integrated":
        r = study_params.financial_discount_rate
        assert np.allclose(w.gain_yr, np.exp(-r * w.period_start_yr) / r, rtol=1e-12)


def test_one_period_closed_form(linear_params):
    """T = 1: max e u Y - k Y^2 on [0, a] gives Y = min(a, e u / (2k)); every path finds it."""
    grid = TimeGrid(horizon_yr=1.0, step_yr=1.0)
    cells = _one_cell(area=50.0, esv=10_000.0, forest=20_000.0, cost=40_000.0)
    problem = cell_problem(cells, linear_params, grid)
    r = linear_params.financial_discount_rate
    u = 10_000.0 / r - 40_000.0  # yuan/ha: PV of the yearly gain minus the first-year cost
    e = 1e-4  # 10^8 yuan per (10^4 ha x yuan/ha), d_0 = 1
    k = 1e-4 * linear_params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
    expected = min(50.0, e * u / (2 * k))
    assert expected < 50.0  # the rising cost binds: an interior optimum
    for plan in (solve_cells_decomposition(problem), solve_cells_highs(problem)):
        assert plan.planted_area_10k_ha[0, 0] == pytest.approx(expected, rel=1e-7)
        assert plan.welfare_10e8_yuan - problem.baseline_welfare_10e8_yuan == pytest.approx(
            e * u * expected - k * expected**2, rel=1e-7
        )


@pytest.mark.parametrize(("forest", "planted"), [(20_000.0, True), (11_000.0, False)])
def test_no_rising_cost_plants_every_worthwhile_cell_at_once(linear_params, forest, planted):
    """tau1 = 0: a cell is planted entirely in period 0 iff (f - b) / r > tau0 (Eq. 3 per cell)."""
    params = linear_params.replace(planting_cost_slope_yuan_per_ha_per_10k_ha_yr=0.0)
    problem = cell_problem(_one_cell(3.0, 10_000.0, forest, 40_000.0), params, SHORT)
    for plan in (solve_cells_decomposition(problem), solve_cells_highs(problem)):
        y = plan.planted_area_10k_ha
        assert y[0, 0] == pytest.approx(3.0 if planted else 0.0, abs=1e-7)
        assert y[:, 1:].sum() == pytest.approx(0.0, abs=1e-7)
        assert plan.certificate.verified


def test_cell_summary_carbon_by_hand(linear_params):
    """Carbon stored = planted area x yield: 2 x 10^4 ha x 300 t CO2/ha = 6 x 10^6 t = 6 Mt CO2.

    tau1 = 0 and u = (20 000 - 10 000) / 0.05 - 40 000 = 160 000 yuan/ha > 0: cell 1 is planted whole at
    once; cell 2 (u = 1 000 / 0.05 - 40 000 < 0) is never planted and stores nothing.
    """
    params = linear_params.replace(planting_cost_slope_yuan_per_ha_per_10k_ha_yr=0.0)
    cells = pd.DataFrame(
        {
            "cell_id": [1, 2],
            "land_type": ["x", "x"],
            "province": ["p", "p"],
            "area_10k_ha": [2.0, 5.0],
            "esv_yuan_per_ha_yr": [10_000.0, 10_000.0],
            "afforested_esv_yuan_per_ha_yr": [20_000.0, 11_000.0],
            "planting_cost_yuan_per_ha": [40_000.0, 40_000.0],
            "carbon_t_co2_per_ha": [300.0, 250.0],
        }
    )
    plan = solve_cells_decomposition(cell_problem(cells, params, SHORT))
    summary = plan.cell_summary().set_index("cell_id")
    assert summary.loc[1, "planted_area_10k_ha"] == pytest.approx(2.0, rel=1e-12)
    assert summary.loc[1, "carbon_mt_co2"] == pytest.approx(6.0, rel=1e-12)
    assert summary.loc[2, "carbon_mt_co2"] == 0.0


# ------------------------------------------------------------------------------ the paths agree
@pytest.mark.parametrize("discounting", ["integrated", "sampled"])
def test_fast_path_pyomo_path_and_decomposition_agree(study_params, discounting):
    grid = TimeGrid(horizon_yr=15.0, step_yr=1.0, discounting=discounting)
    problem = cell_problem(study_cells(150, seed=3), study_params, grid)
    model = build_cells_model(problem)
    result = solve(model, "highs")
    pyomo_plan = plan_from_model(model, result.label)
    fast = solve_cells_highs(problem)
    exact = solve_cells_decomposition(problem)
    gain = exact.certificate.welfare_gain_10e8_yuan
    assert exact.certificate.relative_gap < 1e-12
    # the Pyomo objective is the same function of the plan as the array formulation's
    assert result.objective == pytest.approx(pyomo_plan.welfare_10e8_yuan, abs=1e-9 * abs(result.objective))
    for plan in (pyomo_plan, fast):
        assert plan.certificate.verified
        assert plan.welfare_10e8_yuan == pytest.approx(exact.welfare_10e8_yuan, abs=HIPO_RELATIVE * gain)
        # the rates are unique (the objective is strictly concave in them)
        assert np.allclose(_rates(plan), _rates(exact), atol=1e-4 * _rates(exact).max())
    assert np.allclose(
        planting_path(model)["afforested_area_10k_ha"],
        exact.planting_path()["afforested_area_10k_ha"],
        atol=1e-4 * exact.planted_area_10k_ha.sum(),
    )


def test_carbon_price_enters_every_path_alike(study_params):
    problem = cell_problem(
        study_cells(60, seed=5), study_params, SHORT, carbon_price_yuan_per_t_co2=100.0
    )
    baseline = solve_cells_decomposition(cell_problem(problem.cells, study_params, SHORT))
    exact = solve_cells_decomposition(problem)
    model = build_cells_model(problem)
    result = solve(model, "highs")
    assert result.objective == pytest.approx(
        exact.welfare_10e8_yuan, abs=HIPO_RELATIVE * exact.certificate.welfare_gain_10e8_yuan
    )
    # paying for carbon raises every cell's u_c by P q_c: planting starts faster and never covers less land
    assert exact.planted_area_10k_ha[:, 0].sum() > baseline.planted_area_10k_ha[:, 0].sum()
    assert exact.planted_area_10k_ha.sum() >= baseline.planted_area_10k_ha.sum() - 1e-9


def test_exact_aggregation_cells_equal_the_classes_model(study_area, study_esv, study_params):
    """Identical cells within each class: the cell-level optimum is the classes model's optimum."""
    grid = TimeGrid(horizon_yr=20.0, step_yr=1.0)
    classes = landuse_classes(study_area, study_esv, study_params)
    classes_model = build_classes_model(classes, study_params, grid)
    classes_result = solve(classes_model, "highs")
    cells = study_cells(96, spreads=CellSpreads.none(365.0), params=study_params)
    assert cells.groupby(["land_type", "province"])["esv_yuan_per_ha_yr"].nunique().max() == 1
    problem = cell_problem(cells, study_params, grid)
    exact = solve_cells_decomposition(problem)
    cells_model = build_cells_model(problem)
    cells_result = solve(cells_model, "highs")
    gain = exact.certificate.welfare_gain_10e8_yuan
    assert exact.welfare_10e8_yuan == pytest.approx(classes_result.objective, abs=HIPO_RELATIVE * gain)
    assert cells_result.objective == pytest.approx(classes_result.objective, abs=HIPO_RELATIVE * gain)
    by_class = class_allocation(classes_model).set_index(["land_type", "province"])["area_10k_ha"]
    for allocation in (exact.allocation(), class_allocation(cells_model)):
        mine = allocation.set_index(["land_type", "province"])["area_10k_ha"]
        joined = pd.concat([by_class, mine], axis=1, keys=["classes", "cells"]).fillna(0.0)
        assert np.allclose(joined["classes"], joined["cells"], atol=1e-4)
    assert np.allclose(planting_path(classes_model)["planting_rate_10k_ha_per_yr"], _rates(exact), atol=1e-4)


# ------------------------------------------------------------------------------- certificates
def test_a_suboptimal_plan_is_caught(study_params):
    problem = cell_problem(study_cells(80, seed=2), study_params, SHORT)
    best = solve_cells_decomposition(problem)
    late = np.roll(best.planted_area_10k_ha, 1, axis=1)  # everything one period later
    certificate = certify(problem, late)
    assert certificate.welfare_10e8_yuan < best.welfare_10e8_yuan
    assert certificate.dual_bound_10e8_yuan >= best.welfare_10e8_yuan - 1e-9 * abs(best.welfare_10e8_yuan)
    assert not certificate.verified
    over = best.planted_area_10k_ha * 1.01
    assert (
        certify(problem, over).max_infeasibility == pytest.approx(0.01, rel=1e-3)
        or best.planted_area_10k_ha.sum() == 0
    )
    with pytest.raises(InputError, match="shape"):
        certify(problem, late[:, :-1])


@st.composite
def _instances(draw):
    n = draw(st.integers(1, 25))
    periods = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    cells = pd.DataFrame(
        {
            "cell_id": rng.permutation(10 * n)[:n],
            "land_type": rng.choice(["a", "b"], n),
            "province": "p",
            "area_10k_ha": rng.uniform(0.01, 5.0, n),
            "esv_yuan_per_ha_yr": rng.uniform(0.0, 60_000.0, n),
            "afforested_esv_yuan_per_ha_yr": rng.uniform(-5_000.0, 90_000.0, n),
            "planting_cost_yuan_per_ha": rng.uniform(0.0, 80_000.0, n),
        }
    )
    params = LandUseParameters(
        initial_area_10k_ha=float(cells["area_10k_ha"].sum()),
        financial_discount_rate=draw(st.floats(0.01, 0.15)),
        planting_cost_intercept_yuan_per_ha=42265.0,
        planting_cost_slope_yuan_per_ha_per_10k_ha_yr=draw(st.sampled_from([0.0, 50.0, 4226.5, 1e5])),
        unconverted_esv_coefficients=(1.0,),
        afforested_esv_coefficients=(1.0,),
    )
    grid = TimeGrid(
        horizon_yr=float(periods) * 2, step_yr=2.0, discounting=draw(st.sampled_from(list(Discounting)))
    )
    return cell_problem(cells, params, grid), rng


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_instances())
def test_decomposition_is_certified_and_beats_any_feasible_plan(instance):
    problem, rng = instance
    plan = solve_cells_decomposition(problem)
    certificate = plan.certificate
    assert certificate.max_infeasibility <= 1e-12
    assert certificate.gap_10e8_yuan <= 1e-9 * max(1.0, abs(certificate.welfare_gain_10e8_yuan))
    # a random feasible plan never does better, and the dual bound at its prices stays above the optimum
    shares = rng.dirichlet(np.ones(problem.n_periods + 1), problem.n_cells)[:, :-1]
    other = certify(problem, shares * problem.area_10k_ha[:, None])
    assert other.welfare_10e8_yuan <= plan.welfare_10e8_yuan + 1e-9 * abs(plan.welfare_10e8_yuan)
    assert other.dual_bound_10e8_yuan >= plan.welfare_10e8_yuan - 1e-9 * abs(plan.welfare_10e8_yuan)


# ------------------------------------------------------------------------------- generator and tables
def test_synthetic_cells_tile_table2_and_spread_around_the_class_values(study_area, study_esv, study_params):
    cells = study_cells(20_000, seed=11, params=study_params)
    assert cells["cell_id"].is_unique and len(cells) == 20_000
    totals = cells.groupby(["land_type", "province"])["area_10k_ha"].sum()
    table2 = study_area[study_area["area_10k_ha"] > 0].set_index(["land_type", "province"])["area_10k_ha"]
    assert np.allclose(totals.reindex(table2.index), table2, rtol=1e-12)
    spreads = load_cell_spreads()
    classes = landuse_classes(study_area, study_esv, study_params).set_index(["land_type", "province"])
    site = (
        cells["esv_yuan_per_ha_yr"].to_numpy()
        / classes["esv_yuan_per_ha_yr"]
        .reindex(pd.MultiIndex.from_frame(cells[["land_type", "province"]]))
        .to_numpy()
    )
    # lognormal factor, mean 1: with 20,000 draws the sample mean's standard error is cv / sqrt(20,000)
    # (0.0021 at cv 0.3), so 5 standard errors bound it; the sample cv to 10 % of its value
    assert site.mean() == pytest.approx(1.0, abs=5 * spreads.site_factor_cv / math.sqrt(len(site)))
    assert site.std() / site.mean() == pytest.approx(spreads.site_factor_cv, rel=0.1)
    same = cells["carbon_t_co2_per_ha"] / spreads.carbon_t_co2_per_ha  # the same site factor drives carbon
    assert np.allclose(same, site, rtol=1e-12)
    forest = (
        cells["afforested_esv_yuan_per_ha_yr"].to_numpy()
        / site
        / classes["afforested_esv_yuan_per_ha_yr"]
        .reindex(pd.MultiIndex.from_frame(cells[["land_type", "province"]]))
        .to_numpy()
    )
    assert forest.mean() == pytest.approx(1.0, abs=5 * spreads.forest_esv_factor_cv / math.sqrt(len(site)))
    assert forest.std() / forest.mean() == pytest.approx(spreads.forest_esv_factor_cv, rel=0.1)
    assert abs(np.corrcoef(np.log(site), np.log(forest))[0, 1]) < 5 / math.sqrt(
        len(site)
    )  # independent draws
    assert study_cells(500, seed=4).equals(study_cells(500, seed=4))
    assert not study_cells(500, seed=4).equals(study_cells(500, seed=5))
    with pytest.raises(InputError, match="one cell per class"):
        study_cells(31)
    with pytest.raises(InputError, match="n_cells"):
        study_cells(0)


def test_tidy_outputs_round_trip(tmp_path: Path, study_params):
    problem = cell_problem(study_cells(64, seed=1), study_params, SHORT)
    plan = solve_cells_decomposition(problem)
    for frame in (plan.cell_planting(), plan.planting_path(), plan.cell_summary(), plan.allocation()):
        frame.to_parquet(tmp_path / "x.parquet")
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "x.parquet"), frame, check_dtype=False)
        frame.to_csv(tmp_path / "x.csv", index=False)
        back = pd.read_csv(tmp_path / "x.csv")
        assert list(back.columns) == list(frame.columns) and len(back) == len(frame)
    cohorts = plan.cell_planting()
    assert cohorts["planted_area_10k_ha"].sum() == pytest.approx(plan.planted_area_10k_ha.sum(), rel=1e-9)
    assert plan.cell_summary()["planted_share"].max() <= 1 + 1e-12
    # a cells table saved and loaded again is the same problem
    problem.cells.to_csv(tmp_path / "cells.csv", index=False)
    problem.cells.to_parquet(tmp_path / "cells.parquet")
    for name in ("cells.csv", "cells.parquet"):
        again = load_cells(tmp_path / name, study_params)
        assert np.allclose(again["esv_yuan_per_ha_yr"], problem.cells["esv_yuan_per_ha_yr"], rtol=1e-15)
        assert list(again["cell_id"]) == list(problem.cells["cell_id"])


def test_share_formulation_arrays(study_params):
    """Column c T + j holds sigma_cj: 1 in cell row c and a_c / dt in period row N + j."""
    problem = cell_problem(study_cells(40, seed=1), study_params, TimeGrid(horizon_yr=6.0, step_yr=2.0))
    qp = build_cell_qp(problem)
    n, t = 40, 3
    assert (qp.n_cols, qp.n_rows, qp.n_nonzeros) == (n * t + t, n + t, 2 * n * t + t)
    column = 5 * t + 2
    rows = qp.a_index[qp.a_start[column] : qp.a_start[column + 1]]
    values = qp.a_value[qp.a_start[column] : qp.a_start[column + 1]]
    assert list(rows) == [5, n + 2]
    assert values[1] == pytest.approx(problem.area_10k_ha[5] / 2.0)
    assert qp.col_cost[column] == pytest.approx(-problem.planting_value()[5, 2] * problem.area_10k_ha[5])


# ------------------------------------------------------------------------------------------ bad input
def _write(tmp_path: Path, cells: pd.DataFrame) -> Path:
    path = tmp_path / "cells.csv"
    cells.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("area_10k_ha", -1.0, "> 0"),
        ("area_10k_ha", "lots", "> 0"),
        ("esv_yuan_per_ha_yr", float("inf"), "finite"),
        ("afforested_esv_yuan_per_ha_yr", float("nan"), "finite"),
        ("planting_cost_yuan_per_ha", -5.0, ">= 0"),
        ("carbon_t_co2_per_ha", -1.0, ">= 0"),
        ("cell_id", 2.5, "whole number"),
        ("cell_id", 0, "duplicate"),
        ("land_type", " ", "non-empty"),
    ],
)
def test_bad_cells_name_file_line_field_and_value(tmp_path, study_params, column, value, message):
    cells = study_cells(40, seed=1)
    cells[column] = cells[column].astype(object)
    cells.loc[3, column] = value
    with pytest.raises(InputError, match=message) as caught:
        load_cells(_write(tmp_path, cells), study_params)
    assert caught.value.field == column and caught.value.row == 5  # data row 3 is line 5 (header is line 1)
    assert "cells.csv" in str(caught.value)


def test_other_bad_input(tmp_path, study_params):
    cells = study_cells(40, seed=1)
    with pytest.raises(InputError, match="lacks columns"):
        validate_cells(cells.drop(columns=["esv_yuan_per_ha_yr"]))
    with pytest.raises(InputError, match="no rows"):
        validate_cells(cells.iloc[0:0])
    with pytest.raises(InputError, match="file not found"):
        load_cells(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="no planting cost"):  # tau(0) comes from params, never from a file read here
        validate_cells(cells[list(CELL_COLUMNS)])
    filled = validate_cells(cells[list(CELL_COLUMNS)], study_params)
    assert (filled["planting_cost_yuan_per_ha"] == study_params.planting_cost_intercept_yuan_per_ha).all()
    assert filled["carbon_t_co2_per_ha"].isna().all()
    with pytest.raises(InputError, match="carbon yield"):
        cell_problem(filled, study_params, carbon_price_yuan_per_t_co2=50.0)
    with pytest.raises(InputError, match="carbon_price"):
        cell_problem(cells, study_params, carbon_price_yuan_per_t_co2=-1.0)
    broken = tmp_path / "spreads.toml"
    broken.write_text('[site_factor_cv]\nvalue = -0.1\nunit = "-"\nsource = "x"\ndescription = "x"\n')
    with pytest.raises(InputError, match="spreads.toml"):
        load_cell_spreads(broken)


def test_negative_seed_and_failed_benchmarks_are_reported_plainly(capsys):
    with pytest.raises(InputError, match="seed"):
        study_cells(40, seed=-1)
    assert main(["cells", "solve", "--synthetic", "40", "--seed", "-1"]) == 2
    assert "'--seed', value -1: must be a whole number >= 0" in capsys.readouterr().err
    from afforest.chain.benchmark import summarise

    failed = pd.DataFrame([{"n_cells": 40, "n_periods": 3, "path": "fast", "status": "error: x", "round": 0}])
    table = summarise(failed)  # every run failed: no figures, but the table and its status still print
    assert list(table["status"]) == ["error: x"] and table["runs"].iloc[0] == 0


@pytest.mark.integration
def test_bench_scale_cli_prints_the_table(tmp_path, capsys):
    runs = tmp_path / "runs.csv"
    code = main(
        [
            "bench",
            "scale",
            "--sizes",
            "40",
            "--years",
            "4",
            "--repeats",
            "1",
            "--csv",
            "--quiet",
            "--runs",
            str(runs),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    table = pd.read_csv(io.StringIO(out))
    assert (
        main(["bench", "scale", "--from-runs", str(runs), "--csv", "--plot", str(tmp_path / "scale.png")])
        == 0
    )
    again = pd.read_csv(io.StringIO(capsys.readouterr().out))
    pd.testing.assert_frame_equal(again, table)
    assert (tmp_path / "scale.png").stat().st_size > 0
    for column in ("n_cells", "path", "build_s", "load_s", "solve_s", "peak_rss_mb", "objective", "status"):
        assert column in table.columns
    assert set(table["path"]) == {"pyomo", "fast", "floor", "decomposition"}
    assert (table["status"] == "optimal").all() and table["verified"].all()
    assert np.allclose(table["objective"], table["objective"].iloc[0], rtol=1e-8)
    floor = table.set_index("path").loc["floor"]
    assert floor["build_load_vs_floor"] == 1.0
    assert main(["bench", "scale", "--sizes", "ten"]) == 2
    assert main(["bench", "scale", "--sizes", "10", "--paths", "fast,nope"]) == 2


@pytest.mark.integration
def test_cells_solve_cli_writes_a_certified_plan(tmp_path, capsys, study_params):
    cells = study_cells(64, seed=9)
    cells.to_csv(tmp_path / "cells.csv", index=False)
    exact = solve_cells_decomposition(cell_problem(cells, study_params, TimeGrid(horizon_yr=6.0, step_yr=1.0)))
    for method in ("decomposition", "highs", "pyomo"):
        code = main(
            [
                "cells",
                "solve",
                "--cells",
                str(tmp_path / "cells.csv"),
                "--years",
                "6",
                "--method",
                method,
                "--json",
                "--output",
                str(tmp_path / method),
            ]
        )
        assert code == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["verified"] and summary["method"] == method
        assert summary["welfare_10e8_yuan"] == pytest.approx(
            exact.welfare_10e8_yuan, abs=HIPO_RELATIVE * exact.certificate.welfare_gain_10e8_yuan
        )
        cohorts = pd.read_parquet(tmp_path / method / "cell_planting.parquet")
        # the cohort table leaves out entries below 1e-9 (interior-point noise): at most 64 x 6 of them
        assert cohorts["planted_area_10k_ha"].sum() == pytest.approx(
            summary["afforested_area_10k_ha"], abs=64 * 6 * 1e-9
        )
    assert main(["cells", "solve", "--years", "6"]) == 2  # neither --cells nor --synthetic


def test_the_classes_problem_is_the_same_description_for_every_path(study_classes, study_params):
    """One LandUseProblem of merit-order classes: its Pyomo model (build_classes_model), the HiGHS arrays and the
    decomposition give the same optimum, and the certificate verifies the Pyomo plan."""
    from afforest.model.landuse import build_landuse_model
    from afforest.model.problem import LandUseProblem

    grid = TimeGrid(horizon_yr=20.0, step_yr=1.0)
    problem = LandUseProblem.from_classes(study_classes, study_params, grid)
    model = build_landuse_model(problem)
    assert [c for c in model.classes] == [c for c in build_classes_model(study_classes, study_params, grid).classes]
    result = solve(model, "highs")
    exact = solve_cells_decomposition(problem)
    fast = solve_cells_highs(problem)
    gain = exact.certificate.welfare_gain_10e8_yuan
    assert exact.certificate.relative_gap < 1e-12
    assert result.objective == pytest.approx(exact.welfare_10e8_yuan, abs=HIPO_RELATIVE * gain)
    assert fast.welfare_10e8_yuan == pytest.approx(exact.welfare_10e8_yuan, abs=HIPO_RELATIVE * gain)
    rates = np.array([[pyo.value(model.class_planting_rate_10k_ha_per_yr[c, k]) for k in model.periods] for c in model.classes])
    assert certify(problem, rates * grid.step_yr).verified
    assert set(exact.cell_planting().columns) >= {"slice", "land_type", "province", "planted_area_10k_ha"}
