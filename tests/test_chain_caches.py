"""The per-process caches of the chain (inputs, Eq. 3's roots) and the sweep row's table-free chain give the same
answers as computing everything afresh; a changed key is never served a stale value."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from afforest.chain.bundle import load_bundle
from afforest.errors import InputError
from afforest.chain.inputs import (
    cached_landuse_classes,
    clear_input_caches,
    equivalent_factor_esv,
    resolve_inputs,
)
from afforest.chain.results import path_summary
from afforest.chain.row_stages import clear_row_caches, power_benchmarks, supply_totals
from afforest.chain.stages import CHAIN_STAGE_NAMES, cost_effectiveness_stage, run_chain, supply_curve_stage
from afforest.chain.sweep import chain_outputs, load_results
from afforest.model.carbon import RichardsGrowth, cohort_sink, cumulative_sink, per_hectare_totals
from afforest.model.carbon_schedule import (
    clear_carbon_caches,
    per_hectare_pool_totals_t_co2,
    planted_sink_mt_co2,
    planting_schedule_t_co2_per_ha,
)
from afforest.scenarios.outputs import cost_effective_area_column, rate_column
from afforest.model.esv import EquivalentFactorInputs, esv_table
from afforest.model.merit_order import landuse_classes
from afforest.model.steady_state import clear_roots_cache, long_run_afforested_area, steady_state_roots
from afforest.scenarios import load_scenario

REL = 1e-12
"""The issue's bar: a cache or the table-free chain changes no reported number beyond 1e-12 relative."""


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return a == b or abs(a - b) <= REL * max(abs(a), abs(b))
    return a == b


def test_roots_cached_equal_fresh_and_keyed_by_tau() -> None:
    params = load_bundle().landuse_parameters
    clear_roots_cache()
    fresh = steady_state_roots(params, 42265.0)
    again = steady_state_roots(params, 42265.0)  # served from the cache
    assert again == fresh and again is not fresh
    other = steady_state_roots(params, 60000.0)
    clear_roots_cache()
    assert other == steady_state_roots(params, 60000.0)
    assert [r.afforested_area_10k_ha for r in other] != [r.afforested_area_10k_ha for r in fresh]
    changed = params.replace(financial_discount_rate=0.04)  # another key: not the cached roots
    assert steady_state_roots(changed, 42265.0) != fresh


def test_long_run_area_cached_equal_fresh() -> None:
    params = load_bundle().landuse_parameters
    clear_roots_cache()
    fresh = [float(long_run_afforested_area(params, None, tau)[0]) for tau in (42265.0, 60000.0)]
    fresh_array = long_run_afforested_area(params, None, [42265.0, 60000.0])  # not cached: arrays
    cached = [float(long_run_afforested_area(params, None, tau)[0]) for tau in (42265.0, 60000.0)]
    assert cached == fresh == fresh_array.tolist() and fresh[0] != fresh[1]
    assert float(long_run_afforested_area(params.replace(financial_discount_rate=0.04))[0]) != fresh[0]


def test_esv_cache_equals_fresh_and_is_keyed_by_region() -> None:
    default = load_bundle()
    example = load_bundle(None, "example_basin")
    clear_input_caches()
    cached = equivalent_factor_esv(None, None, default)
    pd.testing.assert_frame_equal(cached, esv_table(*EquivalentFactorInputs(region=default.region).resolve()))
    cached.loc[0, "esv_yuan_per_ha_yr"] = -1.0  # a caller's change does not reach the cache
    pd.testing.assert_frame_equal(equivalent_factor_esv(None, None, default),
                                  esv_table(*EquivalentFactorInputs(region=default.region).resolve()))
    other = equivalent_factor_esv(None, None, example)  # the default's table is cached: not served here
    pd.testing.assert_frame_equal(other, esv_table(*EquivalentFactorInputs(region=example.region).resolve()))


@pytest.mark.parametrize("rule", ["curve_average", "province_forest_esv"])
def test_classes_cache_equals_fresh(rule: str) -> None:
    bundle = load_bundle()
    params = bundle.landuse_parameters
    clear_input_caches()
    first = cached_landuse_classes(bundle.afforestable_area, bundle.esv, params, rule, None)
    pd.testing.assert_frame_equal(first, landuse_classes(bundle.afforestable_area, bundle.esv, params, rule=rule))
    first["esv_yuan_per_ha_yr"] = 0.0
    second = cached_landuse_classes(bundle.afforestable_area, bundle.esv, params, rule, None)
    pd.testing.assert_frame_equal(second, landuse_classes(bundle.afforestable_area, bundle.esv, params, rule=rule))
    changed = params.replace(afforested_esv_coefficients=tuple(1.1 * c for c in params.afforested_esv_coefficients))
    pd.testing.assert_frame_equal(cached_landuse_classes(bundle.afforestable_area, bundle.esv, changed, rule, None),
                                  landuse_classes(bundle.afforestable_area, bundle.esv, changed, rule=rule))


