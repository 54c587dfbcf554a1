"""Cell-level planning: the classes QP of :mod:`afforest.model.landuse` with one state per land cell.

A cell c is a piece of afforestable land with its own area a_c (10^4 ha), current ESV b_c, ESV once
planted f_c (yuan/(ha yr)), first-year direct cost tau0_c (yuan/ha) and carbon yield q_c (t CO2/ha). The
planner chooses the area y_cj planted in cell c in period j (y_cj = x_cj dt, x the planting rate) and pays
the rising marginal cost tau1 R_j on the region's total rate R_j = sum_c x_cj, exactly as in the classes
model. With land not yet converted eliminated (A_{c,k} = a_c - sum_{j<k} y_cj), welfare (10^8 yuan) is

    W(y) = W0 + sum_{c,j} V_cj y_cj - sum_j k_j Y_j^2,     Y_j = sum_c y_cj,
    V_cj = s [ (f_c - b_c) G_j - (tau0_c - P q_c) d_j ],   k_j = s d_j tau1 / dt,

with s = 10^-4 (yuan/ha x 10^4 ha -> 10^8 yuan), d_j = e^{-r t_j} the cost discount, G_j the sum of the
flow weights of every period whose flows see the planting of period j plus the terminal perpetuity
(e^{-r t_j} / r with integrated discounting), P the carbon price (yuan/t CO2, 0 in the study: its planner
values no carbon) and W0 the PV of leaving all land in its current use. Subject to y >= 0 and
sum_j y_cj <= a_c. Because G_j / d_j is the same in every period, V_cj = e_j u_c: the value of a planted
hectare is a cell factor u_c = (f_c - b_c) G_0 / d_0 - tau0_c + P q_c (yuan/ha, the Eq. 3 test per cell)
times a time factor e_j = s d_j. :mod:`afforest.solvers.decomposition` exploits this.

Every solution is checked by weak duality: with prices p_j = 2 k_j Y_j on the aggregate rates, the dual
function g(p) = W0 + sum_c a_c max(0, max_j (V_cj - p_j)) + sum_j p_j^2 / (4 k_j) bounds W from above,
and g(p) - W(y) = sum_c [a_c max(0, max_j(V_cj - p_j)) - sum_j (V_cj - p_j) y_cj] is each cell's regret.
A zero gap proves the plan optimal whatever solver produced it (:func:`certify`).

Three ways to solve one :class:`CellProblem`, all returning a :class:`CellPlan`:
:func:`build_cells_model` (Pyomo, the same components as ``build_classes_model``; solve it with
``afforest.solvers.solve(m, "highs", cells_model_highs_options(problem))`` and read it with
:func:`plan_from_model`), :func:`afforest.solvers.highs_direct.solve_cells_highs` (arrays to highspy) and
:func:`afforest.solvers.decomposition.solve_cells_decomposition` (exact, fastest). docs/performance.md
compares them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from afforest.data import (
    LandUseParameters,
    data_path,
    load_afforestable_area,
    load_esv,
    load_landuse_parameters,
    load_quantities,
)
from afforest.errors import InputError
from afforest.model.landuse import (
    OBJECTIVE_UNIT_YUAN,
    Discounting,
    TimeGrid,
    _add_skeleton,
    _add_welfare,
    add_welfare_term,
)
from afforest.model.merit_order import PostPlantingRule, landuse_classes

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
    "OptimalityCertificate",
    "certify",
    "CellPlan",
    "build_cells_model",
    "plan_from_model",
    "NEGLIGIBLE_DISCOUNT",
    "max_horizon_yr",
    "check_horizon",
    "MEMORY_BYTES_PER_CELL_PERIOD",
    "memory_estimate_bytes",
    "available_memory_bytes",
    "check_memory",
]

CELL_COLUMNS: tuple[str, ...] = (
    "cell_id",
    "land_type",
    "province",
    "area_10k_ha",
    "esv_yuan_per_ha_yr",
    "afforested_esv_yuan_per_ha_yr",
)
"""Required columns of a cells table (ids are unique integers; ESVs in yuan/(ha yr))."""

OPTIONAL_CELL_COLUMNS: tuple[str, ...] = ("planting_cost_yuan_per_ha", "carbon_t_co2_per_ha")
"""Optional columns: a missing cost is the study's tau(0); a missing carbon yield is unknown (NaN)."""

_PER_10K_YUAN = 1e4 / OBJECTIVE_UNIT_YUAN
"""s: yuan/ha x 10^4 ha = 10^4 yuan, expressed in the objective unit 10^8 yuan."""

VERIFIED_RELATIVE_GAP = 1e-6
"""A plan counts as a verified optimum when its duality gap is below this share of its welfare gain
W - W0 (and it is feasible to the same relative tolerance): interior-point solvers stop near 1e-8 in
their own scaling; the decomposition reaches rounding error."""


# ------------------------------------------------------------------------------- size limits
NEGLIGIBLE_DISCOUNT = 1e-16
"""A planting period whose discount factor e^{-r t} is below this share of period 0's (about half the
machine epsilon of a double, 2.2e-16) cannot change any welfare figure: its planting value V_cj = e_j u_c
is lost in the rounding of period 0's. :func:`max_horizon_yr` stops the horizon there."""


