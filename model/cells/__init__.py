"""Cell-level planning: the land-use QP of :mod:`afforest.model.landuse` with one state per land cell.

A cell c is a piece of afforestable land with its own area a_c (10^4 ha), current ESV b_c, ESV once
planted f_c (yuan/(ha yr)), first-year direct cost tau0_c (yuan/ha) and carbon yield q_c (t CO2/ha). The
planner chooses the area y_cj planted in cell c in period j and pays the rising marginal cost tau1 R_j on the
region's total rate R_j, exactly as in the classes model. The problem is a
:class:`afforest.model.problem.LandUseProblem` whose units are cells (its docstring gives W(y) and the value of
planting V_cj = e_j u_c, which :mod:`afforest.solvers.decomposition` exploits).

The package, by responsibility:

* :mod:`~afforest.model.cells.table`: the columns of a cells table, the synthetic generator and its spreads, the
  validator and the file loader;
* :mod:`~afforest.model.cells.limits`: the longest useful horizon and the memory estimates (refusals before a build);
* :mod:`~afforest.model.cells.problem`: :func:`cell_problem`, a validated table as a ``LandUseProblem``;
* :mod:`~afforest.model.cells.plan`: the duality certificate and :class:`CellPlan`;
* :mod:`~afforest.model.cells.pyomo_model`: :func:`build_cells_model` (the one land-use builder over cells) and
  :func:`plan_from_model`.

Three ways to solve one problem, all returning a :class:`CellPlan`: :func:`build_cells_model` (Pyomo; solve it
with ``afforest.solvers.solve(m, "highs", cells_model_highs_options(m.problem))`` and read it with
:func:`plan_from_model`), :func:`afforest.solvers.highs_direct.solve_cells_highs` (arrays to highspy) and
:func:`afforest.solvers.decomposition.solve_cells_decomposition` (exact, fastest). docs/performance.md compares them.
"""

from __future__ import annotations

from afforest.model.cells.limits import (
    MEMORY_BASELINE_BYTES,
    MEMORY_BYTES_PER_CELL,
    MEMORY_BYTES_PER_CELL_PERIOD,
    NEGLIGIBLE_DISCOUNT,
    available_memory_bytes,
    check_horizon,
    check_memory,
    max_horizon_yr,
    memory_estimate_bytes,
)
from afforest.model.cells.plan import VERIFIED_RELATIVE_GAP, CellPlan, OptimalityCertificate, certify
from afforest.model.cells.problem import CellProblem, cell_problem
from afforest.model.cells.pyomo_model import build_cells_model, plan_from_model
from afforest.model.cells.table import (
    CELL_COLUMNS,
    OPTIONAL_CELL_COLUMNS,
    CellSpreads,
    load_cell_spreads,
    load_cells,
    synthetic_cells,
    validate_cells,
)
from afforest.model.problem import DiscountWeights, discount_weights

__all__ = [
    "CELL_COLUMNS",
    "OPTIONAL_CELL_COLUMNS",
    "CellSpreads",
    "load_cell_spreads",
    "synthetic_cells",
    "validate_cells",
    "load_cells",
    "DiscountWeights",
    "discount_weights",
    "CellProblem",
    "cell_problem",
    "VERIFIED_RELATIVE_GAP",
    "OptimalityCertificate",
    "certify",
    "CellPlan",
    "build_cells_model",
    "plan_from_model",
    "NEGLIGIBLE_DISCOUNT",
    "max_horizon_yr",
    "check_horizon",
    "MEMORY_BYTES_PER_CELL_PERIOD",
    "MEMORY_BYTES_PER_CELL",
    "MEMORY_BASELINE_BYTES",
    "memory_estimate_bytes",
    "available_memory_bytes",
    "check_memory",
]
