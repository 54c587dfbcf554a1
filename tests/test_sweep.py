"""Sweeps: grid and sample points, model re-use, resume, atomic writes, failures, Dask, and Eq. 3 at every point."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from afforest.errors import InputError
from afforest.model.steady_state import long_run_afforested_area
from afforest.chain.inputs import resolve_inputs
from afforest.chain.landuse import solve_landuse
from afforest.scenarios import load_scenario
from afforest.chain.sweep import (
    PROGRESS_FILE,
    SweepPoint,
    compact_shadow_prices,
    grid_points,
    load_results,
    model_cache,
    resolve_key,
    run_sweep,
    sample_points,
    solve_point,
)

pytestmark = pytest.mark.integration

FAST = {"numerics.horizon_yr": 60.0, "numerics.step_yr": 2.0}


def _fast_scenario(name: str = "discount_sweep"):
    return load_scenario(name).with_overrides(FAST)


def test_keys_and_points():
    assert resolve_key("financial_discount_rate") == "landuse.financial_discount_rate"
    assert resolve_key("policy.carbon_price_yuan_per_t_co2") == "policy.carbon_price_yuan_per_t_co2"
    with pytest.raises(InputError, match="not a sweepable"):
        resolve_key("discount")
    points = grid_points({"financial_discount_rate": [0.03, 0.05], "planting_cost_slope_yuan_per_ha_per_10k_ha_yr": [1e3, 2e3, 4e3]})
    assert len(points) == 6 and points[-1].overrides == {
        "landuse.financial_discount_rate": 0.05,
        "landuse.planting_cost_slope_yuan_per_ha_per_10k_ha_yr": 4e3,
    }


def test_latin_hypercube_covers_each_stratum_once():
    n = 20
    points = sample_points({"financial_discount_rate": (0.01, 0.11)}, n, seed=1)
    values = np.array([p.overrides["landuse.financial_discount_rate"] for p in points])
    strata = np.floor((values - 0.01) / 0.1 * n).astype(int)
    assert sorted(strata) == list(range(n))
    assert sample_points({"financial_discount_rate": (0.01, 0.11)}, n, seed=1) == points  # reproducible


def test_monte_carlo_points_are_uniform_draws_in_the_box_and_reproducible():
    """method = "monte_carlo": numpy's default generator, seeded; each point lies in its box, ids run 0..n-1."""
    ranges = {"financial_discount_rate": (0.01, 0.11), "planting_cost_slope_yuan_per_ha_per_10k_ha_yr": (1e3, 5e3)}
    points = sample_points(ranges, 5, "monte_carlo", seed=7)
    expected = np.array([0.01, 1e3]) + np.random.default_rng(7).random((5, 2)) * np.array([0.1, 4e3])
    got = np.array([[p.overrides["landuse.financial_discount_rate"],
                     p.overrides["landuse.planting_cost_slope_yuan_per_ha_per_10k_ha_yr"]] for p in points])
    np.testing.assert_array_equal(got, expected)
    assert [p.point_id for p in points] == list(range(5))
    assert sample_points(ranges, 5, "monte_carlo") == sample_points(ranges, 5, "monte_carlo", seed=0)  # default seed 0
    assert sample_points(ranges, 5, "monte_carlo", seed=8) != points


def test_one_sampled_point_is_accepted_and_bad_sampling_requests_are_named():
    assert len(sample_points({"financial_discount_rate": (0.01, 0.11)}, 1)) == 1
    with pytest.raises(InputError) as caught:
        sample_points({"financial_discount_rate": (0.01, 0.11)}, 3, "sobol")
    assert caught.value.field == "sweep.method" and caught.value.value == "sobol"
    with pytest.raises(InputError) as caught:
        sample_points({}, 3)
    assert caught.value.field == "sweep.ranges" and "declares no [sweep] ranges" in str(caught.value)


