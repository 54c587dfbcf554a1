"""Carbon price paths and carbon targets (issue 13): closed forms first, then the price/target duality, the dual
against a finite difference of welfare, the target against the carbon accounts, re-use in sweeps, and bad input.

Derivations: afforest.model.carbon_policy and docs/carbon_policy.md.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import pyomo.environ as pyo

from afforest.chain.bundle import load_bundle
from afforest.chain.inputs import resolve_inputs
from afforest.chain.landuse import build_models, solve_models, structure_key
from afforest.chain.stages import dynamic_supply_curve
from afforest.errors import InputError
from afforest.model import carbon_policy as cp
from afforest.model.carbon import cohort_sink, cohorts_from_rates, cumulative_sink, split_at_horizon
from afforest.model.landuse import class_planting_path, planting_path
from afforest.model.steady_state import long_run_afforested_area
from afforest.scenarios import load_scenario
from afforest.solvers import solve

pytestmark = pytest.mark.component

FAST = {"numerics.horizon_yr": 80.0, "numerics.step_yr": 2.0}
"""A coarser grid than the baseline's (40 periods): the integrated program's closed forms hold for any step."""


@pytest.fixture(scope="module")
def carbon():
    return load_bundle().carbon_parameters


def _scenario(**overrides):
    return load_scenario("baseline").with_overrides({**FAST, **overrides})


def _solved(scenario, rep):
    inputs = resolve_inputs(scenario)
    models = build_models(inputs)
    model = getattr(models, rep)
    result = solve(model)
    return inputs, model, result


# ------------------------------------------------------------------------------------------- closed forms
@pytest.mark.unit
def test_growing_price_value_is_p0_e_gt_times_the_stream_pv_at_r_minus_g(carbon):
    """V_k = P0 e^{g t_k} Q_{r-g}; its PV e^{-r t_k} V_k falls at r - g; at g = 0 it is the constant switch's P Q_r;
    a yearly file holding one price gives the same P Q_r by another path (yearly accounts, not the totals)."""
    t = np.arange(0.0, 60.0, 2.0)
    r, g, p0 = 0.05, 0.02, 100.0
    values = cp.price_path_values_yuan_per_ha(t, carbon, r, p0, g)
    q_r_minus_g = cp.stream_pv_t_co2_per_ha(carbon, r - g)
    assert values[0] == pytest.approx(p0 * q_r_minus_g, rel=1e-12)
    np.testing.assert_allclose(np.exp(-r * t) * values, values[0] * np.exp(-(r - g) * t), rtol=1e-12)
    constant = cp.price_path_values_yuan_per_ha(t, carbon, r, p0, 0.0)
    np.testing.assert_allclose(constant, p0 * cp.stream_pv_t_co2_per_ha(carbon, r), rtol=1e-12)
    flat = pd.Series([p0], index=[2020])
    np.testing.assert_allclose(cp.series_price_values_yuan_per_ha(t, carbon, r, flat), constant, rtol=1e-6)
    # a price of p0 up to 2029 and 3 p0 from 2030: a hectare planted in 2020 earns p0 on ages 0-9, 3 p0 after
    step = pd.Series([p0, 3 * p0], index=[2020, 2030])
    stream = cp.stream_pv_t_co2_per_ha(carbon, r)
    first_ten = float(cp.target_coefficients_t_co2_per_ha([0.0], carbon, r, 2030)[0])  # ages 0-9, discounted at r
    assert cp.series_price_values_yuan_per_ha([0.0], carbon, r, step)[0] == pytest.approx(
        p0 * first_ten + 3 * p0 * (stream - first_ten), rel=1e-6)


@pytest.mark.unit
def test_conversion_time_solves_gain_equals_r_tau0_minus_r_minus_g_value():
    r, g, tau0, v0 = 0.05, 0.03, 42265.0, 10000.0
    gain = 1000.0
    t_star = cp.conversion_time_yr(gain, r, tau0, v0, g)
    assert gain == pytest.approx(r * tau0 - (r - g) * v0 * math.exp(g * t_star), rel=1e-12)
    assert cp.conversion_time_yr(r * tau0, r, tau0, v0, g) == 0.0
    assert cp.conversion_time_yr(gain, r, tau0, v0, 0.0) == math.inf  # constant price: now or never


def test_growing_price_converts_each_class_in_its_closed_form_period():
    """tau1 = 0: the classes program is linear and converts class c whole in the period maximising
    e^{-r t_k} (G_c/r - tau(0) + V_k) (module docstring); every class the argmax names is planted there, and the
    continuous t* lies within a period of it."""
    g, p0 = 0.04, 500.0  # t* = ln[(r tau0 - G) / ((r - g) P0 Q_{r-g})] / g falls inside the horizon for ~8 classes
    scenario = _scenario(**{"landuse.planting_cost_slope_yuan_per_ha_per_10k_ha_yr": 0.0,
                            "policy.carbon_price_yuan_per_t_co2": p0, "policy.carbon_price_growth_rate_per_yr": g})
    inputs, model, result = _solved(scenario, "classes")
    assert result.status.value == "optimal"
    r, tau0 = inputs.params.financial_discount_rate, inputs.params.planting_cost_intercept_yuan_per_ha
    starts = [float(pyo.value(model.period_start_yr[k])) for k in model.periods]
    values = inputs.switch_data.extra["carbon_value_yuan_per_ha_by_period"]
    planted = class_planting_path(model, threshold_10k_ha=1e-6)
    interior = 0
    for _, row in inputs.classes.iterrows():
        gain = row["afforested_esv_yuan_per_ha_yr"] - row["esv_yuan_per_ha_yr"]
        best = cp.best_conversion_period(gain, r, tau0, values, starts)
        mine = planted[(planted["land_type"] == row["land_type"]) & (planted["province"] == row["province"])]
        if best is None:
            assert mine.empty
            continue
        assert mine["period_start_yr"].tolist() == [starts[best]]
        assert mine["planted_area_10k_ha"].sum() == pytest.approx(row["area_10k_ha"], rel=1e-6)
        t_star = cp.conversion_time_yr(gain, r, tau0, values[0], g)
        if 0 < t_star < starts[-1]:
            interior += 1
            assert abs(t_star - starts[best]) <= 2.0 + 1e-9  # one period (2 yr) either side
    assert interior >= 3, "the case must convert some classes later, not all at once"


def test_a_flat_price_file_keeps_eq3_at_the_carbon_adjusted_cost(tmp_path):
    """A constant price given as a file: no time dependence, so Eq. 3 at tau(0) - P Q_r holds and the chain's
    checks pass (the path switch carries the whole value; the certificate reads it)."""
    price = 300.0
    file = tmp_path / "prices.csv"
    file.write_text(f"# yuan/t CO2\nyear,carbon_price_yuan_per_t_co2\n2020,{price}\n")
    inputs = resolve_inputs(_scenario(**{"policy.carbon_price_path_file": str(file)}))
    q = cp.stream_pv_t_co2_per_ha(load_bundle().carbon_parameters, inputs.params.financial_discount_rate)
    effective = inputs.params.planting_cost_intercept_yuan_per_ha - price * q
    assert inputs.effective_planting_cost_yuan_per_ha == pytest.approx(effective, rel=1e-6)
    result = solve_models(inputs, build_models(inputs))
    assert result.status == "ok", result.suspect_reasons
    expected = long_run_afforested_area(inputs.params, planting_cost_intercept_yuan_per_ha=effective)[0]
    assert result.numeric_afforested_area_10k_ha == pytest.approx(expected, rel=1e-3)


def test_a_growing_price_waits_at_first_and_plants_more_later(carbon):
    """The hurdle a hectare must clear at t is r tau(0) - (r - g) V(t): at t = 0 a price growing at g from P0
    offers (r - g) P0 Q_{r-g}, less than the constant price's r P0 Q_r (planting can wait for the price), so the
    growing price plants slightly less at first; later V(t) overtakes and it plants more."""
    r, g, p0 = 0.05, 0.02, 100.0
    assert (r - g) * cp.stream_pv_t_co2_per_ha(carbon, r - g) < r * cp.stream_pv_t_co2_per_ha(carbon, r)
    base = _scenario(**{"policy.carbon_price_yuan_per_t_co2": p0})
    grow = _scenario(**{"policy.carbon_price_yuan_per_t_co2": p0, "policy.carbon_price_growth_rate_per_yr": g})
    _, m0, _ = _solved(base, "curves")
    _, m1, _ = _solved(grow, "curves")
    a0, a1 = planting_path(m0)["afforested_area_10k_ha"], planting_path(m1)["afforested_area_10k_ha"]
    assert a1.iloc[0] < a0.iloc[0]
    assert a1.iloc[-1] > a0.iloc[-1] + 5.0


# ------------------------------------------------------------------------------------ price <-> target duality
def _pv_carbon_mt_co2(model, inputs) -> float:
    """sum_k dt R_k e^{-r t_k} Q_r: the carbon a constant price pays for, Mt CO2."""
    q = cp.stream_pv_t_co2_per_ha(load_bundle().carbon_parameters, inputs.params.financial_discount_rate)
    return sum(pyo.value(model.cost_discount[k]) * pyo.value(model.step_yr) * pyo.value(model.planting_rate_10k_ha_per_yr[k])
               for k in model.periods) * q * cp.MT_PER_10K_T


@pytest.mark.parametrize("rep", ["curves", "classes"])
def test_price_and_target_agree(rep, record_property):
    """Price p gives carbon X(p); the target X(p) (r_c = r, each cohort's whole stream: the measure p pays for)
    has dual p."""
    gaps = []
    for price in (150.0, 400.0, 900.0):
        inputs, model, _ = _solved(_scenario(**{"policy.carbon_price_yuan_per_t_co2": price}), rep)
        x = _pv_carbon_mt_co2(model, inputs)
        target = _scenario(**{"policy.carbon_target_mt_co2": x, "policy.carbon_target_year": None,
                              "policy.carbon_target_discount_rate": inputs.params.financial_discount_rate})
        t_inputs, t_model, t_result = _solved(target, rep)
        dual = -float(t_result.duals[t_model.carbon_target.carbon_target]) * 1e4
        gaps.append((price, x, dual))
        assert dual == pytest.approx(price, rel=1e-5), (price, x, dual)  # measured: curves 3e-7, classes 1e-10
    record_property("price_target_dual", gaps)


def test_target_dual_is_the_finite_difference_of_welfare():
    """-dW/dX (10^8 yuan per Mt -> x 100 yuan/t) by central differences equals the reported marginal cost."""
    x, h = 700.0, 5.0
    table = dynamic_supply_curve(_scenario(**{"policy.carbon_target_mt_co2": x}), [x - h, x, x + h],
                                 representation="curves")
    w = table["welfare_10e8_yuan"].to_numpy()
    slope = -(w[2] - w[0]) / (2 * h) * 100.0
    assert table["marginal_cost_yuan_per_t_co2"].iloc[1] == pytest.approx(slope, rel=2e-3)
    assert (table["pontryagin_max_residual"] < 1e-5).all()
    assert table["marginal_cost_yuan_per_t_co2"].is_monotonic_increasing


def test_target_meets_the_carbon_accounts():
    """The row sum_k dt S_k R_k is the carbon module's cumulative sink by 2060 of the solved path (cohort by
    cohort), and a binding target is met exactly."""
    x = 600.0
    inputs, model, result = _solved(_scenario(**{"policy.carbon_target_mt_co2": x, "numerics.step_yr": 1.0}), "curves")
    params = load_bundle().carbon_parameters
    path = planting_path(model)
    # Ipopt leaves the rates it drives to their bound at -1e-8 (its bound_relax_factor): none is planted there
    path["planting_rate_10k_ha_per_yr"] = path["planting_rate_10k_ha_per_yr"].clip(lower=0.0)
    cohorts, _ = split_at_horizon(cohorts_from_rates(path, 1.0), params.horizon_yr)
    sink = cohort_sink(cohorts, params, 0.0)
    by_2060 = float(cumulative_sink(sink, params.horizon_yr)["discounted_sink_mt_co2"].sum())
    assert by_2060 == pytest.approx(x, rel=1e-6)


def test_a_target_sweep_reuses_the_models():
    a = _scenario(**{"policy.carbon_target_mt_co2": 500.0})
    b = _scenario(**{"policy.carbon_target_mt_co2": 900.0})
    assert structure_key(a) == structure_key(b)
    assert structure_key(a) != structure_key(_scenario())
    assert load_scenario("carbon_target_sweep").sweep.grid


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.unit
def test_shipped_digests_do_not_move():
    """Measured before the carbon-policy fields existed."""
    assert load_scenario("baseline").digest() == "16fb9077ececcfef"
    assert load_scenario("carbon_price").digest() == "b95c507903bfa91e"
    assert load_scenario("province_quotas").digest() == "011af9788de2a124"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("key", "value"),
    [("policy.carbon_price_yuan_per_t_co2", -5.0), ("policy.carbon_price_yuan_per_t_co2", float("nan")),
     ("policy.carbon_price_yuan_per_t_co2", float("inf")), ("policy.carbon_price_growth_rate_per_yr", float("nan")),
     ("policy.carbon_target_mt_co2", -1.0), ("policy.carbon_target_form", "yearly")],
)
def test_bad_schema_values_name_field_and_value(key, value):
    with pytest.raises(InputError) as err:
        load_scenario("baseline").with_overrides({key: value})
    assert err.value.field == key


def test_growth_at_or_above_r_is_refused():
    scenario = _scenario(**{"policy.carbon_price_yuan_per_t_co2": 50.0, "policy.carbon_price_growth_rate_per_yr": 0.05})
    with pytest.raises(InputError) as err:
        resolve_inputs(scenario)
    assert err.value.field == "policy.carbon_price_growth_rate_per_yr" and err.value.value == 0.05
    assert "no optimum" in str(err.value)


def test_growth_without_a_price_and_a_file_with_a_price_are_refused(tmp_path):
    with pytest.raises(InputError) as err:
        resolve_inputs(_scenario(**{"policy.carbon_price_growth_rate_per_yr": 0.02}))
    assert err.value.field == "policy.carbon_price_growth_rate_per_yr"
    file = tmp_path / "prices.csv"
    file.write_text("year,carbon_price_yuan_per_t_co2\n2020,50\n2030,100\n")
    with pytest.raises(InputError) as err:
        resolve_inputs(_scenario(**{"policy.carbon_price_yuan_per_t_co2": 50.0, "policy.carbon_price_path_file": str(file)}))
    assert err.value.field == "policy.carbon_price_path_file"


@pytest.mark.parametrize(("text", "field"), [("year,carbon_price_yuan_per_t_co2\n2020,50\n2030,-1\n", "carbon_price_yuan_per_t_co2"),
                                             ("year,carbon_price_yuan_per_t_co2\n2020,50\n2030,nan\n", "carbon_price_yuan_per_t_co2"),
                                             ("year,carbon_price_yuan_per_t_co2\n2030,50\n2020,60\n", "year"),
                                             ("year,price\n2020,50\n", "carbon_price_yuan_per_t_co2")])
def test_a_bad_price_file_names_file_field_and_value(tmp_path, text, field):
    file = tmp_path / "prices.csv"
    file.write_text(text)
    with pytest.raises(InputError) as err:
        resolve_inputs(_scenario(**{"policy.carbon_price_path_file": str(file)}))
    assert err.value.field == field and str(file) in str(err.value)


def test_an_unreachable_target_names_the_largest_reachable():
    with pytest.raises(InputError) as err:
        build_models(resolve_inputs(_scenario(**{"policy.carbon_target_mt_co2": 5000.0})))
    assert err.value.field == "policy.carbon_target_mt_co2" and err.value.value == 5000.0
    reachable = float(str(err.value).split("largest reachable target is ")[1].split(" ")[0])
    area = load_bundle().landuse_parameters.initial_area_10k_ha
    per_ha = float(cp.target_coefficients_t_co2_per_ha([0.0], load_bundle().carbon_parameters, 0.0, 2060)[0])
    assert reachable == pytest.approx(area * per_ha * cp.MT_PER_10K_T, rel=1e-5)  # everything planted in year 0
    capped = _scenario(**{"policy.carbon_target_mt_co2": 1000.0, "policy.annual_planting_cap_10k_ha_per_yr": 5.0})
    with pytest.raises(InputError, match="at the planting cap"):
        build_models(resolve_inputs(capped))


@pytest.mark.unit
def test_target_coefficients_are_the_carbon_modules_yearly_accounts(carbon):
    """Cumulative by 2060 of a hectare planted in year t: its stream's first 40 - t years (discounted to 2020 at
    r_c); the annual form: its stream's year 2059 - t alone; the whole stream at r_c: e^{-r_c t} Q_{r_c}."""
    from afforest.model.carbon import per_hectare_sink

    rate = 0.03
    yearly = per_hectare_sink(carbon, rate).groupby("age_start_yr")["discounted_sink_t_co2_per_ha"].sum().to_numpy()
    t = np.array([0.0, 5.0, 39.0])
    cumulative = cp.target_coefficients_t_co2_per_ha(t, carbon, rate, 2060)
    annual = cp.target_coefficients_t_co2_per_ha(t, carbon, rate, 2060, "annual")
    whole = cp.target_coefficients_t_co2_per_ha(t, carbon, rate, None)
    for i, start in enumerate(t.astype(int)):
        assert cumulative[i] == pytest.approx(math.exp(-rate * start) * yearly[: 40 - start].sum(), rel=1e-12)
        assert annual[i] == pytest.approx(math.exp(-rate * start) * yearly[39 - start], rel=1e-12)
    np.testing.assert_allclose(whole, np.exp(-rate * t) * cp.stream_pv_t_co2_per_ha(carbon, rate), rtol=1e-12)
    with pytest.raises(InputError):
        cp.target_coefficients_t_co2_per_ha(t, carbon, rate, None, "annual")


