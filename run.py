"""The land-use chain for one scenario: data -> analytic steady state and both dynamic programs -> results.

:func:`resolve_inputs` turns a validated scenario into plain inputs; :func:`solve_landuse` builds and
solves both representations and returns a :class:`LandUseResult` of tidy tables that serialise to JSON
(``to_dict``) and CSV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import afforest
from afforest.data import (
    LandUseParameters,
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
from afforest.model.merit_order import fill_merit_order, landuse_classes, shares
from afforest.model.steady_state import SteadyStateRoot, steady_state_roots
from afforest.model.steady_state import long_run_afforested_area as analytic_long_run
from afforest.scenarios import Scenario, load_scenario
from afforest.solvers import SolveResult, solve

__all__ = ["Inputs", "LandUseResult", "resolve_inputs", "solve_landuse"]


@dataclass(frozen=True)
class Inputs:
    """Everything the land-use models read, after the scenario has been applied to the study's data."""

    scenario: Scenario
    params: LandUseParameters
    grid: TimeGrid
    classes: pd.DataFrame


def resolve_inputs(scenario: Scenario | str = "baseline") -> Inputs:
    """Apply a scenario's overrides to the study's data."""
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    params = load_landuse_parameters(direct_costs=load_direct_costs())
    overrides = {k: v for k, v in scenario.landuse.model_dump().items() if v is not None}
    params = params.replace(**overrides)
    grid = TimeGrid(
        horizon_yr=scenario.numerics.horizon_yr,
        step_yr=scenario.numerics.step_yr,
        discounting=scenario.numerics.discounting,
    )
    classes = landuse_classes(
        load_afforestable_area(),
        load_esv(),
        params,
        rule=scenario.classes.post_planting_rule,
        max_class_area_10k_ha=scenario.classes.max_class_area_10k_ha,
    )
    return Inputs(scenario=scenario, params=params, grid=grid, classes=classes)


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
    params = inputs.params
    roots = steady_state_roots(params)
    analytic = float(analytic_long_run(params)[0])

    curves = build_curves_model(params, inputs.grid)
    curves_result = solve(curves, inputs.scenario.solver.nlp, tee=tee)
    classes_model = build_classes_model(inputs.classes, params, inputs.grid)
    classes_result = solve(classes_model, "auto" if inputs.scenario.solver.qp == "auto" else inputs.scenario.solver.qp, tee=tee)

    classes_path = planting_path(classes_model)
    return LandUseResult(
        scenario=inputs.scenario,
        params=params,
        roots=roots,
        analytic_afforested_area_10k_ha=analytic,
        numeric_afforested_area_10k_ha=long_run_afforested_area(curves),
        classes_afforested_area_10k_ha=long_run_afforested_area(classes_model),
        curves_path=planting_path(curves),
        classes_path=classes_path,
        allocation=fill_merit_order(inputs.classes, analytic),
        classes_allocation=class_allocation(classes_model),
        classes_planting=class_planting_path(classes_model),
        curves_solver=curves_result,
        classes_solver=classes_result,
        welfare_10e8_yuan={
            "curves": float(curves_result.objective or float("nan")),
            "classes": float(classes_result.objective or float("nan")),
        },
    )
