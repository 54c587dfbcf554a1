"""The cell-level problem as a Pyomo model: the one land-use builder over cells, and the plan it solves to."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from afforest.data import LandUseParameters
from afforest.errors import InputError
from afforest.model.cells.limits import check_memory
from afforest.model.cells.plan import CellPlan
from afforest.model.cells.problem import cell_problem
from afforest.model.formulations import add_carbon_value
from afforest.model.landuse import LandUseModel, build_landuse_model
from afforest.model.problem import LandUseProblem, TimeGrid

__all__ = ["build_cells_model", "plan_from_model"]


def build_cells_model(
    cells: pd.DataFrame | LandUseProblem,
    params: LandUseParameters | None = None,
    grid: TimeGrid | None = None,
    *,
    carbon_price_yuan_per_t_co2: float = 0.0,
) -> LandUseModel:
    """The cell-level DP as a Pyomo QP: :func:`afforest.model.landuse.build_landuse_model` over cells.

    ``cells`` is a cells problem (:func:`afforest.model.cells.cell_problem`) or a cells table (then ``params`` is
    required). The set ``classes`` holds one (land_type, province, cell_id) per cell, so ``planting_path``,
    ``class_allocation`` and ``class_planting_path`` work unchanged. Beyond the classes model: the mutable param
    ``planting_cost_yuan_per_ha[c]`` (the cell's tau(0)) and the welfare term ``site_cost_premium_pv``; with a
    carbon price, the switch ``carbon_price`` (Block ``m.carbon_price``: ``carbon_price_yuan_per_t_co2``,
    ``carbon_t_co2_per_ha[c]``, term ``carbon_value_pv``: the payment P q_c per planted hectare at planting).
    """
    if isinstance(cells, LandUseProblem):
        problem = cells
    else:
        if params is None:
            raise InputError("a cells table needs params (e.g. load_bundle().landuse_parameters)", field="params")
        problem = cell_problem(cells, params, grid, carbon_price_yuan_per_t_co2=carbon_price_yuan_per_t_co2)
    if problem.unit_kind != "cells":
        raise InputError("expected a cells problem", field="problem", value=problem.unit_kind)
    check_memory(problem.n_cells, problem.n_periods, "pyomo")
    m = build_landuse_model(problem)
    if problem.carbon_price_yuan_per_t_co2 > 0:
        add_carbon_value(m, problem.carbon_price_yuan_per_t_co2)
    return m


def plan_from_model(
    m: LandUseModel,
    solver: str = "",
    timings_s: Mapping[str, float] | None = None,
    status: str = "optimal",
) -> CellPlan:
    """The :class:`CellPlan` of a solved :func:`build_cells_model` model (its certificate checks it)."""
    problem = m.problem
    if problem is None or problem.unit_kind != "cells":
        raise InputError("not a cells model", field="m", value=getattr(m, "name", ""))
    values = m.class_planting_rate_10k_ha_per_yr.extract_values()
    keys = list(m.classes)
    periods = list(m.periods)
    rate = np.array([[values[(*c, k)] for k in periods] for c in keys], dtype=float)
    return CellPlan(problem, rate * problem.grid.step_yr, "pyomo", solver, status, dict(timings_s or {}))