def max_horizon_yr(rate: float, step_yr: float = 1.0, negligible: float = NEGLIGIBLE_DISCOUNT) -> float:
    """Longest horizon (a whole number of steps) whose last period starts by t* = ln(1 / negligible) / r.

    Period j starts at t_j = j dt; beyond t* its weights e^{-r t_j} are below ``negligible`` (default
    :data:`NEGLIGIBLE_DISCOUNT`) of period 0's, so further periods only cost memory and time (and, much
    further, e^{-r t} underflows to 0 and the planting value is 0/0: the RuntimeWarning and "not separable"
    error of catalogue row F6). At the study's r = 0.05 and one-year steps: 737 years. With
    ``negligible`` = :data:`VERIFIED_RELATIVE_GAP` (277 years) it is the horizon beyond which the
    certificate cannot tell what a plan does: planting land of no value there changes welfare by less than
    its tolerance, and interior-point solutions do (100 cells, 300 years: HiGHS 91.111 x 10^4 ha planted,
    the exact 91.099; 737 years: 453.4).
    """
    last_start = math.log(1.0 / negligible) / rate
    return step_yr * (math.floor(last_start / step_yr + 1e-9) + 1)


def check_horizon(rate: float, grid: TimeGrid, *, field: str = "horizon_yr", value: object = None) -> None:
    """Raise :class:`InputError` if ``grid`` is longer than :func:`max_horizon_yr` at ``rate``."""
    limit = max_horizon_yr(rate, grid.step_yr)
    if grid.horizon_yr > limit * (1 + 1e-12):
        raise InputError(
            f"must be at most {limit:g} years: beyond year {limit - grid.step_yr:g} the discount factor "
            f"e^(-r t) at r = {rate:g}/yr is below {NEGLIGIBLE_DISCOUNT:g} of year 0's, so later periods "
            "cannot change any result (and far beyond, it underflows to 0); choose a horizon up to that",
            field=field,
            value=grid.horizon_yr if value is None else value,
        )


MEMORY_BYTES_PER_CELL_PERIOD: dict[str, float] = {
    "decomposition": 48.0,
    "highs": 1_200.0,
    "floor": 1_400.0,
    "pyomo": 8_000.0,
}
"""Peak memory per cell and period of each way to solve a :class:`CellProblem`, bytes (rounded up).

Measured on synthetic instances with T = 40 one-year periods: peak RSS from ``getrusage`` (MiB) minus the
246 MiB of the interpreter with Pyomo, pandas and HiGHS imported, over the cell-periods (docs/performance.md,
``afforest bench scale --sizes 1000,10000,100000``):

* ``highs`` (the fast path, :mod:`afforest.solvers.highs_direct`): 450 MiB at 10^4 cells (4 x 10^5
  cell-periods: 1 180 B each) and 4 341 MiB at 10^5 (1 138 B): the QP arrays, HiGHS's copy and HiPO's
  factorisation;
* ``floor`` (the benchmark's arrays straight to highspy): 529 MiB at 10^4 (1 387 B), 4 820 MiB at 10^5
  (1 264 B);
* ``pyomo``: 245 MiB at 10^3 (6 424 B), 2 978 MiB at 10^4 (7 807 B): Pyomo's components and its HiGHS
  translation;
* ``decomposition``: a few n_cells x n_periods float64 arrays (V, the plan, the certificate's margins):
  measured 16-18 B per cell-period beyond the table at 10^5-10^6 cells, counted as 6 arrays of 8 B.
"""

MEMORY_BYTES_PER_CELL = 700.0
"""Peak memory per cell of the cells table, its validated copy and the synthetic generator's temporaries:
measured 654, 505 and 453 B at 10^5, 3 x 10^5 and 10^6 cells (``synthetic_cells`` then ``cell_problem``)."""

MEMORY_BASELINE_BYTES = 300 * 2**20
"""The interpreter with Pyomo, pandas and HiGHS imported: 246 MB measured, rounded up."""


def memory_estimate_bytes(n_cells: int, n_periods: int, method: str = "decomposition") -> int:
    """Peak memory (bytes) to build, solve and certify ``n_cells`` x ``n_periods`` by ``method``.

    baseline + n_cells x :data:`MEMORY_BYTES_PER_CELL` + n_cells x n_periods x
    :data:`MEMORY_BYTES_PER_CELL_PERIOD` [method]: pure arithmetic, nothing is allocated.
    """
    if method not in MEMORY_BYTES_PER_CELL_PERIOD:
        raise InputError(
            f"unknown method; choose from {tuple(MEMORY_BYTES_PER_CELL_PERIOD)}", field="method", value=method
        )
    cells, periods = int(n_cells), int(n_periods)
    return int(
        MEMORY_BASELINE_BYTES
        + cells * MEMORY_BYTES_PER_CELL
        + cells * periods * MEMORY_BYTES_PER_CELL_PERIOD[method]
    )


def available_memory_bytes() -> int | None:
    """Memory this process can still use: MemAvailable of /proc/meminfo (else free physical pages from
    ``os.sysconf``), capped by the cgroup v2 limit if there is one; None if the system does not say."""
    available: int | None = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            available = None
    try:
        with open("/sys/fs/cgroup/memory.max") as fh:
            limit = fh.read().strip()
        with open("/sys/fs/cgroup/memory.current") as fh:
            used = int(fh.read().strip())
        if limit != "max":
            room = max(int(limit) - used, 0)
            available = room if available is None else min(available, room)
    except (OSError, ValueError):
        pass
    return available


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.3g} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:.3g} MB"


