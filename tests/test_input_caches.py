"""resolve_inputs' caches and fast paths give the same Inputs as computing afresh, point after point.

A sweep resolves thousands of points in one process: the ESV table, the merit-order classes and the bundle are
served from caches keyed by value (the tables' content, the files' identity and version), and the classes'
transforms and units are computed on arrays. Every field must equal a fresh computation's, whatever was resolved
before, including the keys that change the result (region, r, tau(0), the opportunity-cost share, the ESV source,
the post-planting rule, the carbon price and its growth, the cap, the class size, excluded provinces).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from afforest.chain.bundle import load_bundle, stat_key
from afforest.chain.inputs import (
    Inputs,
    cached_landuse_classes,
    clear_input_caches,
    equivalent_factor_esv,
    resolve_inputs,
    scenario_bundle,
)
from afforest.data import data_path
from afforest.errors import InputError
from afforest.model.carbon import per_hectare_totals
from afforest.model.esv import EquivalentFactorInputs, esv_table
from afforest.model.formulations import exclude_provinces
from afforest.model.merit_order import landuse_classes
from afforest.model.problem import UNIT_ARRAY_PROPERTIES, LandUseProblem
from afforest.scenarios import Scenario, load_scenario

POINTS: list[tuple[str | None, dict[str, Any]]] = [
    (None, {}),
    (None, {"landuse.financial_discount_rate": 0.04}),
    (None, {"landuse.planting_cost_intercept_yuan_per_ha": 50000.0}),
    (None, {"landuse.opportunity_cost_share": 0.7}),
    (None, {"landuse.opportunity_cost_share": 0.7, "landuse.esv_source": "table3"}),
    (None, {"landuse.esv_source": "table3", "classes.post_planting_rule": "province_forest_esv"}),
    (None, {"classes.post_planting_rule": "province_forest_esv"}),
    (None, {"policy.carbon_price_yuan_per_t_co2": 60.0}),
    (None, {"policy.carbon_price_yuan_per_t_co2": 60.0, "policy.carbon_price_growth_rate_per_yr": 0.02}),
    (None, {"policy.carbon_price_yuan_per_t_co2": 60.0, "landuse.financial_discount_rate": 0.04}),
    (None, {"policy.carbon_price_yuan_per_t_co2": 60.0, "carbon.loss_hazard_per_yr": 0.01}),
    (None, {"policy.annual_planting_cap_10k_ha_per_yr": 12.0}),
    (None, {"classes.max_class_area_10k_ha": 40.0}),
    (None, {"policy.excluded_provinces": ["Gansu"]}),
    ("example_basin", {}),
    ("example_basin", {"landuse.opportunity_cost_share": 0.7, "landuse.financial_discount_rate": 0.04}),
]
"""Each point differs from its neighbours in keys that change the Inputs."""


def _scenario(region: str | None, overrides: dict[str, Any]) -> Scenario:
    base = load_scenario("baseline")
    return (base if region is None else base.with_region(region)).with_overrides(overrides)


def _assert_same_inputs(got: Inputs, expected: Inputs) -> None:
    assert got.scenario == expected.scenario
    assert got.params == expected.params
    assert got.grid == expected.grid
    pd.testing.assert_frame_equal(got.classes, expected.classes, check_exact=True)
    assert got.carbon_pv_t_co2_per_ha == expected.carbon_pv_t_co2_per_ha
    assert dict(got.switch_extra) == dict(expected.switch_extra)
    assert got.effective_planting_cost_yuan_per_ha == expected.effective_planting_cost_yuan_per_ha


def _reference_classes(scenario: Scenario, inputs: Inputs, esv_tables: dict[Any, pd.DataFrame]) -> pd.DataFrame:
    """The classes as the chain defines them, built here without the chain's caches: the merit order of the
    (filtered) area and the ESV source's table (``esv_tables``: this test's own, by region), then the current ESV
    scaled by the opportunity-cost share as a Series."""
    bundle = scenario_bundle(scenario)
    area = bundle.afforestable_area
    if scenario.policy.excluded_provinces:
        area = exclude_provinces(area, scenario.policy.excluded_provinces)
    esv = bundle.esv
    if scenario.landuse.esv_source == "equivalent_factors":
        region = scenario.inputs.region
        if region not in esv_tables:
            esv_tables[region] = esv_table(*EquivalentFactorInputs(region=bundle.region).resolve())
        esv = esv_tables[region]
    classes = landuse_classes(area, esv, inputs.params, rule=scenario.classes.post_planting_rule,
                              max_class_area_10k_ha=scenario.classes.max_class_area_10k_ha)
    share = scenario.landuse.opportunity_cost_share
    return classes if share == 1 else classes.assign(esv_yuan_per_ha_yr=classes["esv_yuan_per_ha_yr"] * share)


@pytest.mark.unit
def test_resolved_inputs_equal_fresh_whatever_was_resolved_before() -> None:
    scenarios = [_scenario(region, overrides) for region, overrides in POINTS]
    clear_input_caches()
    first, esv_tables = [], {}
    for scenario in scenarios:  # the classes against the cache-free reference; the rest has no cache
        first.append(resolve_inputs(scenario))
        pd.testing.assert_frame_equal(first[-1].classes, _reference_classes(scenario, first[-1], esv_tables),
                                      check_exact=True)
    for i in reversed(range(len(scenarios))):  # warm caches, other neighbours
        _assert_same_inputs(resolve_inputs(scenarios[i], scenario_bundle(scenarios[i])), first[i])
    clear_input_caches()
    _assert_same_inputs(resolve_inputs(scenarios[-1]), first[-1])
    # the points do differ where their keys say they should: a cache that ignored one would fail above
    assert first[1].params != first[0].params and first[2].params != first[0].params
    for i in (3, 4, 5, 6, 12, 13, 14):
        assert not first[i].classes.equals(first[0].classes)
    assert first[7].carbon_pv_t_co2_per_ha > 0 and first[8].switch_extra and not first[7].switch_extra
    carbon_values = [first[i].carbon_pv_t_co2_per_ha for i in (7, 9, 10)]  # r and the carbon section are keys
    assert len(set(carbon_values)) == 3
    for i in (9, 10):
        scenario = scenarios[i]
        carbon = scenario.carbon.parameters(scenario_bundle(scenario).carbon_parameters)
        rate = first[i].params.financial_discount_rate
        assert first[i].carbon_pv_t_co2_per_ha == float(per_hectare_totals(carbon, rate).sum())


@pytest.mark.unit
def test_a_callers_change_of_resolved_classes_reaches_no_later_point() -> None:
    scenario = _scenario(None, {"landuse.opportunity_cost_share": 0.7})
    clear_input_caches()
    first = resolve_inputs(scenario)
    expected = first.classes.copy()
    first.classes["esv_yuan_per_ha_yr"] = -1.0
    first.classes.loc[0, "area_10k_ha"] = -1.0
    pd.testing.assert_frame_equal(resolve_inputs(scenario).classes, expected, check_exact=True)
    unscaled = resolve_inputs(_scenario(None, {})).classes  # no transform copies it on the way out
    expected = unscaled.copy()
    unscaled["afforested_esv_yuan_per_ha_yr"] = 0.0
    pd.testing.assert_frame_equal(resolve_inputs(_scenario(None, {})).classes, expected, check_exact=True)


@pytest.mark.unit
def test_classes_cache_is_keyed_by_the_tables_content_and_dtypes() -> None:
    bundle = load_bundle()
    params = bundle.landuse_parameters
    clear_input_caches()
    cached_landuse_classes(bundle.afforestable_area, bundle.esv, params, "curve_average", None)
    changed = bundle.afforestable_area.copy()
    changed.loc[changed["area_10k_ha"].idxmax(), "area_10k_ha"] += 1.0  # same shape, one number differs
    pd.testing.assert_frame_equal(cached_landuse_classes(changed, bundle.esv, params, "curve_average", None),
                                  landuse_classes(changed, bundle.esv, params), check_exact=True)
    renamed = bundle.esv.copy()
    renamed.loc[renamed["esv_yuan_per_ha_yr"].idxmin(), "esv_yuan_per_ha_yr"] *= 1 + 1e-12
    pd.testing.assert_frame_equal(cached_landuse_classes(bundle.afforestable_area, renamed, params, "curve_average",
                                                         None),
                                  landuse_classes(bundle.afforestable_area, renamed, params), check_exact=True)
    whole = bundle.afforestable_area.assign(area_10k_ha=bundle.afforestable_area["area_10k_ha"].round())
    integers = whole.assign(area_10k_ha=whole["area_10k_ha"].astype(np.int64))  # equal values, another dtype
    cached_landuse_classes(whole, bundle.esv, params, "curve_average", None)
    pd.testing.assert_frame_equal(cached_landuse_classes(integers, bundle.esv, params, "curve_average", None),
                                  landuse_classes(integers, bundle.esv, params), check_exact=True)


def _units_by_pandas(classes: pd.DataFrame, planting_cost_yuan_per_ha: float) -> pd.DataFrame:
    """from_classes' units table as first written (pandas sort and casts): the reference of the array path."""
    ordered = classes.sort_values(["rank", "slice"])
    return pd.DataFrame({
        "land_type": ordered["land_type"].to_numpy(),
        "province": ordered["province"].to_numpy(),
        "slice": ordered["slice"].astype(int).to_numpy(),
        "area_10k_ha": ordered["area_10k_ha"].astype(float).to_numpy(),
        "esv_yuan_per_ha_yr": ordered["esv_yuan_per_ha_yr"].astype(float).to_numpy(),
        "afforested_esv_yuan_per_ha_yr": ordered["afforested_esv_yuan_per_ha_yr"].astype(float).to_numpy(),
        "planting_cost_yuan_per_ha": np.full(len(ordered), planting_cost_yuan_per_ha),
        "carbon_t_co2_per_ha": np.full(len(ordered), np.nan),
    })