def test_discount_sweep_reproduces_the_analytic_roots(tmp_path):
    """Issue 4: at every rate of the shipped sweep the curves NLP is within 0.1 % of Eq. 3's root."""
    scenario = _fast_scenario()
    points = grid_points(scenario.sweep.grid)
    model_cache().clear()  # one worker runs in this process: models an earlier test built here would be re-used
    frame = run_sweep(scenario, points, tmp_path, workers=1, progress=False)
    assert (frame["status"] == "ok").all(), frame["error"].tolist()
    params = resolve_inputs(scenario).params
    expected = long_run_afforested_area(params, frame["financial_discount_rate"].to_numpy())
    assert np.allclose(frame["analytic_afforested_area_10k_ha"], expected, rtol=1e-12)
    gap = np.abs(frame["numeric_afforested_area_10k_ha"] / expected - 1)
    assert gap.max() < 1e-3
    assert (frame["analytic_root_count"] == 1).all()
    # models built once, then re-used at every later point of the same structure
    assert frame["models_reused"].tolist() == [False] + [True] * (len(frame) - 1)


def test_reuse_gives_the_same_answers_as_rebuilding():
    scenario = _fast_scenario()
    points = grid_points({"financial_discount_rate": [0.02, 0.08, 0.05]})
    reused = run_sweep(scenario, points, workers=1, progress=False, reuse=True)
    rebuilt = run_sweep(scenario, points, workers=1, progress=False, reuse=False)
    assert reused["models_reused"].iloc[1:].all() and not rebuilt["models_reused"].any()
    for column in ("numeric_afforested_area_10k_ha", "classes_afforested_area_10k_ha"):
        assert reused[column].tolist() == rebuilt[column].tolist()  # bit for bit: every point starts cold


def test_results_files_round_trip_with_provenance(tmp_path):
    scenario = _fast_scenario()
    points = grid_points({"financial_discount_rate": [0.04, 0.06]})
    frame = run_sweep(scenario, points, tmp_path, workers=1, progress=False)
    parquet, meta = load_results(tmp_path)
    pd.testing.assert_frame_equal(parquet, frame, check_dtype=False)
    csv = pd.read_csv(tmp_path / "results.csv", comment="#")
    assert np.allclose(csv["numeric_afforested_area_10k_ha"], frame["numeric_afforested_area_10k_ha"])
    assert meta["afforest_version"] and meta["solvers"]["highspy"]
    assert meta["scenario"]["name"] == "discount_sweep" and meta["scenario_hash"] == scenario.digest()
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind


def test_resume_skips_finished_points(tmp_path):
    scenario = _fast_scenario()
    points = grid_points({"financial_discount_rate": [0.03, 0.04, 0.05, 0.06]})
    first = run_sweep(scenario, points, tmp_path, workers=1, progress=False)
    # a kill after two points: the results files are not written yet, and the log ends in half a line
    log = tmp_path / PROGRESS_FILE
    log.write_text("".join(log.read_text().splitlines(keepends=True)[:2]) + '{"point_id": 2, "status": "o')
    for name in ("results.parquet", "results.csv"):
        (tmp_path / name).unlink()
    full = run_sweep(scenario, points, tmp_path, workers=1, progress=False)
    assert list(full["point_id"]) == [0, 1, 2, 3]
    # the first two rows come from the log unchanged (same worker pid and timing), the others are new
    for column in ("worker_pid", "point_s"):
        assert full[column].iloc[:2].tolist() == first[column].iloc[:2].tolist()
    assert full["point_s"].iloc[2:].tolist() != first["point_s"].iloc[2:].tolist()
    lines = (tmp_path / PROGRESS_FILE).read_text().splitlines()
    solved = [json.loads(l)["point_id"] for l in lines if l.endswith("}")]
    assert sorted(solved) == [0, 1, 2, 3]
    # the same sweep again: nothing to solve, nothing appended
    again = run_sweep(scenario, points, tmp_path, workers=1, progress=False)
    pd.testing.assert_frame_equal(again, full)
    assert (tmp_path / PROGRESS_FILE).read_text().splitlines() == lines


def test_a_failed_point_is_recorded_and_the_sweep_goes_on(tmp_path):
    scenario = _fast_scenario()
    points = [
        SweepPoint(0, {"landuse.financial_discount_rate": 0.05}),
        SweepPoint(1, {"numerics.horizon_yr": 61.0}),  # not a whole number of 2-year steps
        SweepPoint(2, {"landuse.financial_discount_rate": 0.07}),
    ]
    frame = run_sweep(scenario, points, tmp_path, workers=1, progress=False)
    assert frame["status"].tolist() == ["ok", "failed", "ok"]
    assert "whole number of steps" in frame.loc[1, "error"]