@pytest.mark.parametrize("esv_source", ["equivalent_factors", "table3"])
def test_resolved_inputs_cached_equal_uncached(esv_source: str) -> None:
    scenario = load_scenario("baseline").with_overrides({"landuse.esv_source": esv_source})
    clear_input_caches()
    fresh = resolve_inputs(scenario)
    cached = resolve_inputs(scenario)
    pd.testing.assert_frame_equal(cached.classes, fresh.classes)
    assert cached.params == fresh.params


POINTS = [
    {},
    {"landuse.financial_discount_rate": 0.04, "landuse.esv_source": "table3",
     "classes.post_planting_rule": "province_forest_esv"},
    {"carbon.carbon_discount_rate": 0.05, "policy.carbon_price_yuan_per_t_co2": 60.0,
     "landuse.opportunity_cost_share": 0.7},
    {"policy.annual_planting_cap_10k_ha_per_yr": 12.0, "landuse.planting_cost_intercept_yuan_per_ha": 50000.0},
]


@pytest.mark.parametrize("region", [None, "example_basin"])  # the example basin grows its carbon by zone
@pytest.mark.parametrize("overrides", POINTS)
def test_row_only_chain_equals_full_chain(overrides: dict[str, object], region: str | None) -> None:
    scenario = load_scenario("baseline")
    scenario = (scenario if region is None else scenario.with_region(region)).with_overrides(overrides)
    chain = run_chain(scenario, engine="fast")
    full = chain_outputs(chain)
    # the new columns are the full chain's own tables' numbers: the cost-effectiveness table, the carbon table
    for rate in chain.bundle.carbon_discount_rates:
        table = chain.cost_effectiveness.table
        for benchmark, price in power_benchmarks(chain.bundle).items():
            ce = table[(table["carbon_discount_rate"] == rate) & (table["benchmark"] == benchmark)]
            assert float(ce["price_yuan_per_t_co2"].iloc[0]) == price
            assert full[cost_effective_area_column(benchmark, rate)] == float(ce["area_10k_ha"].iloc[0])
        assert full[rate_column("planned_path_sink", rate, "mt_co2")] == chain.carbon.total_mt_co2("planned_path", rate)
        assert full[rate_column("desirable_carbon", rate, "mt_co2")] == chain.supply.at(rate)["carbon_mt_co2"]
    for rep, path in (("curves", chain.landuse.curves_path), ("classes", chain.landuse.classes_path)):
        summary = path_summary(path, float(scenario.numerics.step_yr))  # the row's milestones, computed on arrays
        assert [full[f"years_to_{pct}pct_{rep}"] for pct in (50, 90)] == [summary[f"years_to_{pct}pct"] for pct in (50, 90)]
    clear_input_caches()
    clear_roots_cache()
    clear_row_caches()
    rows = [chain_outputs(run_chain(scenario, engine="fast", tables=False)) for _ in range(2)]  # fresh, then cached
    for row in rows:
        assert row.keys() == full.keys()
        different = {k: (row[k], full[k]) for k in row if k not in ("curves_solve_s", "classes_solve_s")
                     and not _same(row[k], full[k])}
        assert not different


def test_row_only_chain_has_no_tables() -> None:
    timings: dict[str, float] = {}
    chain = run_chain(load_scenario("baseline"), engine="fast", tables=False, timings=timings)
    # the chain times its own stages for bench/fast_path.py: the row-only chain has no cost-effectiveness table
    assert list(timings) == list(CHAIN_STAGE_NAMES[:-1]) and all(v >= 0 for v in timings.values())
    with pytest.raises(InputError, match="tables=True"):
        chain.tables()
    with pytest.raises(InputError, match="planned_path alone"):
        chain.carbon.total_mt_co2("year0", 0.0)
    with pytest.raises(InputError, match="no carbon at this r_c"):
        chain.carbon.total_mt_co2("planned_path", 0.02)