def test_an_annual_target_binds_on_the_year_s_sink():
    """The annual form: the cohorts' sink in 2059-2060 at least X Mt CO2/yr, met exactly by the carbon module's
    accounts of the solved path's last year."""
    x = 15.0
    scenario = _scenario(**{"policy.carbon_target_mt_co2": x, "policy.carbon_target_form": "annual",
                            "numerics.step_yr": 1.0})
    inputs, model, result = _solved(scenario, "curves")
    assert -float(result.duals[model.carbon_target.carbon_target]) > 0
    params = load_bundle().carbon_parameters
    path = planting_path(model)
    path["planting_rate_10k_ha_per_yr"] = path["planting_rate_10k_ha_per_yr"].clip(lower=0.0)
    cohorts, _ = split_at_horizon(cohorts_from_rates(path, 1.0), params.horizon_yr)
    sink = cohort_sink(cohorts, params, 0.0)
    last = sink[sink["period_start_yr"] == params.horizon_yr - 1]["discounted_sink_mt_co2"].sum()
    assert last == pytest.approx(x, rel=1e-6)


@pytest.mark.integration
def test_the_supply_curve_command_writes_its_table_and_figure(tmp_path, capsys):
    from afforest.cli.main import main

    scenario = tmp_path / "fast.toml"
    scenario.write_text('extends = "baseline"\n[numerics]\nhorizon_yr = 80.0\nstep_yr = 2.0\n')
    out = tmp_path / "out"
    assert main(["supply-curve", str(scenario), "--targets", "500,900", "--output", str(out)]) == 0
    table = pd.read_csv(out / "supply_curve_target.csv")
    assert table["carbon_target_mt_co2"].tolist() == [500.0, 900.0]
    assert (table["status"] == "optimal").all() and table["marginal_cost_yuan_per_t_co2"].is_monotonic_increasing
    assert (out / "supply_curve_target.png").stat().st_size > 10_000
    assert main(["supply-curve", str(scenario), "--method", "merit-order", "--output", str(out)]) == 0
    assert (out / "supply_curve_merit_order.csv").exists()
    capsys.readouterr()
    assert main(["supply-curve", str(scenario), "--targets", "500,-1"]) != 0
    assert "--targets" in capsys.readouterr().err