@pytest.mark.unit
@pytest.mark.parametrize("case", ["as_resolved", "shuffled", "sliced_shuffled", "float_rank", "other_index"])
def test_units_from_classes_equal_the_pandas_construction(case: str) -> None:
    overrides = {"classes.max_class_area_10k_ha": 40.0} if case == "sliced_shuffled" else {}
    inputs = resolve_inputs(_scenario(None, overrides))
    classes = inputs.classes
    if case in ("shuffled", "sliced_shuffled", "other_index"):
        classes = classes.sample(frac=1.0, random_state=3)
    if case == "float_rank":  # not the merit order's dtypes: the pandas construction
        classes = classes.sample(frac=1.0, random_state=4).astype({"rank": float, "area_10k_ha": np.float32})
    if case == "other_index":
        classes = classes.set_index(pd.Index(np.arange(len(classes))[::-1] * 7))
    tau0 = inputs.params.planting_cost_intercept_yuan_per_ha
    problem = LandUseProblem.from_classes(classes, inputs.params, inputs.grid, carbon_price_yuan_per_t_co2=60.0)
    pd.testing.assert_frame_equal(problem.units, _units_by_pandas(classes, float(tau0)), check_exact=True)
    assert problem.keys[0][2] == 0 and problem.n_units == len(classes)
    # the unit arrays (given by the array construction, read from the units otherwise) are the units' columns
    lazy = LandUseProblem(problem.units.copy(), "classes", problem.params, problem.grid, 60.0, problem.weights)
    for name, column in UNIT_ARRAY_PROPERTIES.items():
        given = getattr(problem, name)
        np.testing.assert_array_equal(given, problem.units[column].to_numpy(float), strict=True)
        assert not given.flags.writeable
    for name in ("esv_gain_yuan_per_ha_yr", "net_cost_yuan_per_ha"):
        np.testing.assert_array_equal(getattr(problem, name), getattr(lazy, name), strict=True)
    np.testing.assert_array_equal(problem.planting_value(), lazy.planting_value(), strict=True)
    assert problem.baseline_welfare_10e8_yuan == lazy.baseline_welfare_10e8_yuan


