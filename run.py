"""The land-use chain for one scenario: data -> analytic steady state and both dynamic programs -> results.

:func:`resolve_inputs` turns a validated scenario into plain inputs; :func:`solve_landuse` builds and
solves both representations and returns a :class:`LandUseResult` of tidy tables that serialise to JSON
(``to_dict``) and CSV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
from typing import Any

import pandas as pd
import pyomo.environ as pyo

import afforest
from afforest.data import (
    LandUseParameters,
    check_area_against_initial_area,
    load_afforestable_area,
    load_direct_costs,
    load_esv,
    load_landuse_parameters,
)
from afforest.model.landuse import (
    TimeGrid,
    build_classes_model,
    build_curves_model,
    class_allocation,
    class_planting_path,
    long_run_afforested_area,
    planting_path,
)
from afforest.model.esv import (
    EquivalentFactorInputs,
    esv_table,
    load_equivalent_factors,
    load_standard_equivalent_values,
)
from afforest.model.formulations import (
    add_carbon_value,
    add_land_type_costs,
    add_planting_cap,
    add_province_quotas,
    exclude_provinces,
    scale_opportunity_cost,
    set_planting_cap,
)
from afforest.model.merit_order import fill_merit_order, landuse_classes, shares
from afforest.model.steady_state import SteadyStateRoot, steady_state_roots
from afforest.model.steady_state import long_run_afforested_area as analytic_long_run
from afforest.scenarios import Scenario, load_scenario
from afforest.solvers import SolveResult, solve

__all__ = ["Inputs", "Models", "LandUseResult", "resolve_inputs", "build_models", "update_models", "structure_key", "solve_landuse"]


@dataclass(frozen=True)
class Inputs:
    """Everything the land-use models read, after the scenario has been applied to the study's data."""

    scenario: Scenario
    params: LandUseParameters
    """After the scenario's overrides and the opportunity-cost share."""
    grid: TimeGrid
    classes: pd.DataFrame
    """Merit-order classes after exclusions and the opportunity-cost share."""
    carbon_pv_t_co2_per_ha: float
    """PV at planting of one hectare's sequestration at the planner's rate (0 unless carbon is priced)."""

    @property
    def effective_planting_cost_yuan_per_ha(self) -> float:
        """tau(0) net of the carbon value of a planted hectare: the cost Eq. 3 sees."""
        price = self.scenario.policy.carbon_price_yuan_per_t_co2
        return self.params.planting_cost_intercept_yuan_per_ha - price * self.carbon_pv_t_co2_per_ha


def _carbon_pv_t_co2_per_ha(scenario: Scenario, financial_discount_rate: float) -> float:
    if scenario.policy.carbon_price_yuan_per_t_co2 == 0:
        return 0.0
    from afforest.model.carbon import load_carbon_parameters, per_hectare_totals

    # Money is discounted at the planner's rate, so the carbon a hectare stores over the accounting horizon
    # is valued at the financial rate, whatever r_c the carbon report uses.
    return float(per_hectare_totals(load_carbon_parameters(), financial_discount_rate).sum())


def resolve_inputs(scenario: Scenario | str = "baseline") -> Inputs:
    """Apply a scenario's overrides and data-level switches to the study's data."""
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    params = load_landuse_parameters(direct_costs=load_direct_costs())
    landuse = scenario.landuse.model_dump(exclude={"opportunity_cost_share", "esv_source"})
    params = params.replace(**{k: v for k, v in landuse.items() if v is not None})
    grid = TimeGrid(
        horizon_yr=scenario.numerics.horizon_yr,
        step_yr=scenario.numerics.step_yr,
        discounting=scenario.numerics.discounting,
    )
    files = scenario.inputs
    area = load_afforestable_area(files.afforestable_area_file)
    check_area_against_initial_area(area, params.initial_area_10k_ha, file=files.afforestable_area_file)
    if scenario.policy.excluded_provinces:
        area = exclude_provinces(area, scenario.policy.excluded_provinces)
    if scenario.landuse.esv_source == "equivalent_factors":
        equivalents, standard_values = EquivalentFactorInputs(
            factors=load_equivalent_factors(files.equivalent_factors_file) if files.equivalent_factors_file else None,
            standard_values=load_standard_equivalent_values(files.standard_equivalent_file) if files.standard_equivalent_file else None,
        ).resolve()
        esv = esv_table(equivalents, standard_values)
    else:
        esv = load_esv()
    classes = landuse_classes(
        area,
        esv,
        params,
        rule=scenario.classes.post_planting_rule,
        max_class_area_10k_ha=scenario.classes.max_class_area_10k_ha,
    )
    params, classes = scale_opportunity_cost(params, classes, scenario.landuse.opportunity_cost_share)
    return Inputs(
        scenario=scenario,
        params=params,
        grid=grid,
        classes=classes,
        carbon_pv_t_co2_per_ha=_carbon_pv_t_co2_per_ha(scenario, params.financial_discount_rate),
    )


