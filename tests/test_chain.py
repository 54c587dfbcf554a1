"""The chain as code (afforest.chain.stages): stage results that agree with each other and with the model
functions, a result a notebook can explore (tables, writers that read back equal, plots, repr), the docs example,
and the sweep row computed from the chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from afforest.chain.bundle import load_bundle
from afforest.chain.stages import PLANTINGS, ChainResult, run_chain
from afforest.chain.sweep import chain_outputs, welfare_key
from afforest.chain.tables import netcdf_ready, read_netcdf
from afforest.errors import InputError
from afforest.model.carbon import cohort_sink, cumulative_sink, per_hectare_totals, single_cohort
from afforest.model.supply_curve import cost_summary, fill_supply_curve

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "chain.py"


@pytest.fixture(scope="module")
def baseline() -> ChainResult:
    return run_chain("baseline")


@pytest.fixture(scope="module")
def quotas() -> ChainResult:
    return run_chain("province_quotas")


def test_every_stage_is_there_and_typed(baseline: ChainResult):
    assert baseline.status == "ok"
    assert baseline.carbon is not None and baseline.supply is not None and baseline.cost_effectiveness is not None
    assert baseline.bundle is load_bundle()  # the stages got the one bundle of this process
    assert set(baseline.carbon.carbon_discount_rates) == set(baseline.bundle.carbon_discount_rates) | {0.0}
    assert set(baseline.carbon.plantings["planting"]) == set(PLANTINGS)
    assert set(baseline.supply.curves) == set(baseline.carbon.carbon_discount_rates)


def test_the_esv_stage_is_what_the_classes_use(baseline: ChainResult):
    table = baseline.esv.table
    classes = baseline.inputs.classes
    np.testing.assert_array_equal(table["esv_yuan_per_ha_yr"].to_numpy(), classes["esv_yuan_per_ha_yr"].to_numpy())
    assert len(table) == len(classes)


def test_carbon_of_the_planned_path_is_the_classes_programs_cohorts(baseline: ChainResult):
    carbon = baseline.carbon
    planting = baseline.landuse.classes_planting
    inside = planting[planting["period_start_yr"] < carbon.horizon_yr]
    assert carbon.planted_area_10k_ha("planned_path") == pytest.approx(float(inside["planted_area_10k_ha"].sum()), rel=1e-12)
    by_class = carbon.planned_by_class
    for rate in carbon.carbon_discount_rates:
        total = float(by_class[by_class["carbon_discount_rate"] == rate]["discounted_sink_mt_co2"].sum())
        assert total == pytest.approx(carbon.total_mt_co2("planned_path", rate), rel=1e-12)
    # later cohorts grow fewer years by 2060: the path stores less than its area planted in year 0 would
    per_ha = carbon.per_hectare_total_t_co2(0.0)
    assert carbon.total_mt_co2("planned_path", 0.0) < per_ha * carbon.planted_area_10k_ha("planned_path") / 100


def test_year0_carbon_is_the_model_functions(baseline: ChainResult):
    params = baseline.bundle.carbon_parameters
    area = baseline.headline_area_10k_ha
    for rate in baseline.carbon.carbon_discount_rates:
        expected = float(cumulative_sink(cohort_sink(single_cohort(area), params, rate), params.horizon_yr)["discounted_sink_mt_co2"].sum())
        assert baseline.carbon.total_mt_co2("year0", rate) == pytest.approx(expected, rel=1e-13)
        assert baseline.carbon.per_hectare_total_t_co2(rate) == pytest.approx(float(per_hectare_totals(params, rate).sum()), rel=1e-13)


def test_the_supply_summary_supplies_the_plans_area(baseline: ChainResult):
    for rate, curve in baseline.supply.curves.items():
        expected = cost_summary(fill_supply_curve(curve, baseline.headline_area_10k_ha))
        assert baseline.supply.at(rate) == pytest.approx({"carbon_discount_rate": rate, **expected}, rel=1e-13)
    cheaper = baseline.cost_effectiveness.table
    for row in cheaper.itertuples():
        curve = baseline.supply.curves[row.carbon_discount_rate]
        assert row.area_10k_ha == pytest.approx(float(curve.loc[curve["marginal_cost_yuan_per_t_co2"] <= row.price_yuan_per_t_co2, "area_10k_ha"].sum()))


def test_welfare_terms_sum_to_the_objective(baseline: ChainResult):
    for rep, total in baseline.landuse.welfare_10e8_yuan.items():
        terms = baseline.welfare_terms_10e8_yuan[rep]
        assert len(terms) >= 4
        assert sum(terms.values()) == pytest.approx(total, rel=1e-9)


def test_a_scenario_changes_what_it_should(baseline: ChainResult, quotas: ChainResult):
    urgent = run_chain("urgent")
    # r_c only changes the carbon report: same land use, the headline carbon at 5 %
    assert urgent.headline_area_10k_ha == pytest.approx(baseline.headline_area_10k_ha, rel=1e-12)
    assert urgent.carbon.scenario_rate == 0.05
    assert urgent.planned_carbon_mt_co2 == pytest.approx(baseline.carbon.total_mt_co2("planned_path", 0.05), rel=1e-9)
    assert urgent.planned_carbon_mt_co2 < baseline.planned_carbon_mt_co2
    # quotas cap the provinces: the classes plan is the headline, smaller, and stores less
    assert quotas.landuse.headline_representation == "classes"
    assert quotas.headline_area_10k_ha < baseline.headline_area_10k_ha
    assert quotas.planned_carbon_mt_co2 < baseline.planned_carbon_mt_co2


def test_tables_are_tidy_and_read_back_equal_from_every_writer(quotas: ChainResult, tmp_path: Path):
    tables = quotas.tables()
    for name in ("summary", "esv", "allocation", "planting_path", "planting_by_class", "welfare", "carbon_yearly",
                 "carbon_cumulative", "carbon_planned_by_class", "supply_curve", "cost_effectiveness", "power_sector"):
        assert name in tables and not tables[name].empty, name
    assert set(tables["carbon_yearly"]["planting"]) == set(PLANTINGS)
    written = quotas.to_csv(tmp_path / "csv")
    assert sorted(p.stem for p in written) == sorted(tables)
    back = pd.read_csv(tmp_path / "csv" / "carbon_cumulative.csv")
    np.testing.assert_allclose(back["discounted_sink_mt_co2"], tables["carbon_cumulative"]["discounted_sink_mt_co2"], rtol=1e-15)
    quotas.to_parquet(tmp_path / "parquet")
    path = quotas.to_netcdf(tmp_path / "chain.nc")
    from_netcdf = read_netcdf(path)
    assert list(from_netcdf) == list(tables)
    for name, frame in tables.items():
        ready = netcdf_ready(frame)
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "parquet" / f"{name}.parquet"), ready, check_dtype=False)
        pd.testing.assert_frame_equal(from_netcdf[name], ready, check_dtype=False)


def test_the_netcdf_comparison_can_fail(quotas: ChainResult, tmp_path: Path):
    tables = quotas.tables()
    back = read_netcdf(quotas.to_netcdf(tmp_path / "chain.nc"))
    changed = netcdf_ready(tables["welfare"]).assign(welfare_10e8_yuan=lambda f: f["welfare_10e8_yuan"] * (1 + 1e-9))
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(back["welfare"], changed, check_dtype=False, check_exact=True)


def test_repr_says_scenario_status_area_carbon_and_cost(quotas: ChainResult):
    text = repr(quotas)
    assert "province_quotas" in text and "status='ok'" in text
    assert f"{quotas.headline_area_10k_ha:.2f} x 10^4 ha" in text
    assert f"{quotas.planned_carbon_mt_co2:.2f} Mt CO2" in text
    assert f"{quotas.average_cost_yuan_per_t_co2:.2f} yuan/t CO2" in text


def test_plot_methods_return_figures(quotas: ChainResult):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for draw in (quotas.plot_path, quotas.plot_allocation, quotas.plot_carbon, quotas.plot_supply_curve):
        fig = draw()
        assert fig.axes, draw.__name__
        plt.close(fig)


def test_the_sweep_row_is_the_chains(baseline: ChainResult):
    row = chain_outputs(baseline)
    for rep, terms in baseline.welfare_terms_10e8_yuan.items():
        for term, value in terms.items():
            assert row[welfare_key(rep, term)] == value
    assert row["planned_path_sink_mt_co2"] == baseline.carbon.total_mt_co2("planned_path", 0.0)
    assert row["years_to_50pct_classes"] <= row["years_to_90pct_classes"]
    json.dumps(row)  # a sweep row is JSON


def test_a_lookup_the_chain_did_not_compute_names_the_field(baseline: ChainResult):
    with pytest.raises(InputError, match=r"carbon_discount_rate.*0\.07"):
        baseline.carbon.per_hectare_total_t_co2(0.07)
    with pytest.raises(InputError, match=r"planting.*'nowhere'"):
        baseline.carbon.by_pool_mt_co2("nowhere", 0.0)
    with pytest.raises(InputError, match=r"carbon_discount_rate.*0\.07"):
        baseline.supply.at(0.07)


def test_until_stops_the_chain(baseline: ChainResult):
    landuse_only = run_chain("baseline", until="landuse")
    assert landuse_only.carbon is None and landuse_only.supply is None
    assert landuse_only.headline_area_10k_ha == baseline.headline_area_10k_ha
    with pytest.raises(InputError, match="until"):
        run_chain("baseline", until="everything")


def test_the_docs_example_runs(tmp_path: Path):
    run = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path)], capture_output=True, text=True, timeout=600, check=False,
                         env={**os.environ, "MPLBACKEND": "Agg"})
    assert run.returncode == 0, run.stderr
    assert "ChainResult(scenario='province_quotas'" in run.stdout
    assert run.stdout.strip().endswith("True")  # the NetCDF file read back the same tables
    assert (tmp_path / "province_quotas.nc").exists() and (tmp_path / "carbon.png").exists()


def test_model_functions_take_plain_data():
    """supply_curve and present_value_direct_costs no longer fall back to reading the study's files."""
    import inspect

    from afforest.model import supply_curve as module

    for function in (module.supply_curve, module.present_value_direct_costs):
        assert inspect.signature(function).parameters["discounting"].default is inspect.Parameter.empty


def test_a_half_year_grid_is_accounted_on_its_own_periods():
    from afforest.scenarios import load_scenario

    scenario = load_scenario("baseline").with_overrides({"numerics.horizon_yr": 60.0, "numerics.step_yr": 0.5})
    chain = run_chain(scenario)
    starts = chain.carbon.yearly["period_start_yr"].unique()
    assert 0.5 in starts
    year0 = chain.carbon.total_mt_co2("year0", 0.0)  # one cohort: the grid does not change its carbon
    assert year0 == pytest.approx(chain.carbon.per_hectare_total_t_co2(0.0) * chain.headline_area_10k_ha / 100, rel=1e-9)