@pytest.mark.unit
def test_from_classes_still_refuses_bad_classes() -> None:
    inputs = resolve_inputs(_scenario(None, {}))
    for column, value in (("area_10k_ha", 0.0), ("esv_yuan_per_ha_yr", np.nan),
                          ("afforested_esv_yuan_per_ha_yr", np.nan)):
        bad = inputs.classes.copy()
        bad.loc[3, column] = value
        with pytest.raises(Exception, match="classes need positive areas"):
            LandUseProblem.from_classes(bad, inputs.params, inputs.grid)


@pytest.mark.unit
def test_an_edited_or_replaced_file_is_read_again(tmp_path: Path) -> None:
    folder = tmp_path / "regions" / "basin"
    shutil.copytree(data_path("regions") / "example_basin", folder)
    shutil.copy(data_path("xie2015_equivalents.csv"), tmp_path)  # the manifest's ../../xie2015_equivalents.csv
    first = load_bundle(None, folder)
    assert load_bundle(None, folder) is first
    costs = first.region.file("direct_costs")
    before = stat_key(costs)
    costs.write_text(costs.read_text())  # the same bytes, a new version: read again (and equal)
    os.utime(costs, ns=(before[4] + 1_000_000, before[4] + 1_000_000))
    assert stat_key(costs) != before
    again = load_bundle(None, folder)
    assert again is not first
    pd.testing.assert_frame_equal(again.direct_costs, first.direct_costs)
    esv_before = equivalent_factor_esv(None, None, again)
    standard = again.region.file("standard_equivalent")
    replacement = tmp_path / "standard_equivalent.csv"
    replacement.write_text(standard.read_text().replace("upper_basin,1800", "upper_basin,3600"))
    os.replace(replacement, standard)  # another file at the same path
    changed = load_bundle(None, folder)
    esv_after = equivalent_factor_esv(None, None, changed)
    pd.testing.assert_frame_equal(esv_after, esv_table(*EquivalentFactorInputs(region=changed.region).resolve()))
    assert not esv_after.equals(esv_before)


@pytest.mark.unit
def test_a_passed_area_check_does_not_pass_another_a0() -> None:
    clear_input_caches()
    resolve_inputs(_scenario(None, {}))  # passes: remembered for this table and A0
    for _ in range(2):  # refused every time, the check's verdict for the same table and another A0
        with pytest.raises(InputError, match="sum to"):
            resolve_inputs(_scenario(None, {"landuse.initial_area_10k_ha": 5000.0}))
    resolve_inputs(_scenario(None, {}))