def structure_key(scenario: Scenario) -> str:
    """What fixes the models' structure: scenarios with equal keys differ only in mutable params."""
    policy = scenario.policy
    payload = {
        "numerics": scenario.numerics.model_dump(mode="json"),
        "classes": scenario.classes.model_dump(mode="json"),
        "excluded": sorted(policy.excluded_provinces),
        "quota_provinces": sorted(policy.province_quota_10k_ha),
        "land_types_costed": sorted(policy.direct_cost_multiplier_by_land_type),
        "priced": policy.carbon_price_yuan_per_t_co2 > 0,
    }
    return json.dumps(payload, sort_keys=True)


@dataclass
class Models:
    """Both representations built for one scenario structure."""

    curves: pyo.ConcreteModel
    classes: pyo.ConcreteModel


def build_models(inputs: Inputs) -> Models:
    """Build the curves NLP and the classes QP with every policy switch of the scenario."""
    curves = build_curves_model(inputs.params, inputs.grid)
    classes = build_classes_model(inputs.classes, inputs.params, inputs.grid)
    policy = inputs.scenario.policy
    for m in (curves, classes):
        add_planting_cap(m, policy.annual_planting_cap_10k_ha_per_yr)
        if policy.carbon_price_yuan_per_t_co2 > 0:
            add_carbon_value(m, policy.carbon_price_yuan_per_t_co2, inputs.carbon_pv_t_co2_per_ha)
    if policy.province_quota_10k_ha:
        add_province_quotas(classes, policy.province_quota_10k_ha)
    if policy.direct_cost_multiplier_by_land_type:
        add_land_type_costs(classes, policy.direct_cost_multiplier_by_land_type)
    return Models(curves=curves, classes=classes)


def update_models(models: Models, inputs: Inputs) -> None:
    """Point models built for the same structure at new inputs by assigning their mutable params."""
    params, policy = inputs.params, inputs.scenario.policy
    for m in (models.curves, models.classes):
        m.discount_rate = params.financial_discount_rate
        m.initial_area_10k_ha = params.initial_area_10k_ha
        m.planting_cost_intercept_yuan_per_ha = params.planting_cost_intercept_yuan_per_ha
        m.planting_cost_slope_yuan_per_ha_per_10k_ha_yr = params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
        set_planting_cap(m, policy.annual_planting_cap_10k_ha_per_yr)
        if policy.carbon_price_yuan_per_t_co2 > 0:
            m.carbon_price_yuan_per_t_co2 = policy.carbon_price_yuan_per_t_co2
            m.carbon_pv_t_co2_per_ha = inputs.carbon_pv_t_co2_per_ha
    curves = models.curves
    for i, value in enumerate(params.unconverted_esv_coefficients):
        curves.unconverted_esv_coefficient[i] = value
    for i, value in enumerate(params.afforested_esv_coefficients):
        curves.afforested_esv_coefficient[i] = value
    classes = models.classes
    table = inputs.classes.sort_values(["rank", "slice"])
    keys = list(zip(table["land_type"], table["province"], table["slice"].astype(int)))
    for key, area, current, afforested in zip(
        keys, table["area_10k_ha"], table["esv_yuan_per_ha_yr"], table["afforested_esv_yuan_per_ha_yr"]
    ):
        classes.class_area_10k_ha[key] = float(area)
        classes.current_esv_yuan_per_ha_yr[key] = float(current)
        classes.afforested_esv_yuan_per_ha_yr[key] = float(afforested)
    for province, quota in policy.province_quota_10k_ha.items():
        classes.province_quota_10k_ha[province] = quota
    for key in keys:
        if policy.direct_cost_multiplier_by_land_type:
            classes.direct_cost_multiplier[key] = policy.direct_cost_multiplier_by_land_type.get(key[0], 1.0)


