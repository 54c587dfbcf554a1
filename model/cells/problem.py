"""A cell-level planning problem: a validated cells table, the economics and the grid as a
:class:`~afforest.model.problem.LandUseProblem` (the one description every solution path is generated from)."""

from __future__ import annotations

import math

import pandas as pd

from afforest.data import LandUseParameters
from afforest.errors import InputError
from afforest.model.cells.limits import check_horizon
from afforest.model.cells.table import validate_cells
from afforest.model.problem import LandUseProblem, TimeGrid

__all__ = ["CellProblem", "cell_problem"]

CellProblem = LandUseProblem
"""A cell-level problem is a :class:`LandUseProblem` whose land units are cells (``unit_kind == "cells"``)."""


def cell_problem(
    cells: pd.DataFrame,
    params: LandUseParameters,
    grid: TimeGrid | None = None,
    *,
    carbon_price_yuan_per_t_co2: float = 0.0,
) -> LandUseProblem:
    """Validate a cells table and fix the economics (``params``, e.g. the study's from
    :func:`afforest.chain.bundle.load_bundle`), the time grid (default :class:`TimeGrid`) and the carbon price of
    the array paths (yuan/t CO2; every cell then needs its carbon yield)."""
    if not isinstance(params, LandUseParameters):
        raise InputError("must be LandUseParameters (e.g. load_bundle().landuse_parameters)", field="params",
                         value=type(params).__name__)
    grid = grid or TimeGrid()
    price = carbon_price_yuan_per_t_co2
    if (
        isinstance(price, bool)
        or not isinstance(price, (int, float))
        or not math.isfinite(price)
        or price < 0
    ):
        raise InputError("must be a finite number >= 0", field="carbon_price_yuan_per_t_co2", value=price)
    check_horizon(params.financial_discount_rate, grid)
    table = validate_cells(cells, params)
    if price > 0 and table["carbon_t_co2_per_ha"].isna().any():
        bad = int(table["carbon_t_co2_per_ha"].isna().to_numpy().argmax())
        raise InputError(
            "a carbon price needs every cell's carbon yield",
            field="carbon_t_co2_per_ha",
            value=f"NaN for cell_id {int(table['cell_id'].iloc[bad])}",
        )
    return LandUseProblem.from_cells(table, params, grid, carbon_price_yuan_per_t_co2=float(price))