def test_bad_override_is_refused_before_solving():
    with pytest.raises(InputError, match="financial_discount_rate"):
        run_sweep(_fast_scenario(), [SweepPoint(0, {"landuse.financial_discount_rate": -1.0})], progress=False)


def test_two_local_workers_match_one(tmp_path):
    scenario = _fast_scenario()
    points = grid_points({"financial_discount_rate": [0.02, 0.04, 0.06, 0.08]})
    serial = run_sweep(scenario, points, workers=1, progress=False)
    parallel = run_sweep(scenario, points, tmp_path, workers=2, progress=False)
    assert parallel["worker_pid"].nunique() == 2
    assert serial["numeric_afforested_area_10k_ha"].tolist() == parallel["numeric_afforested_area_10k_ha"].tolist()


def test_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    scenario = _fast_scenario()
    points = grid_points({"financial_discount_rate": [0.03, 0.05, 0.07]})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            frame = run_sweep(scenario, points, tmp_path, scheduler=client, progress=False)
    assert (frame["status"] == "ok").all()
    serial = run_sweep(scenario, points, workers=1, progress=False)
    assert frame["numeric_afforested_area_10k_ha"].tolist() == serial["numeric_afforested_area_10k_ha"].tolist()


def test_every_shipped_scenario_solves():
    from afforest.scenarios import shipped_scenarios

    for name in shipped_scenarios():
        row = solve_point(load_scenario(name).with_overrides(FAST).model_dump_json(), SweepPoint(0, {}))
        # a short horizon may leave a path unconverged: that is flagged "suspect", not an error
        assert row["status"] in ("ok", "suspect"), (name, row.get("error"))
        assert row["analytic_afforested_area_10k_ha"] > 0


def test_carbon_discount_rate_raises_the_average_cost_not_the_area():
    """r_c discounts future tonnes: fewer counted tonnes for the same cost, so the average cost rises;
    without a carbon price the planner's problem does not see r_c, so the area stays put."""
    scenario = _fast_scenario("urgent")
    frame = run_sweep(scenario, grid_points({"carbon_discount_rate": [0.0, 0.03, 0.05]}), workers=1, progress=False)
    assert (frame["status"] == "ok").all()
    assert np.all(np.diff(frame["average_carbon_cost_yuan_per_t_co2"]) > 0)
    assert np.all(np.diff(frame["carbon_t_co2_per_ha"]) < 0)
    assert frame["analytic_afforested_area_10k_ha"].nunique() == 1


def test_the_same_numbers_whatever_the_workers_the_order_and_reuse():
    """Catalogue 2.1: every point starts Ipopt from the models' build-time values, so 1 worker, 2 workers,
    re-used models (in any order, after any earlier sweep in this process) and rebuilt ones agree bit for bit,
    and with `afforest solve` (run.solve_landuse) on the same parameters."""
    scenario = _fast_scenario()
    points = grid_points({"financial_discount_rate": [0.03, 0.07, 0.05], "initial_area_10k_ha": [499.58, 499.4]})
    reversed_points = list(reversed(points))
    timing = ["curves_solve_s", "classes_solve_s", "build_s", "point_s", "worker_pid", "models_reused"]

    def numbers(frame: pd.DataFrame) -> pd.DataFrame:
        assert (frame["status"] != "failed").all(), frame["error"].tolist()
        return frame.drop(columns=timing).sort_values("point_id").reset_index(drop=True)

    serial = run_sweep(scenario, points, workers=1, progress=False)
    assert serial["models_reused"].any()  # the comparison is about re-use
    backwards = run_sweep(scenario, reversed_points, workers=1, progress=False)
    parallel = run_sweep(scenario, points, workers=2, progress=False)
    rebuilt = run_sweep(scenario, points, workers=1, progress=False, reuse=False)
    assert parallel["worker_pid"].nunique() == 2
    for other in (backwards, parallel, rebuilt):
        pd.testing.assert_frame_equal(numbers(other), numbers(serial), check_exact=True)
    for point in points[:3]:
        expected = solve_landuse(scenario.with_overrides(point.overrides))
        row = serial.set_index("point_id").loc[point.point_id]
        assert row["numeric_afforested_area_10k_ha"] == expected.numeric_afforested_area_10k_ha
        assert row["classes_afforested_area_10k_ha"] == expected.classes_afforested_area_10k_ha