@pytest.mark.integration
def test_the_price_path_on_cells_pays_each_cell_its_own_yield():
    """Cells: a constant premium c on top of carbon_price P0 is carbon_price P0 + c (same welfare, same plan); a
    growing path's premium passes the Pontryagin certificate (it reads the cells' rates' gradient)."""
    from afforest.model.cells import build_cells_model, cell_problem, load_cell_spreads, synthetic_cells
    from afforest.model.costates import pontryagin_certificate
    from afforest.model.formulations import SwitchData, add_switch
    from afforest.model.problem import TimeGrid

    bundle = load_bundle()
    params = bundle.landuse_parameters
    cells = synthetic_cells(40, seed=3, params=params, area=bundle.afforestable_area, esv=bundle.esv,
                            spreads=load_cell_spreads())
    grid = TimeGrid(horizon_yr=12.0, step_yr=1.0)
    p0, extra = 100.0, 150.0

    def build(price, premium):
        model = build_cells_model(cell_problem(cells, params, grid, carbon_price_yuan_per_t_co2=price))  # + carbon_price
        if premium is not None:
            add_switch(model, "carbon_price_path", {"carbon_price_growth_rate_per_yr": 0.01},
                       SwitchData(extra={"carbon_price_premium_yuan_per_t_co2_by_period": tuple(premium)}))
        return model

    n = grid.periods
    both, single = build(p0, [extra] * n), build(p0 + extra, None)
    a, b = solve(both, "highs"), solve(single, "highs")
    assert a.objective == pytest.approx(b.objective, rel=1e-9)
    rates = lambda m: np.array([pyo.value(v) for v in m.class_planting_rate_10k_ha_per_yr.values()])  # noqa: E731
    np.testing.assert_allclose(rates(both), rates(single), atol=1e-6)
    r, g = params.financial_discount_rate, 0.03
    values = cp.price_path_values_yuan_per_ha(np.arange(n) * 1.0, bundle.carbon_parameters, r, p0, g)
    premium = cp.cells_price_premium_yuan_per_t_co2(values, cp.stream_pv_t_co2_per_ha(bundle.carbon_parameters, r), p0)
    assert premium[0] > 0 and np.all(np.diff(premium) > 0)
    growing = build(p0, premium)
    result = solve(growing, "highs")
    assert result.status.value == "optimal"
    assert pontryagin_certificate(growing, result.duals).max_residual < 1e-5