def test_carbon_schedules_cached_equal_fresh_and_keyed_by_value() -> None:
    """The per-hectare schedule and totals: a cached answer equals a fresh one, a changed parameter, rate or step is
    never served the cached value, and a caller's change to a returned array does not reach the cache."""
    params = load_bundle().carbon_parameters
    clear_carbon_caches()
    totals = per_hectare_pool_totals_t_co2(params, 0.05)
    assert totals.tolist() == per_hectare_totals(params, 0.05).tolist()
    totals[:] = -1.0
    assert per_hectare_pool_totals_t_co2(params, 0.05).tolist() == per_hectare_totals(params, 0.05).tolist()
    first = planting_schedule_t_co2_per_ha(params, 0.05, 1.0)
    first[:] = 0.0
    second = planting_schedule_t_co2_per_ha(params, 0.05, 1.0)
    assert (second > 0).all()
    for changed, rate, step in ((params.replace(survival_rate=0.5 * params.survival_rate), 0.05, 1.0),
                                (params.replace(growth=RichardsGrowth(200.0, 0.05, 2.0)), 0.05, 1.0),
                                (params, 0.0, 1.0), (params, 0.05, 0.5)):
        cached = planting_schedule_t_co2_per_ha(changed, rate, step)
        clear_carbon_caches()
        assert cached.tolist() == planting_schedule_t_co2_per_ha(changed, rate, step).tolist()
        assert cached.size != second.size or not np.allclose(cached, second)
    # the schedule's dot product is cohort_sink's total over the horizon
    path = pd.DataFrame({"period_start_yr": [0.0, 3.0, 17.0], "planted_area_10k_ha": [2.0, 5.0, 1.5]})
    sink = cumulative_sink(cohort_sink(path, params, 0.05), params.horizon_yr)
    total = planted_sink_mt_co2(path["period_start_yr"].to_numpy(), path["planted_area_10k_ha"].to_numpy(), params,
                                (0.05,), 1.0)[0.05]
    assert _same(total, float(sink["discounted_sink_mt_co2"].sum()))


def test_supply_and_benchmarks_keyed_by_the_data() -> None:
    """Changed direct costs or power technologies (same bundle otherwise) are not served the cached present value or
    prices: the row-only supply curve and benchmarks follow the full stages on the changed data."""
    bundle = load_bundle()
    chain = run_chain(load_scenario("baseline"), engine="fast", tables=False, bundle=bundle)
    base = chain.supply.at(0.0)
    costs = bundle.direct_costs.copy()
    costs["cost_yuan_per_ha_yr"] = 1.3 * costs["cost_yuan_per_ha_yr"]
    technologies = bundle.power_technologies.copy()
    technologies["generation_cost_yuan_per_mwh"] = 2.0 * technologies["generation_cost_yuan_per_mwh"]
    changed = dataclasses.replace(bundle, direct_costs=costs, power_technologies=technologies)
    inputs, lu = chain.inputs, chain.landuse
    full = supply_curve_stage(inputs.classes, inputs.params.financial_discount_rate, lu.headline_afforested_area_10k_ha,
                              run_chain(load_scenario("baseline"), engine="fast", until="carbon", bundle=changed).carbon,
                              changed)
    fast = supply_totals(inputs.classes, inputs.params.financial_discount_rate, lu.headline_afforested_area_10k_ha,
                         chain.carbon, changed)
    for rate in (0.0, 0.05):
        assert all(_same(fast.at(rate)[k], v) for k, v in full.at(rate).items())
    assert fast.at(0.0)["average_cost_yuan_per_t_co2"] != base["average_cost_yuan_per_t_co2"]
    ce = cost_effectiveness_stage(full, changed)
    assert power_benchmarks(changed) == {k: v for k, v in ce.benchmarks.items()}
    assert power_benchmarks(changed) != power_benchmarks(bundle)


def test_engine_is_part_of_the_sweep_identity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from afforest.chain.sweep_output import sweep_identity
    from afforest.cli import main

    base = load_scenario("baseline")
    digests = {0: "a", 1: "b"}
    pyomo = sweep_identity(base, digests)
    assert pyomo == sweep_identity(base, digests, "pyomo")  # folders written before the engine was recorded
    assert len({pyomo, sweep_identity(base, digests, "fast"), sweep_identity(base, digests, "auto")}) == 3
    out = tmp_path / "out"
    args = ["sweep", "baseline", "--set", "financial_discount_rate=0.04,0.05", "--output", str(out), "--workers", "1",
            "--quiet"]
    assert main([*args, "--engine", "fast"]) == 0
    frame, _ = load_results(out)
    assert frame["landuse_path"].tolist() == ["fast", "fast"]
    assert json.loads((out / "sweep.json").read_text())["engine"] == "fast"
    capsys.readouterr()
    with pytest.raises(InputError, match="different sweep"):  # a resumed run never mixes engines
        run_sweep_again(out, "auto")