@dataclass
class LandUseResult:
    """Analytic and numerical answers for one scenario."""

    scenario: Scenario
    params: LandUseParameters
    roots: list[SteadyStateRoot]
    analytic_afforested_area_10k_ha: float
    numeric_afforested_area_10k_ha: float
    classes_afforested_area_10k_ha: float
    curves_path: pd.DataFrame
    classes_path: pd.DataFrame
    allocation: pd.DataFrame
    """The analytic desirable area filled into the merit order (the study's allocation rule)."""
    classes_allocation: pd.DataFrame
    """Where the classes dynamic program plants by the end of the horizon."""
    classes_planting: pd.DataFrame
    """Cohorts of the classes dynamic program: area planted per class and period."""
    curves_solver: SolveResult
    classes_solver: SolveResult
    welfare_10e8_yuan: dict[str, float] = field(default_factory=dict)

    @property
    def afforested_share_of_initial_area(self) -> float:
        return self.analytic_afforested_area_10k_ha / self.params.initial_area_10k_ha

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary; keys are stable and carry their units."""
        province_share = shares(self.allocation, "province") if not self.allocation.empty else pd.Series(dtype=float)
        return {
            "afforest_version": afforest.__version__,
            "scenario": self.scenario.name,
            "scenario_hash": self.scenario.digest(),
            "financial_discount_rate": self.params.financial_discount_rate,
            "esv_source": self.scenario.landuse.esv_source,
            "initial_area_10k_ha": self.params.initial_area_10k_ha,
            "analytic_roots": [
                {
                    "afforested_area_10k_ha": r.afforested_area_10k_ha,
                    "unconverted_area_10k_ha": r.unconverted_area_10k_ha,
                    "stability": r.stability.value,
                    "reached": r.reached,
                }
                for r in self.roots
            ],
            "analytic_afforested_area_10k_ha": self.analytic_afforested_area_10k_ha,
            "numeric_afforested_area_10k_ha": self.numeric_afforested_area_10k_ha,
            "classes_afforested_area_10k_ha": self.classes_afforested_area_10k_ha,
            "afforested_share_of_A0": self.afforested_share_of_initial_area,
            "numeric_gap_to_analytic_pct": 100
            * (self.numeric_afforested_area_10k_ha / self.analytic_afforested_area_10k_ha - 1)
            if self.analytic_afforested_area_10k_ha > 0
            else None,
            "solver": {"curves": self.curves_solver.as_dict(), "classes": self.classes_solver.as_dict()},
            "welfare_10e8_yuan": self.welfare_10e8_yuan,
            "planting_path": _path_summary(self.curves_path),
            "allocation": self.allocation.to_dict(orient="records"),
            "province_shares": {str(k): float(v) for k, v in province_share.items()},
            "classes_allocation": self.classes_allocation.to_dict(orient="records"),
        }


def _path_summary(path: pd.DataFrame) -> dict[str, Any]:
    """Planting-path milestones: first-period rate and the years to reach 50 / 90 / 99 % of the final area."""
    final = float(path["afforested_area_10k_ha"].iloc[-1])
    summary: dict[str, Any] = {
        "first_period_rate_10k_ha_per_yr": float(path["planting_rate_10k_ha_per_yr"].iloc[0]),
        "final_afforested_area_10k_ha": final,
    }
    for pct in (50, 90, 99):
        reached = path[path["afforested_area_10k_ha"] >= pct / 100 * final]
        end = reached["period_start_yr"].iloc[0] + (path["period_start_yr"].diff().iloc[-1] if len(path) > 1 else 0.0)
        summary[f"years_to_{pct}pct"] = float(end) if final > 0 and not reached.empty else None
    return summary


def solve_landuse(scenario: Scenario | str = "baseline", *, tee: bool = False) -> LandUseResult:
    """Analytic roots, the curves NLP (Ipopt) and the classes QP (HiGHS) for one scenario."""
    inputs = resolve_inputs(scenario)
    return solve_models(inputs, build_models(inputs), tee=tee)


def solve_models(inputs: Inputs, models: Models, *, tee: bool = False) -> LandUseResult:
    """Solve built (or updated) models for ``inputs`` and collect the results."""
    params = inputs.params
    effective_cost = inputs.effective_planting_cost_yuan_per_ha
    roots = steady_state_roots(params, effective_cost)
    analytic = float(analytic_long_run(params, planting_cost_intercept_yuan_per_ha=effective_cost)[0])
    solver = inputs.scenario.solver
    curves_result = solve(models.curves, solver.nlp, tee=tee)
    classes_result = solve(models.classes, solver.qp, tee=tee)
    return LandUseResult(
        scenario=inputs.scenario,
        params=params,
        roots=roots,
        analytic_afforested_area_10k_ha=analytic,
        numeric_afforested_area_10k_ha=long_run_afforested_area(models.curves),
        classes_afforested_area_10k_ha=long_run_afforested_area(models.classes),
        curves_path=planting_path(models.curves),
        classes_path=planting_path(models.classes),
        allocation=fill_merit_order(inputs.classes, min(analytic, float(inputs.classes["area_10k_ha"].sum()))),
        classes_allocation=class_allocation(models.classes),
        classes_planting=class_planting_path(models.classes),
        curves_solver=curves_result,
        classes_solver=classes_result,
        welfare_10e8_yuan={
            "curves": float(curves_result.objective or float("nan")),
            "classes": float(classes_result.objective or float("nan")),
        },
    )
