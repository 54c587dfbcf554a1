"""The cell-level QP as arrays, handed straight to HiGHS (no Pyomo): the package's fast path.

Formulation (the classes QP with the unconverted land eliminated, see :class:`afforest.model.problem.LandUseProblem`):
variables sigma_cj in [0, 1], the share of cell c planted in period j (column c T + j), and the total
planting rates R_j >= 0 (10^4 ha/yr, columns N T + j); rows

    sum_j sigma_cj <= 1                    (cell c, rows 0..N-1)
    sum_c a_c sigma_cj / dt - R_j = 0      (period j, rows N..N+T-1)

and the objective, minimised, is -W = -W0 - sum_cj V_cj a_c sigma_cj + sum_j k_j dt^2 R_j^2 (10^8 yuan).
The units keep every coefficient near 1 whatever the resolution: objective in 10^8 yuan, rates in 10^4 ha/yr,
and cells as shares of their own area (areas in 10^4 ha would make the cell rows' right-hand sides shrink
with 1/N). HiGHS's default active-set QP solver stops once more than ``qp_nullspace_limit`` (4000) variables
are free, so QPs go to the interior-point solver HiPO (``highspy-extras``) with AMD ordering, which on
these problems factorises faster than the default METIS ordering (measured in docs/performance.md).

HiGHS's tolerances are absolute (1e-7 on reduced costs and on rows), while the costs V_cj a_c grow with the
cells' areas: up to 7 x 10^2 at 200 cells, 10^4 at 32. HiPO stops on its own relative criteria (1e-8), and
HiGHS then checks the unscaled solution against the absolute ones; as crossover does not exist for QPs, a
reduced cost off by 1.4e-7 turned HiPO's converged point into model status "Solve error" (200 synthetic
cells, seed 0; catalogue row F12), and unbalanced costs made HiPO stall ("no progress", status Unknown,
1 000 cells, seed 1). :func:`cell_qp_options` therefore scales the objective by a power of two so that the
largest cost is at most 1 (``user_objective_scale``) and tightens the tolerances to keep the plans as
accurate as before (checked on 32-10^4 cells, see tests/test_catalogue_cells.py). Should HiGHS still end
without "Optimal", :func:`solve_cells_highs` keeps the plan only if it passes the package's own duality
certificate, warns, and records HiGHS's status verbatim.

:func:`build_cell_qp` gives the arrays, :func:`load_cell_qp` a loaded ``highspy.Highs``, and
:func:`solve_cells_highs` does both, runs HiGHS and returns a :class:`afforest.model.cells.plan.CellPlan`.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from afforest.errors import SolverError
from afforest.solvers import QP_ACTIVE_SET_FREE_VARIABLE_LIMIT, hipo_check
from afforest.model.cells.limits import check_memory
from afforest.model.cells.plan import CellPlan
from afforest.model.problem import LandUseProblem

__all__ = [
    "CellQP",
    "build_cell_qp",
    "load_cell_qp",
    "solve_cells_highs",
    "DEFAULT_QP_OPTIONS",
    "cell_qp_options",
    "cells_model_highs_options",
    "CertifiedPlanWarning",
]

DEFAULT_QP_OPTIONS: dict[str, Any] = {"solver": "hipo", "hipo_ordering": "amd"}
"""HiGHS options for the share formulation when ``highspy-extras`` (HiPO) is installed."""


QP_TOLERANCES: dict[str, float] = {
    "ipm_optimality_tolerance": 1e-11,
    "primal_feasibility_tolerance": 1e-10,
    "dual_feasibility_tolerance": 1e-10,
}
"""Tolerances for the objective scaled to a largest cost of 1: with HiGHS's defaults (1e-8, 1e-7, 1e-7)
the scaled problem stopped early (duality gap up to 2.5e-5 of the welfare gain at 32 cells, above the
certificate's 1e-6); with these, 0 of 24 instances of 32-1 000 cells failed and the gaps were <= 3e-8."""


class CertifiedPlanWarning(UserWarning):
    """HiGHS did not report an optimum, but its plan passes the package's duality certificate."""


def cell_qp_options(qp: CellQP) -> dict[str, Any]:
    """HiGHS options for one share-formulation QP: :data:`DEFAULT_QP_OPTIONS`, the objective scaled by
    2^k (k <= 0, ``user_objective_scale``) so that its largest cost is at most 1, and :data:`QP_TOLERANCES`
    (see the module docstring: HiGHS's absolute tolerances on costs of 10^2-10^4)."""
    largest = float(np.max(np.abs(qp.col_cost), initial=0.0))
    exponent = math.ceil(math.log2(largest)) if largest > 0 else 0
    return {
        **DEFAULT_QP_OPTIONS,
        "user_objective_scale": -min(max(exponent, 0), 50),  # HiGHS accepts -50..50
        **QP_TOLERANCES,
    }


def cells_model_highs_options(problem: LandUseProblem) -> dict[str, Any]:
    """HiGHS options for the Pyomo model of :func:`afforest.model.cells.build_cells_model` (or any cells ``LandUseModel``).

    That model keeps every cell's unconverted land as a variable in 10^4 ha, so its bounds shrink with
    1/N (0.05 at 10^4 cells): HiPO then stopped with "no progress" (status Unknown) on the synthetic
    instance of 10^4 cells. ``user_bound_scale`` = k multiplies bounds and variables by 2^k inside HiGHS;
    k is chosen so that the median cell area is of order 1. METIS (HiPO's default ordering) fills this formulation's
    factor less than AMD.
    """
    median_area = float(np.median(problem.area_10k_ha))
    return {"solver": "hipo", "user_bound_scale": round(-math.log2(median_area))}


@dataclass(frozen=True, eq=False)
class CellQP:
    """min c'x + x'Qx/2 + offset s.t. row_lower <= A x <= row_upper, col_lower <= x <= col_upper.

    A is column-wise (CSC arrays ``a_start``, ``a_index``, ``a_value``), Q its lower triangle, likewise.
    """

    n_cells: int
    n_periods: int
    offset: float
    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    a_start: np.ndarray
    a_index: np.ndarray
    a_value: np.ndarray
    q_start: np.ndarray
    q_index: np.ndarray
    q_value: np.ndarray

    @property
    def n_cols(self) -> int:
        return len(self.col_cost)

    @property
    def n_rows(self) -> int:
        return len(self.row_lower)

    @property
    def n_nonzeros(self) -> int:
        return len(self.a_value)


def build_cell_qp(problem: LandUseProblem) -> CellQP:
    """The arrays of the share formulation (module docstring) for ``problem``.

    Written in place into preallocated arrays: at 10^5 cells x 40 periods the matrix has 8 x 10^6
    nonzeros, and each avoided temporary of that size saves a fresh 32-64 MB allocation.
    """
    n, t = problem.n_cells, problem.n_periods
    dt = problem.grid.step_yr
    area = problem.area_10k_ha
    nt = n * t
    cost = np.zeros(nt + t)
    value = cost[:nt].reshape(n, t)  # V_cj, then -V_cj a_c
    problem.planting_value(out=value)
    value *= -area[:, None]
    a_start = np.empty(nt + t + 1, dtype=np.int32)
    a_start[: nt + 1] = np.arange(0, 2 * nt + 1, 2, dtype=np.int32)
    a_start[nt + 1 :] = 2 * nt + np.arange(1, t + 1, dtype=np.int32)
    a_index = np.empty(2 * nt + t, dtype=np.int32)
    a_index[0 : 2 * nt : 2].reshape(n, t)[:] = np.arange(n, dtype=np.int32)[:, None]
    a_index[1 : 2 * nt : 2].reshape(n, t)[:] = np.arange(n, n + t, dtype=np.int32)[None, :]
    a_index[2 * nt :] = np.arange(n, n + t, dtype=np.int32)
    a_value = np.empty(2 * nt + t)
    a_value[0 : 2 * nt : 2] = 1.0
    a_value[1 : 2 * nt : 2].reshape(n, t)[:] = (area / dt)[:, None]
    a_value[2 * nt :] = -1.0
    rate_cost = problem.rate_cost_10e8_yuan_per_10k_ha2 * dt * dt
    quadratic = rate_cost > 0
    q_start = np.zeros(nt + t + 1, dtype=np.int32)
    q_start[nt + 1 :] = np.cumsum(quadratic, dtype=np.int32)
    col_upper = np.full(nt + t, np.inf)
    col_upper[:nt] = 1.0
    return CellQP(
        n_cells=n,
        n_periods=t,
        offset=-problem.baseline_welfare_10e8_yuan,
        col_cost=cost,
        col_lower=np.zeros(nt + t),
        col_upper=col_upper,
        row_lower=np.concatenate([np.full(n, -np.inf), np.zeros(t)]),
        row_upper=np.concatenate([np.ones(n), np.zeros(t)]),
        a_start=a_start,
        a_index=a_index,
        a_value=a_value,
        q_start=q_start,
        q_index=(nt + np.flatnonzero(quadratic)).astype(np.int32),
        q_value=2.0 * rate_cost[quadratic],
    )


def _highspy() -> Any:
    try:
        import highspy
    except ImportError as exc:
        raise SolverError(
            "HiGHS is not available: `pip install highspy` (and `highspy-extras` for HiPO)"
        ) from exc
    return highspy


def load_cell_qp(qp: CellQP, options: dict[str, Any] | None = None, *, tee: bool = False) -> Any:
    """A ``highspy.Highs`` holding ``qp`` with ``options`` set (default :func:`cell_qp_options`)."""
    highspy = _highspy()
    if highspy.kHighsInf != np.inf:  # the arrays mark missing bounds with IEEE infinity
        raise SolverError(f"this highspy uses {highspy.kHighsInf} for infinity; afforest expects IEEE inf")
    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(tee))
    status = h.passModel(
        qp.n_cols,
        qp.n_rows,
        qp.n_nonzeros,
        len(qp.q_value),
        int(highspy.MatrixFormat.kColwise),
        int(highspy.HessianFormat.kTriangular),
        int(highspy.ObjSense.kMinimize),
        qp.offset,
        qp.col_cost,
        qp.col_lower,
        qp.col_upper,
        qp.row_lower,
        qp.row_upper,
        qp.a_start[:-1],
        qp.a_index,
        qp.a_value,
        qp.q_start[:-1],
        qp.q_index,
        qp.q_value,
        np.zeros(qp.n_cols, dtype=np.int32),
    )
    if status != highspy.HighsStatus.kOk:
        raise SolverError(f"HiGHS refused the cell QP ({status})")
    chosen = cell_qp_options(qp) if options is None else dict(options)
    if chosen.get("solver") == "hipo" and not hipo_check().usable:
        raise SolverError(
            f"{hipo_check().reason}. HiGHS's active-set QP solver stops beyond "
            f"{QP_ACTIVE_SET_FREE_VARIABLE_LIMIT} free variables; for a small problem pass "
            "options={'solver': 'choose'}, else use the decomposition method"
        )
    for key, value in chosen.items():
        if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            raise SolverError(f"HiGHS rejected option {key} = {value!r}")
    return h