def check_memory(
    n_cells: int,
    n_periods: int,
    method: str = "decomposition",
    *,
    field: str = "n_cells",
    value: object = None,
    file: str | Path | None = None,
    fewer: str = "fewer cells or periods",
    other_method: str = "the decomposition method",
) -> int:
    """Refuse, before anything is built, a problem whose :func:`memory_estimate_bytes` exceeds what
    :func:`available_memory_bytes` reports; return the estimate. The error names ``field`` (e.g. the
    command-line option) and ``value``, the estimate, what is available, and what to do (``fewer``, or
    ``other_method`` if it would fit)."""
    estimate = memory_estimate_bytes(n_cells, n_periods, method)
    available = available_memory_bytes()
    if available is None or estimate <= available:
        return estimate
    advice = f"solve a smaller problem ({fewer})"
    if method != "decomposition":
        light = memory_estimate_bytes(n_cells, n_periods, "decomposition")
        if light <= available:
            advice += f", or use {other_method} (about {_gb(light)})"
    raise InputError(
        f"{int(n_cells):,} cells x {int(n_periods)} periods by {method} need about {_gb(estimate)} of memory "
        f"(measured {MEMORY_BYTES_PER_CELL_PERIOD[method]:g} bytes per cell-period, see "
        f"docs/performance.md), but only {_gb(available)} is available: {advice}",
        file=file,
        field=field,
        value=n_cells if value is None else value,
    )


# --------------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class CellSpreads:
    """Within-class spreads of the synthetic generator (see ``data/cell_spreads.toml``)."""

    site_factor_cv: float
    forest_esv_factor_cv: float
    planting_cost_factor_cv: float
    carbon_t_co2_per_ha: float

    def __post_init__(self) -> None:
        for name in _SPREAD_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise InputError("must be a finite number >= 0", field=name, value=value)

    @classmethod
    def none(cls, carbon_t_co2_per_ha: float) -> CellSpreads:
        """No spread: every cell of a class has the class's values (exact aggregation)."""
        return cls(0.0, 0.0, 0.0, carbon_t_co2_per_ha)


_SPREAD_FIELDS = ("site_factor_cv", "forest_esv_factor_cv", "planting_cost_factor_cv", "carbon_t_co2_per_ha")


def load_cell_spreads(path: str | Path | None = None) -> CellSpreads:
    """Spreads from a TOML of documented scalars (default ``data/cell_spreads.toml``)."""
    file = Path(path) if path is not None else data_path("cell_spreads.toml")
    quantities = load_quantities(file)
    values = {}
    for name in _SPREAD_FIELDS:
        if name not in quantities:
            raise InputError("missing entry", file=file, field=name)
        value = quantities[name].value
        if isinstance(value, tuple):
            raise InputError("expected a single number", file=file, field=name, value=value)
        values[name] = value
    try:
        return CellSpreads(**values)
    except InputError as exc:
        raise InputError(exc.reason, file=file, field=exc.field, value=exc.value) from None


def _lognormal_factor(rng: np.random.Generator, cv: float, size: int) -> np.ndarray:
    """Lognormal draws with mean 1 and coefficient of variation ``cv``."""
    if cv == 0:
        return np.ones(size)
    sigma2 = math.log1p(cv * cv)
    return rng.lognormal(-sigma2 / 2, math.sqrt(sigma2), size)


def _cells_per_class(areas: np.ndarray, n_cells: int) -> np.ndarray:
    """At least one cell per class, the rest in proportion to area (largest remainder)."""
    extra = n_cells - len(areas)
    quota = extra * areas / areas.sum()
    counts = np.floor(quota).astype(int)
    remainder = extra - counts.sum()
    counts[np.argsort(-(quota - counts), kind="stable")[:remainder]] += 1
    return counts + 1


def synthetic_cells(
    n_cells: int,
    *,
    seed: int = 0,
    spreads: CellSpreads | None = None,
    params: LandUseParameters | None = None,
    area: pd.DataFrame | None = None,
    esv: pd.DataFrame | None = None,
    rule: PostPlantingRule | str = PostPlantingRule.CURVE_AVERAGE,
) -> pd.DataFrame:
    """``n_cells`` cells that tile the study's classes, with values spread around the class values.

    Each merit-order class of Table 2 (``landuse_classes``) gets at least one cell and otherwise cells in
    proportion to its area; its cells share its area equally, so class and regional totals are exactly
    Table 2's. A cell's current ESV, post-planting ESV and carbon yield are the class's (Table 3; the
    post-planting value by ``rule``; the mean yield of ``spreads``) times one lognormal site factor; its
    post-planting ESV also carries an independent forest factor and its cost is tau(0) times an independent
    cost factor (all lognormal, mean 1, spreads from ``data/cell_spreads.toml``).
    ``spreads=CellSpreads.none(...)`` gives identical cells within a class. At ~1 km resolution the
    study's 499.58 x 10^4 ha are ~50,000 cells.
    """
    if isinstance(n_cells, bool) or not isinstance(n_cells, (int, np.integer)) or n_cells <= 0:
        raise InputError("must be a positive whole number", field="n_cells", value=n_cells)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("must be a whole number >= 0", field="seed", value=seed)
    # the generator's own arrays (~MEMORY_BYTES_PER_CELL per cell): refuse before allocating any of them
    check_memory(int(n_cells), 0, field="n_cells", fewer="fewer cells")
    params = params or load_landuse_parameters()
    spreads = spreads or load_cell_spreads()
    classes = landuse_classes(
        load_afforestable_area() if area is None else area, load_esv() if esv is None else esv, params, rule
    )
    if n_cells < len(classes):
        raise InputError(
            f"needs at least one cell per class ({len(classes)} classes)", field="n_cells", value=n_cells
        )
    counts = _cells_per_class(classes["area_10k_ha"].to_numpy(float), int(n_cells))
    rows = classes.loc[classes.index.repeat(counts)].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    site = _lognormal_factor(rng, spreads.site_factor_cv, int(n_cells))
    forest = _lognormal_factor(rng, spreads.forest_esv_factor_cv, int(n_cells))
    cost = _lognormal_factor(rng, spreads.planting_cost_factor_cv, int(n_cells))
    return pd.DataFrame(
        {
            "cell_id": np.arange(int(n_cells), dtype=np.int64),
            "land_type": rows["land_type"].to_numpy(),
            "province": rows["province"].to_numpy(),
            "area_10k_ha": rows["area_10k_ha"].to_numpy(float) / np.repeat(counts, counts),
            "esv_yuan_per_ha_yr": rows["esv_yuan_per_ha_yr"].to_numpy(float) * site,
            "afforested_esv_yuan_per_ha_yr": rows["afforested_esv_yuan_per_ha_yr"].to_numpy(float)
            * site
            * forest,
            "planting_cost_yuan_per_ha": params.planting_cost_intercept_yuan_per_ha * cost,
            "carbon_t_co2_per_ha": spreads.carbon_t_co2_per_ha * site,
        }
    )