def run_sweep_again(out: Path, engine: str) -> None:
    """The sweep of the test above on another engine, in this process (the CLI would turn the error into a message)."""
    from afforest.chain.sweep import grid_points, run_sweep

    run_sweep(load_scenario("baseline"), grid_points({"landuse.financial_discount_rate": [0.04, 0.05]}), out,
              workers=1, progress=False, engine=engine)


@pytest.mark.parametrize("overrides", POINTS)
def test_row_summary_equals_the_json_summary(overrides: dict[str, object]) -> None:
    from afforest.chain.sweep import row_summary

    lu = run_chain(load_scenario("baseline").with_overrides(overrides), engine="fast", until="landuse").landuse
    full, row = lu.to_dict(), row_summary(lu)
    for key, value in row.items():
        if key == "analytic_roots":
            assert value == [{k: r[k] for k in ("afforested_area_10k_ha", "stability")} for r in full[key]]
        elif key == "pontryagin":
            assert value == {rep: {"max_residual": c["max_residual"]} for rep, c in full[key].items()}
        else:
            assert value == full[key], key


def test_a_row_of_stages_assembled_at_the_scenarios_rate_alone() -> None:
    """A caller's own stages at the scenario's r_c alone (bench/fast_path.py's way): the row computes the other rates'
    columns with the row-only stages, and equals run_chain's row."""
    from afforest.chain.stages import carbon_stage

    scenario = load_scenario("baseline").with_overrides({"carbon.carbon_discount_rate": 0.03})
    chain = run_chain(scenario, engine="fast", tables=False)
    expected = chain_outputs(chain)
    chain.carbon = carbon_stage(chain.landuse, chain.bundle, (0.03,), 0.03, plantings=("planned_path",), by_class=False)
    chain.supply = supply_curve_stage(chain.inputs.classes, chain.inputs.params.financial_discount_rate,
                                      chain.landuse.headline_afforested_area_10k_ha, chain.carbon, chain.bundle)
    row = chain_outputs(chain)
    assert row.keys() == expected.keys()
    assert all(_same(row[k], expected[k]) for k in row if not k.endswith("_solve_s"))


def test_zone_growths_keyed_by_the_tables_content() -> None:
    from afforest.model.carbon import growth_of
    from afforest.model.carbon_schedule import growths_of

    bundle = load_bundle(None, "example_basin")
    table, default = bundle.growth_by_zone, bundle.carbon_parameters.growth
    keys = [("scrubland", "lower_basin"), ("grassland", "upper_basin"), ("grassland", "nowhere")]
    assert growths_of(table, default, keys) == [growth_of(table, default, *k) for k in keys]
    changed = table.copy()
    changed["richards_rate_per_yr"] = 0.5 * changed["richards_rate_per_yr"]
    assert growths_of(changed, default, keys) == [growth_of(changed, default, *k) for k in keys]
    assert growths_of(changed, default, keys)[:2] != growths_of(table, default, keys)[:2]


def test_a_growth_that_cannot_be_hashed_is_computed_uncached() -> None:
    from dataclasses import dataclass as plain_dataclass

    @plain_dataclass  # eq without frozen: unhashable
    class Sqrt:
        scale: float

        def volume_m3_per_ha(self, age_yr):  # type: ignore[no-untyped-def]
            return self.scale * np.sqrt(np.asarray(age_yr, dtype=float))

    params = load_bundle().carbon_parameters.replace(growth=Sqrt(20.0))
    path = pd.DataFrame({"period_start_yr": [0.0, 5.0], "planted_area_10k_ha": [1.0, 2.0]})
    total = planted_sink_mt_co2(path["period_start_yr"].to_numpy(), path["planted_area_10k_ha"].to_numpy(), params,
                                (0.0, 0.05), 1.0)
    for rate in (0.0, 0.05):
        expected = float(cumulative_sink(cohort_sink(path, params, rate), params.horizon_yr)["discounted_sink_mt_co2"].sum())
        assert _same(total[rate], expected)
    assert per_hectare_pool_totals_t_co2(params, 0.05).tolist() == per_hectare_totals(params, 0.05).tolist()