def test_allow_nonoptimal_turns_a_failed_point_into_a_suspect_one(monkeypatch, tmp_path, capsys):
    """A curves NLP stopped by its iteration limit: an error row by default, a suspect row (with the reason,
    kept on resume) with --allow-nonoptimal; the summary line counts both kinds."""
    import dataclasses

    import afforest.chain.landuse
    from afforest.cli import main
    from afforest.solvers import SolverStatus

    original = afforest.chain.landuse.solve

    def stopped_early(model, *args, **kwargs):
        result = original(model, *args, **kwargs)
        if model.name == "afforest_curves":
            return dataclasses.replace(result, status=SolverStatus.ITERATION_LIMIT, termination="iterationLimit")
        return result

    monkeypatch.setattr(afforest.chain.landuse, "solve", stopped_early)
    scenario = tmp_path / "short.toml"
    scenario.write_text('extends = "baseline"\n[numerics]\nhorizon_yr = 60.0\nstep_yr = 2.0\n')
    out = tmp_path / "out"
    args = ["sweep", str(scenario), "--set", "financial_discount_rate=0.05", "--output", str(out), "--workers", "1", "--quiet"]
    assert main(args) == 1
    stdout = capsys.readouterr().out
    assert "1 points: 0 ok, 0 suspect, 1 failed" in stdout and "iteration_limit" in stdout
    assert main([*args, "--allow-nonoptimal"]) == 0
    stdout = capsys.readouterr().out
    assert "1 points: 0 ok, 1 suspect, 0 failed" in stdout
    frame, _ = load_results(out)
    assert frame["status"].tolist() == ["suspect"] and frame["curves_status"].tolist() == ["iteration_limit"]
    assert "iteration_limit" in frame["suspect_reasons"].iloc[0] or "optimum" in frame["suspect_reasons"].iloc[0]


def test_a_point_after_an_extreme_one_gives_what_afforest_solve_gives():
    """At r = 0.3 solve_models holds the late tail (rates fixed at 0, solved again, freed); the classes QP's HiGHS
    session then solved later points differently from a fresh load (r = 0.2: 9e-8 relative). Such a session is
    now dropped after the point (the Pyomo models are still re-used), so re-used models give a fresh build's
    numbers; points that hold nothing keep their session (it stays exact and saves 0.5 s a point)."""
    scenario = load_scenario("discount_sweep").with_overrides({"numerics.horizon_yr": 80.0, "numerics.step_yr": 2.0})
    frame = run_sweep(scenario, grid_points({"financial_discount_rate": [0.3, 0.2, 0.07]}), workers=1, progress=False, reuse=True)
    assert frame["models_reused"].iloc[1:].all()
    for row in frame.itertuples():
        expected = solve_landuse(scenario.with_overrides({"landuse.financial_discount_rate": row.financial_discount_rate}))
        assert row.status == expected.status
        assert row.numeric_afforested_area_10k_ha == expected.numeric_afforested_area_10k_ha
        assert row.classes_afforested_area_10k_ha == expected.classes_afforested_area_10k_ha


@pytest.mark.unit
def test_carbon_target_marginal_cost_columns_only_where_a_target_binds() -> None:
    from afforest.chain.sweep import carbon_target_columns

    prices = [
        {"representation": "curves", "constraint": "carbon_target.carbon_target", "index": None, "value": -993.5},
        {"representation": "classes", "constraint": "carbon_target.carbon_target", "index": None, "value": None},
        {"representation": "classes", "constraint": "planting_cap.annual_planting_cap", "index": 3, "value": -2.0},
    ]
    assert carbon_target_columns(prices) == {"carbon_target_marginal_cost_curves_yuan_per_t_co2": 993.5}
    assert carbon_target_columns(prices[2:]) == {}