def _first_bad(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def validate_cells(
    cells: pd.DataFrame, params: LandUseParameters | None = None, *, file: str | Path | None = None
) -> pd.DataFrame:
    """A clean copy of a cells table: required columns, numeric types, optional columns filled.

    Checks unique integer ``cell_id`` >= 0, non-empty ``land_type`` and ``province``, finite areas > 0,
    finite ESVs (the study's fitted C'(z) makes the last classes' post-planting value negative), finite
    costs >= 0 and carbon yields >= 0 (NaN allowed: unknown). A missing
    ``planting_cost_yuan_per_ha`` is filled with the study's tau(0) from ``params``. Errors name the file
    (if any), the line (CSV numbering: the header is line 1), the column and the value.
    """
    if not isinstance(cells, pd.DataFrame):
        raise InputError("expected a pandas DataFrame", file=file, field="cells", value=type(cells).__name__)
    missing = [c for c in CELL_COLUMNS if c not in cells.columns]
    if missing:
        raise InputError(
            f"cells table lacks columns {missing}", file=file, field="header", value=list(cells.columns)
        )
    if cells.empty:
        raise InputError("cells table has no rows", file=file)
    n = len(cells)

    def fail(reason: str, column: str, index: int) -> InputError:
        value = cells[column].iloc[index]
        return InputError(
            reason,
            file=file,
            row=index + 2 if file is not None else None,
            field=column,
            value=value.item() if isinstance(value, np.generic) else value,  # -1.0, not np.float64(-1.0)
        )

    def numbers(column: str) -> tuple[np.ndarray, np.ndarray]:
        """Values as floats, and where an entry is present but not a number."""
        raw = cells[column]
        if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
            return raw.to_numpy(dtype=float, na_value=np.nan), np.zeros(n, dtype=bool)
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return values, np.isnan(values) & ~raw.isna().to_numpy()

    out: dict[str, np.ndarray] = {}
    ids, unparsable = numbers("cell_id")
    bad = _first_bad(unparsable | ~(ids >= 0) | (ids != np.floor(ids)))
    if bad is not None:
        raise fail("cell_id must be a whole number >= 0", "cell_id", bad)
    out["cell_id"] = ids.astype(np.int64)
    ordered = np.sort(out["cell_id"])
    if n > 1 and bool((ordered[1:] == ordered[:-1]).any()):
        raise fail(
            "duplicate cell_id", "cell_id", _first_bad(pd.Series(out["cell_id"]).duplicated().to_numpy()) or 0
        )
    for column in ("land_type", "province"):
        codes, names = pd.factorize(cells[column])  # few distinct names: check those, not every row
        empty = np.array([not isinstance(name, str) or not name.strip() for name in names] + [True])
        bad = _first_bad(empty[codes])
        if bad is not None:
            raise fail("must be a non-empty name", column, bad)
        out[column] = cells[column].reset_index(drop=True)
    checks = {
        "area_10k_ha": (lambda v: v > 0, "must be a finite number > 0", False),
        "esv_yuan_per_ha_yr": (np.isfinite, "must be a finite number", False),
        "afforested_esv_yuan_per_ha_yr": (np.isfinite, "must be a finite number", False),
        "planting_cost_yuan_per_ha": (lambda v: v >= 0, "must be a finite number >= 0", False),
        "carbon_t_co2_per_ha": (lambda v: v >= 0, "must be a number >= 0 (empty or NaN: unknown)", True),
    }
    for column, (ok, reason, nan_allowed) in checks.items():
        if column not in cells.columns:
            default = (
                np.nan
                if nan_allowed
                else (params or load_landuse_parameters()).planting_cost_intercept_yuan_per_ha
            )
            out[column] = np.full(n, default)
            continue
        values, unparsable = numbers(column)
        with np.errstate(invalid="ignore"):
            good = np.isfinite(values) & ok(values)
        if nan_allowed:
            good |= np.isnan(values) & ~unparsable
        bad = _first_bad(~good)
        if bad is not None:
            raise fail(reason, column, bad)
        out[column] = values
    return pd.DataFrame(out, columns=[*CELL_COLUMNS, *OPTIONAL_CELL_COLUMNS])


def load_cells(path: str | Path, params: LandUseParameters | None = None) -> pd.DataFrame:
    """A validated cells table from a CSV or Parquet file (e.g. the suitability overlay's cells)."""
    file = Path(path)
    if not file.exists():
        raise InputError("file not found", file=file)
    try:
        if file.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(file)
        else:
            frame = pd.read_csv(file, skipinitialspace=True)
    except Exception as exc:  # pandas and pyarrow raise many types for unreadable files
        raise InputError(f"not a readable table ({exc})", file=file) from exc
    if file.suffix.lower() not in (".parquet", ".pq"):
        return validate_cells(frame, params, file=file)
    try:  # Parquet rows have no line numbers: name the file, the column and the value
        return validate_cells(frame, params)
    except InputError as exc:
        raise InputError(exc.reason, file=file, field=exc.field, value=exc.value) from None


# ------------------------------------------------------------------------------------- the problem
@dataclass(frozen=True)
class DiscountWeights:
    """The time weights of the land-use DP on a grid (as in ``afforest.model.landuse``), as arrays.

    ``flow_yr[k]`` weighs the ESV flows of period k, ``terminal_yr`` the perpetuity of the final state,
    ``cost[k]`` = e^{-r t_k} the planting cost of period k, and ``gain_yr[j]`` the sum of the weights of
    every flow that land planted in period j changes (later periods and the terminal value), in yr.
    """

    period_start_yr: np.ndarray
    flow_yr: np.ndarray
    terminal_yr: float
    cost: np.ndarray
    gain_yr: np.ndarray


def discount_weights(rate: float, grid: TimeGrid) -> DiscountWeights:
    """Closed forms of the skeleton's ``flow_discount_yr``, ``terminal_discount_yr``, ``cost_discount``."""
    n, dt, horizon = grid.periods, grid.step_yr, grid.horizon_yr
    start = np.arange(n, dtype=float) * float(dt)
    cost = np.exp(-rate * start)
    if grid.discounting is Discounting.INTEGRATED:
        flow = cost * (-np.expm1(-rate * dt)) / rate
        terminal = math.exp(-rate * horizon) / rate
        first_flow_seen = 0  # flows of period k use the state after planting: planting in j changes k >= j
    else:
        flow = dt * cost
        terminal = dt * math.exp(-rate * horizon) / (-math.expm1(-rate * dt))
        first_flow_seen = 1  # flows of period k use the state before planting: planting in j changes k > j
    tail = np.concatenate([np.cumsum(flow[::-1])[::-1], [0.0]])
    gain = tail[first_flow_seen : first_flow_seen + n] + terminal
    return DiscountWeights(start, flow, terminal, cost, gain)


@dataclass(frozen=True, eq=False)
class CellProblem:
    """One cell-level planning problem as arrays (cells in table order, periods of ``grid``)."""

    cells: pd.DataFrame
    params: LandUseParameters
    grid: TimeGrid
    carbon_price_yuan_per_t_co2: float
    weights: DiscountWeights

    @property
    def n_cells(self) -> int:
        return len(self.cells)

    @property
    def n_periods(self) -> int:
        return self.grid.periods

    @cached_property
    def area_10k_ha(self) -> np.ndarray:
        return self.cells["area_10k_ha"].to_numpy(float)

    @cached_property
    def esv_gain_yuan_per_ha_yr(self) -> np.ndarray:
        """f_c - b_c: the yearly ESV a hectare gains once planted."""
        return self.cells["afforested_esv_yuan_per_ha_yr"].to_numpy(float) - self.cells[
            "esv_yuan_per_ha_yr"
        ].to_numpy(float)

    @cached_property
    def net_cost_yuan_per_ha(self) -> np.ndarray:
        """tau0_c - P q_c: first-year cost net of the carbon payment (a NaN yield counts as 0 at P = 0)."""
        cost = self.cells["planting_cost_yuan_per_ha"].to_numpy(float)
        if self.carbon_price_yuan_per_t_co2 == 0:
            return cost
        return cost - self.carbon_price_yuan_per_t_co2 * self.cells["carbon_t_co2_per_ha"].to_numpy(float)

    @property
    def baseline_welfare_10e8_yuan(self) -> float:
        """W0: PV of every cell's current ESV, forever (nothing planted), 10^8 yuan."""
        total_weight = float(self.weights.flow_yr.sum() + self.weights.terminal_yr)
        current = self.cells["esv_yuan_per_ha_yr"].to_numpy(float)
        return _PER_10K_YUAN * total_weight * float(current @ self.area_10k_ha)

    @property
    def rate_cost_10e8_yuan_per_10k_ha2(self) -> np.ndarray:
        """k_j: planting Y_j (10^4 ha) in period j costs k_j Y_j^2 on top of the linear cost, 10^8 yuan."""
        return (
            _PER_10K_YUAN
            * self.weights.cost
            * self.params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
            / self.grid.step_yr
        )

    objective_scale: ClassVar[float] = _PER_10K_YUAN
    """s: yuan/ha x 10^4 ha in the objective unit (10^8 yuan)."""

    def planting_value(self) -> np.ndarray:
        """V (n_cells x n_periods): welfare gained per 10^4 ha planted in cell c, period j, before the
        rising cost, 10^8 yuan per 10^4 ha."""
        w = self.weights
        value = np.multiply.outer(self.esv_gain_yuan_per_ha_yr, _PER_10K_YUAN * w.gain_yr)
        value -= np.multiply.outer(self.net_cost_yuan_per_ha, _PER_10K_YUAN * w.cost)
        return value

    def product_form(self) -> tuple[np.ndarray, np.ndarray]:
        """(e, u) with V_cj = e_j u_c: e_j = s d_j (10^8 yuan per 10^4 ha per yuan/ha), u_c in yuan/ha.

        u_c = (f_c - b_c) G_j / d_j - tau0_c + P q_c, the PV at planting of a hectare's net gain. Raises
        ``InputError`` if G_j / d_j varies with j (it does not for the grids of ``TimeGrid``).
        """
        w = self.weights
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = w.gain_yr / w.cost
        if not np.all(np.isfinite(ratio)) or not np.allclose(ratio, ratio[0], rtol=1e-10, atol=0.0):
            raise InputError(
                "the value of planting is not separable into a cell and a time factor", field="grid"
            )
        return _PER_10K_YUAN * w.cost, self.esv_gain_yuan_per_ha_yr * float(
            ratio[0]
        ) - self.net_cost_yuan_per_ha

    def welfare_10e8_yuan(self, planted_area_10k_ha: np.ndarray) -> float:
        """W(y) for a plan y (n_cells x n_periods of areas planted, 10^4 ha)."""
        y = self._check_plan(planted_area_10k_ha)
        total = y.sum(axis=0)
        gain = float(np.einsum("cj,cj->", self.planting_value(), y)) - float(
            self.rate_cost_10e8_yuan_per_10k_ha2 @ total**2
        )
        return self.baseline_welfare_10e8_yuan + gain

    def _check_plan(self, planted: np.ndarray) -> np.ndarray:
        y = np.asarray(planted, dtype=float)
        if y.shape != (self.n_cells, self.n_periods):
            raise InputError(
                f"plan must have shape (n_cells, n_periods) = {(self.n_cells, self.n_periods)}",
                field="planted_area_10k_ha",
                value=y.shape,
            )
        return y


def cell_problem(
    cells: pd.DataFrame,
    params: LandUseParameters | None = None,
    grid: TimeGrid | None = None,
    *,
    carbon_price_yuan_per_t_co2: float = 0.0,
) -> CellProblem:
    """Validate a cells table and fix the economics (``params``, default the study's) and time grid."""
    params = params or load_landuse_parameters()
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
    return CellProblem(
        table, params, grid, float(price), discount_weights(params.financial_discount_rate, grid)
    )


# ------------------------------------------------------------------------------------ certificates
@dataclass(frozen=True)
class OptimalityCertificate:
    """Weak-duality check of a plan: welfare, the dual bound at the plan's own prices and the gap."""

    welfare_10e8_yuan: float
    welfare_gain_10e8_yuan: float
    """W - W0: what planting adds to leaving every cell as it is."""
    dual_bound_10e8_yuan: float
    gap_10e8_yuan: float
    relative_gap: float
    """gap / |W - W0| (gap itself when nothing is gained)."""
    max_infeasibility: float
    """Largest negative planting or over-planting of a cell, as a share of the cell's area."""
    verified: bool

    def as_dict(self) -> dict[str, float | bool]:
        return dict(self.__dict__)


def certify(
    problem: CellProblem, planted_area_10k_ha: np.ndarray, tolerance: float = VERIFIED_RELATIVE_GAP
) -> OptimalityCertificate:
    """Bound the welfare of any plan from above by the dual function at prices p_j = 2 k_j Y_j.

    The bound holds for every feasible plan (weak duality), so a gap below ``tolerance`` x (W - W0)
    proves the plan optimal to that tolerance, independently of the solver that produced it.
    """
    y = problem._check_plan(planted_area_10k_ha)
    area = problem.area_10k_ha
    infeasibility = max(
        float(np.max(-y / area[:, None], initial=0.0)), float(np.max(y.sum(axis=1) / area - 1.0, initial=0.0))
    )
    total = y.sum(axis=0)
    k = problem.rate_cost_10e8_yuan_per_10k_ha2
    price = 2.0 * k * total
    margin = problem.planting_value() - price
    best = np.maximum(margin.max(axis=1), 0.0)
    regret = area * best - np.einsum("cj,cj->c", margin, y)
    gap = float(regret.sum())
    w0 = problem.baseline_welfare_10e8_yuan
    gain = float(np.einsum("cj,cj->", margin + price, y)) - float(k @ total**2)
    relative = gap / abs(gain) if gain != 0 else gap
    return OptimalityCertificate(
        welfare_10e8_yuan=w0 + gain,
        welfare_gain_10e8_yuan=gain,
        dual_bound_10e8_yuan=w0 + gain + gap,
        gap_10e8_yuan=gap,
        relative_gap=relative,
        max_infeasibility=infeasibility,
        verified=bool(relative <= tolerance and infeasibility <= tolerance),
    )


# ------------------------------------------------------------------------------------------- plans
@dataclass(frozen=True, eq=False)
class CellPlan:
    """A solved cell-level plan: area planted per cell and period, how it was found, and how fast."""

    problem: CellProblem
    planted_area_10k_ha: np.ndarray
    method: str
    """``pyomo``, ``highs`` or ``decomposition``."""
    solver: str
    """What ran, e.g. ``highs 1.15.1 (highspy, hipo)``."""
    status: str = "optimal"
    timings_s: Mapping[str, float] = field(default_factory=dict)
    """Wall times of the steps, e.g. ``build``, ``load``, ``solve``, ``extract``."""

    @cached_property
    def certificate(self) -> OptimalityCertificate:
        return certify(self.problem, self.planted_area_10k_ha)

    @property
    def welfare_10e8_yuan(self) -> float:
        return self.certificate.welfare_10e8_yuan

    @property
    def planting_rate_10k_ha_per_yr(self) -> np.ndarray:
        return self.planted_area_10k_ha.sum(axis=0) / self.problem.grid.step_yr

    def planting_path(self) -> pd.DataFrame:
        """One row per period, the columns of ``afforest.model.landuse.planting_path``."""
        p = self.problem
        planted = self.planted_area_10k_ha.sum(axis=0)
        afforested = np.cumsum(planted)
        return pd.DataFrame(
            {
                "period_start_yr": p.weights.period_start_yr,
                "planting_rate_10k_ha_per_yr": planted / p.grid.step_yr,
                "unconverted_area_10k_ha": p.area_10k_ha.sum() - afforested,
                "afforested_area_10k_ha": afforested,
            }
        )

    def cell_planting(self, threshold_10k_ha: float = 1e-9) -> pd.DataFrame:
        """Tidy cohorts: ``cell_id``, ``land_type``, ``province``, ``period_start_yr``,
        ``planted_area_10k_ha``."""
        cell, period = np.nonzero(self.planted_area_10k_ha > threshold_10k_ha)
        cells = self.problem.cells
        return pd.DataFrame(
            {
                "cell_id": cells["cell_id"].to_numpy()[cell],
                "land_type": cells["land_type"].to_numpy()[cell],
                "province": cells["province"].to_numpy()[cell],
                "period_start_yr": self.problem.weights.period_start_yr[period],
                "planted_area_10k_ha": self.planted_area_10k_ha[cell, period],
            }
        )

    def cell_summary(self) -> pd.DataFrame:
        """Per cell: area planted by the horizon, share of the cell, first planting year and carbon stored."""
        y = self.planted_area_10k_ha
        planted = y.sum(axis=1)
        any_planted = (y > 0).any(axis=1)
        first = np.where(any_planted, self.problem.weights.period_start_yr[np.argmax(y > 0, axis=1)], np.nan)
        cells = self.problem.cells
        return pd.DataFrame(
            {
                "cell_id": cells["cell_id"].to_numpy(),
                "land_type": cells["land_type"].to_numpy(),
                "province": cells["province"].to_numpy(),
                "planted_area_10k_ha": planted,
                "planted_share": planted / self.problem.area_10k_ha,
                "first_planting_yr": first,
                "carbon_mt_co2": planted * cells["carbon_t_co2_per_ha"].to_numpy(float) * 1e4 / 1e6,
            }
        )

    def allocation(self, threshold_10k_ha: float = 1e-6) -> pd.DataFrame:
        """Area planted by the horizon by land type and province (the columns of ``class_allocation``)."""
        summary = self.cell_summary().rename(columns={"planted_area_10k_ha": "area_10k_ha"})
        frame = summary.groupby(["land_type", "province"], as_index=False, sort=False)["area_10k_ha"].sum()
        return frame[frame["area_10k_ha"] > threshold_10k_ha].reset_index(drop=True)

    def summary(self) -> dict[str, object]:
        cert = self.certificate
        return {
            "method": self.method,
            "solver": self.solver,
            "status": self.status,
            "n_cells": self.problem.n_cells,
            "n_periods": self.problem.n_periods,
            "afforested_area_10k_ha": float(self.planted_area_10k_ha.sum()),
            **cert.as_dict(),
            **{f"{k}_s": v for k, v in self.timings_s.items()},
        }


# ------------------------------------------------------------------------------------- Pyomo path
def build_cells_model(
    cells: pd.DataFrame | CellProblem,
    params: LandUseParameters | None = None,
    grid: TimeGrid | None = None,
    *,
    carbon_price_yuan_per_t_co2: float = 0.0,
) -> pyo.ConcreteModel:
    """The cell-level DP as a Pyomo QP with the components of ``build_classes_model``.

    The set ``classes`` holds one (land_type, province, cell_id) per cell (the cell id in the place of the
    slice), so ``planting_path``, ``class_allocation`` and ``class_planting_path`` work unchanged. Beyond
    the classes model: mutable params ``planting_cost_yuan_per_ha[c]`` (the cell's tau(0)),
    ``carbon_t_co2_per_ha[c]`` (NaN stored as 0) and ``carbon_price_yuan_per_t_co2``, and two welfare
    terms: ``site_cost_premium_pv`` (minus the PV of the cell's cost above the regional tau(0)) and
    ``carbon_value_pv`` (the carbon payment P q_c per planted hectare at planting, discounted like costs).
    """
    if isinstance(cells, CellProblem):
        problem = cells
    else:
        problem = cell_problem(cells, params, grid, carbon_price_yuan_per_t_co2=carbon_price_yuan_per_t_co2)
    check_memory(problem.n_cells, problem.n_periods, "pyomo")
    table, grid = problem.cells, problem.grid
    keys = list(zip(table["land_type"].tolist(), table["province"].tolist(), table["cell_id"].tolist()))

    def by_cell(column: str, nan: float | None = None) -> dict[tuple[str, str, int], float]:
        values = table[column].to_numpy(float)
        if nan is not None:
            values = np.nan_to_num(values, nan=nan)
        return dict(zip(keys, values.tolist()))

    m = pyo.ConcreteModel(name="afforest_cells")
    _add_skeleton(m, problem.params, grid)
    m.classes = pyo.Set(
        initialize=keys, dimen=3, ordered=True, doc="cells (land_type, province, cell_id), table order"
    )
    area = by_cell("area_10k_ha")
    m.class_area_10k_ha = pyo.Param(m.classes, initialize=area, mutable=True, doc="cell area, 10^4 ha")
    m.current_esv_yuan_per_ha_yr = pyo.Param(
        m.classes, initialize=by_cell("esv_yuan_per_ha_yr"), mutable=True, doc="ESV of the current use"
    )
    m.afforested_esv_yuan_per_ha_yr = pyo.Param(
        m.classes, initialize=by_cell("afforested_esv_yuan_per_ha_yr"), mutable=True, doc="ESV once planted"
    )
    m.planting_cost_yuan_per_ha = pyo.Param(
        m.classes,
        initialize=by_cell("planting_cost_yuan_per_ha"),
        mutable=True,
        doc="the cell's tau(0), yuan/ha",
    )
    m.carbon_t_co2_per_ha = pyo.Param(
        m.classes,
        initialize=by_cell("carbon_t_co2_per_ha", nan=0.0),
        mutable=True,
        doc="CO2 stored per planted ha",
    )
    m.carbon_price_yuan_per_t_co2 = pyo.Param(
        initialize=problem.carbon_price_yuan_per_t_co2, mutable=True, doc="carbon payment P, yuan/t CO2"
    )
    m.unconverted_area_10k_ha = pyo.Var(
        m.classes,
        m.time_points,
        within=pyo.NonNegativeReals,
        initialize=lambda m, land, prov, cid, t: area[(land, prov, cid)],
        doc="cell land not yet converted, 10^4 ha",
    )
    m.class_planting_rate_10k_ha_per_yr = pyo.Var(
        m.classes,
        m.periods,
        within=pyo.NonNegativeReals,
        initialize=0.0,
        doc="planting rate by cell, 10^4 ha/yr",
    )
    x, a = m.class_planting_rate_10k_ha_per_yr, m.unconverted_area_10k_ha
    m.initial_state = pyo.Constraint(m.classes, rule=lambda m, *c: a[c, 0] == m.class_area_10k_ha[c])
    m.land_balance = pyo.Constraint(
        m.classes,
        m.periods,
        rule=lambda m, land, prov, cid, k: (
            a[land, prov, cid, k + 1] == a[land, prov, cid, k] - x[land, prov, cid, k] * m.step_yr
        ),
    )
    m.planting_rate_total = pyo.Constraint(
        m.periods,
        rule=lambda m, k: m.planting_rate_10k_ha_per_yr[k] == pyo.quicksum(x[c, k] for c in m.classes),
    )
    m.unconverted_esv_flow = pyo.Expression(
        m.time_points,
        rule=lambda m, t: (
            _PER_10K_YUAN * pyo.quicksum(m.current_esv_yuan_per_ha_yr[c] * a[c, t] for c in m.classes)
        ),
        doc="ESV of unconverted land, 10^8 yuan/yr",
    )
    m.afforested_esv_flow = pyo.Expression(
        m.time_points,
        rule=lambda m, t: (
            _PER_10K_YUAN
            * pyo.quicksum(
                m.afforested_esv_yuan_per_ha_yr[c] * (m.class_area_10k_ha[c] - a[c, t]) for c in m.classes
            )
        ),
        doc="ESV of afforested land, 10^8 yuan/yr",
    )
    _add_welfare(m)
    add_welfare_term(
        m,
        "site_cost_premium_pv",
        -_PER_10K_YUAN
        * pyo.quicksum(
            m.cost_discount[k]
            * m.step_yr
            * pyo.quicksum(
                (m.planting_cost_yuan_per_ha[c] - m.planting_cost_intercept_yuan_per_ha) * x[c, k]
                for c in m.classes
            )
            for k in m.periods
        ),
    )
    add_welfare_term(
        m,
        "carbon_value_pv",
        _PER_10K_YUAN
        * m.carbon_price_yuan_per_t_co2
        * pyo.quicksum(
            m.cost_discount[k]
            * m.step_yr
            * pyo.quicksum(m.carbon_t_co2_per_ha[c] * x[c, k] for c in m.classes)
            for k in m.periods
        ),
    )
    m.cell_problem = problem  # the arrays the model was built from, for plan_from_model
    return m


def plan_from_model(
    m: pyo.ConcreteModel,
    solver: str = "",
    timings_s: Mapping[str, float] | None = None,
    status: str = "optimal",
) -> CellPlan:
    """The :class:`CellPlan` of a solved :func:`build_cells_model` model (its certificate checks it)."""
    problem: CellProblem = m.cell_problem
    values = m.class_planting_rate_10k_ha_per_yr.extract_values()
    keys = list(m.classes)
    periods = list(m.periods)
    rate = np.array([[values[(*c, k)] for k in periods] for c in keys], dtype=float)
    return CellPlan(problem, rate * problem.grid.step_yr, "pyomo", solver, status, dict(timings_s or {}))
