"""Size limits of cell-level problems: the longest horizon that can change a result, and memory estimates.

Both refuse a problem before anything is built (:func:`check_horizon`, :func:`check_memory`), with an error that
says what to do.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from afforest.errors import InputError
from afforest.model.problem import TimeGrid

__all__ = [
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
    ``negligible`` = :data:`afforest.model.cells.plan.VERIFIED_RELATIVE_GAP` (277 years) it is the horizon beyond which the
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