@pytest.mark.unit
def test_points_are_built_without_the_design_sections() -> None:
    """A sweep's points carry no [sweep]/[sensitivity] design (not part of the scenario: same digest)."""
    from afforest.chain.sweep import without_designs

    shipped = load_scenario("sensitivity")
    bare = without_designs(shipped)
    assert bare.digest() == shipped.digest() and bare.name == shipped.name
    assert not bare.sensitivity.inputs and shipped.sensitivity.inputs
    assert bare.with_overrides({"landuse.financial_discount_rate": 0.04}).digest() == \
        shipped.with_overrides({"landuse.financial_discount_rate": 0.04}).digest()


@pytest.mark.unit
def test_progress_rows_are_flushed_each_and_fsynced_at_most_every_interval(tmp_path, monkeypatch) -> None:
    """The driver's write policy (chain/sweep.py docstring): every row reaches progress.jsonl as it arrives, while
    fsync runs at most once per FSYNC_INTERVAL_S plus once at the end."""
    import os

    import afforest.chain.sweep as sweep

    synced: list[int] = []
    lines_at_row: list[int] = []
    progress = tmp_path / "out" / sweep.PROGRESS_FILE

    def fake_point(base_json, point, reuse=True, allow_nonoptimal=False, engine="pyomo"):  # type: ignore[no-untyped-def]
        lines_at_row.append(progress.read_text().count("\n") if progress.exists() else 0)
        scenario = sweep.Scenario.model_validate_json(base_json).with_overrides(point.overrides)
        return {"point_id": point.point_id, "status": "ok", "scenario_hash": scenario.digest(), "x": 1.0}

    monkeypatch.setattr(sweep, "solve_point", fake_point)
    monkeypatch.setattr(sweep.os, "fsync", lambda fd: synced.append(os.fstat(fd).st_ino))  # which file
    monkeypatch.setattr(sweep, "FSYNC_INTERVAL_S", 3600.0)
    points = sweep.grid_points({"landuse.financial_discount_rate": [0.03 + 0.001 * i for i in range(12)]})
    sweep.run_sweep(load_scenario("baseline"), points, tmp_path / "out", workers=1, progress=False)
    assert lines_at_row == list(range(12))  # each earlier row was in the file before the next point started
    assert synced.count(progress.stat().st_ino) == 1  # the interval never elapsed: only the final fsync


@pytest.mark.unit
def test_row_shadow_prices_are_the_solve_list_without_its_zeros() -> None:
    """The row's shadow_prices_json (compact: one record per constraint, its non-zero entries) expands back to
    solve --json's list: lossless, and the cap's per-period prices of both programs are there."""
    from afforest.chain.stages import run_chain

    lu = run_chain(load_scenario("planting_capacity"), engine="fast", until="landuse").landuse
    compact = json.loads(json.dumps(compact_shadow_prices(lu.shadow_prices)))
    assert {r["representation"] for r in compact} == {"curves", "classes"}
    expanded = []
    for record in compact:
        values = dict(zip(record["index"], record["value"]))
        assert 0 < len(values) < record["count"]  # the cap binds early, not in every period
        expanded += [{"representation": record["representation"], "constraint": record["constraint"], "index": k,
                      "value": values.get(k, 0.0), "unit": record["unit"]} for k in range(record["count"])]
    key = lambda p: (p["representation"], p["constraint"], p["index"])  # noqa: E731
    assert sorted(expanded, key=key) == sorted(({**p, "value": float(p["value"])} for p in lu.shadow_prices), key=key)


@pytest.mark.unit
def test_batch_size_follows_the_cost_of_a_point() -> None:
    """Pool tasks carry ~BATCH_TARGET_S of work: one slow (Pyomo) point, a dozen fast ones, never more than MAX_BATCH,
    one while nothing is known."""
    from afforest.chain.sweep import BATCH_TARGET_S, MAX_BATCH, batch_size

    assert batch_size(None) == batch_size(float("nan")) == batch_size(0.0) == 1
    assert batch_size(0.4) == 1 and batch_size(BATCH_TARGET_S) == 1
    assert batch_size(0.02) == int(BATCH_TARGET_S // 0.02) == 12
    assert batch_size(1e-7) == MAX_BATCH