def solve_cells_highs(
    problem: LandUseProblem,
    options: dict[str, Any] | None = None,
    *,
    allow_nonoptimal: bool = False,
    tee: bool = False,
) -> CellPlan:
    """Build, load and solve the cell QP with HiGHS; the plan's ``timings_s`` split the wall time.

    The plan's ``certificate`` checks the optimum independently of HiGHS's own tolerances. If HiGHS ends
    without "Optimal" but returns a plan that passes that certificate, the plan is kept with a
    :class:`CertifiedPlanWarning` and ``status`` "verified by the duality certificate (HiGHS model status
    '...')"; otherwise :class:`SolverError` (or, with ``allow_nonoptimal``, the plan with HiGHS's status).
    Refuses (``InputError``) a problem too large for the memory available (see
    :func:`afforest.model.cells.limits.check_memory`).
    """
    highspy = _highspy()
    check_memory(problem.n_cells, problem.n_periods, "highs")
    start = time.perf_counter()
    qp = build_cell_qp(problem)
    built = time.perf_counter()
    h = load_cell_qp(qp, options, tee=tee)
    loaded = time.perf_counter()
    h.run()
    solved = time.perf_counter()
    model_status = h.getModelStatus()
    status_text = h.modelStatusToString(model_status)
    optimal = model_status == highspy.HighsModelStatus.kOptimal
    nt = problem.n_cells * problem.n_periods
    share = np.asarray(h.getSolution().col_value, dtype=float)[:nt]
    if share.size != nt or not np.all(np.isfinite(share)):  # HiGHS returned no point at all
        if not optimal and not allow_nonoptimal:
            raise SolverError(
                f"HiGHS stopped with model status {status_text!r} and no solution on the cell QP "
                f"({problem.n_cells} cells); the decomposition method solves this problem exactly"
            )
        share = np.zeros(nt)
    planted = share.reshape(problem.n_cells, problem.n_periods) * problem.area_10k_ha[:, None]
    done = time.perf_counter()
    algorithm = (
        str(h.getOptionValue("solver")[1]) if isinstance(h.getOptionValue("solver"), tuple) else "choose"
    )
    version = f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"
    plan = CellPlan(
        problem,
        planted,
        "highs",
        f"highs {version} (highspy, {algorithm})",
        "optimal" if optimal else status_text.lower(),
        {"build": built - start, "load": loaded - built, "solve": solved - loaded, "extract": done - solved},
    )
    if optimal:
        return plan
    cert = plan.certificate
    if cert.verified:
        warnings.warn(
            f"HiGHS stopped with model status {status_text!r} on the cell QP ({problem.n_cells} cells), but "
            f"its plan passes the duality certificate (gap {cert.relative_gap:.1e} of the welfare gain, "
            f"infeasibility {cert.max_infeasibility:.1e}): plan kept",
            CertifiedPlanWarning,
            stacklevel=2,
        )
        return CellPlan(
            problem,
            planted,
            plan.method,
            plan.solver,
            f"verified by the duality certificate (HiGHS model status {status_text!r})",
            plan.timings_s,
        )
    if allow_nonoptimal:
        return plan
    raise SolverError(
        f"HiGHS stopped with model status {status_text!r} on the cell QP ({problem.n_cells} cells) and its "
        f"plan fails the duality certificate (gap {cert.relative_gap:.1e} of the welfare gain, "
        f"infeasibility {cert.max_infeasibility:.1e}); the decomposition method solves this problem exactly"
    )
