"""The cell-level benchmark behind ``afforest bench scale`` (its command line is afforest.cli.cells).

The benchmark solves synthetic cell-level problems of 10^2-10^5 cells four ways, each run in a fresh process:

* ``pyomo``: :func:`afforest.model.cells.build_cells_model` (the classes model's components, states
  included), loaded and solved through Pyomo's HiGHS interface (``pyomo.contrib.solver``, as
  ``afforest.solvers.solve`` does) with HiPO and the bound scaling of
  :func:`afforest.solvers.highs_direct.cells_model_highs_options`.
* ``fast``: :func:`afforest.solvers.highs_direct.solve_cells_highs` from the validated cells table.
* ``floor``: the same QP arrays written by the shortest numpy code from plain arrays and handed straight
  to highspy with HiPO's default options (``solver="hipo"``): the cost of any modelling layer is measured
  against its build + load.
* ``decomposition``: :func:`afforest.solvers.decomposition.solve_cells_decomposition`.

Every run builds a synthetic instance (:func:`afforest.model.cells.synthetic_cells`, not timed), then
times ``build`` (arrays or Pyomo components), ``load`` (into the solver; for Pyomo, its HiGHS interface's
translation) and ``solve`` (``total`` is their sum), records the peak resident memory of its process, and
times ``verify``: reading the solution back as a plan and certifying it (duality gap). A round runs every
path once at one size; ratios to the floor are computed within a round, and the table reports medians
over rounds.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from afforest.errors import InputError

__all__ = ["PATHS", "run_path", "benchmark", "summarise", "format_table", "machine_description"]

PATHS: tuple[str, ...] = ("pyomo", "fast", "floor", "decomposition")
TABLE_COLUMNS: tuple[str, ...] = (
    "n_cells",
    "n_periods",
    "path",
    "runs",
    "variables",
    "constraints",
    "nonzeros",
    "build_s",
    "load_s",
    "solve_s",
    "total_s",
    "verify_s",
    "peak_rss_mb",
    "objective",
    "relative_gap",
    "verified",
    "status",
    "build_load_vs_floor",
    "total_vs_floor",
)
"""Columns of the summary table; ``objective`` is the certified welfare W in 10^8 yuan."""
_TIMED = ("build_s", "load_s", "solve_s", "total_s", "verify_s", "peak_rss_mb")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def _floor(
    a: np.ndarray,
    gain: np.ndarray,
    net_cost: np.ndarray,
    gain_weight: np.ndarray,
    cost_weight: np.ndarray,
    rate_cost: np.ndarray,
    offset: float,
    dt: float,
) -> tuple[Any, float, float]:
    """The share-formulation arrays from plain arrays, straight into highspy (no checks, no names).

    ``gain`` f - b and ``net_cost`` tau0_c - P q_c per cell, ``gain_weight`` s G_j and ``cost_weight`` s d_j
    per period: V = gain G - net_cost d as in :meth:`afforest.model.problem.LandUseProblem.planting_value`.
    """
    import highspy

    start = time.perf_counter()
    n, t = len(a), len(gain_weight)
    nt = n * t
    value = np.multiply.outer(gain, gain_weight) - np.multiply.outer(net_cost, cost_weight)
    cost = np.concatenate([(-value * a[:, None]).ravel(), np.zeros(t)])
    a_start = np.concatenate([np.arange(0, 2 * nt, 2), 2 * nt + np.arange(t)]).astype(np.int32)
    a_index = np.empty(2 * nt + t, dtype=np.int32)
    a_index[0 : 2 * nt : 2] = np.repeat(np.arange(n), t)
    a_index[1 : 2 * nt : 2] = np.tile(np.arange(n, n + t), n)
    a_index[2 * nt :] = np.arange(n, n + t)
    a_value = np.empty(2 * nt + t)
    a_value[0 : 2 * nt : 2] = 1.0
    a_value[1 : 2 * nt : 2] = np.repeat(a / dt, t)
    a_value[2 * nt :] = -1.0
    inf = highspy.kHighsInf
    col_upper = np.concatenate([np.ones(nt), np.full(t, inf)])
    row_lower = np.concatenate([np.full(n, -inf), np.zeros(t)])
    row_upper = np.concatenate([np.ones(n), np.zeros(t)])
    q_start = np.concatenate([np.zeros(nt), np.arange(t)]).astype(np.int32)
    q_index = (nt + np.arange(t)).astype(np.int32)
    q_value = 2.0 * rate_cost * dt * dt
    built = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(
        nt + t,
        n + t,
        len(a_value),
        t,
        1,
        1,
        1,
        offset,
        cost,
        np.zeros(nt + t),
        col_upper,
        row_lower,
        row_upper,
        a_start,
        a_index,
        a_value,
        q_start,
        q_index,
        q_value,
        np.zeros(nt + t, dtype=np.int32),
    )
    h.setOptionValue("solver", "hipo")
    return h, built - start, time.perf_counter() - built


def run_path(path: str, n_cells: int, years: int, seed: int = 0) -> dict[str, Any]:
    """Build and solve one synthetic instance by ``path`` in this process; figures for the table."""
    from afforest.chain.bundle import load_bundle
    from afforest.model.cells import (
        build_cells_model,
        cell_problem,
        certify,
        load_cell_spreads,
        plan_from_model,
        synthetic_cells,
    )
    from afforest.model.problem import OBJECTIVE_UNIT_YUAN, TimeGrid
    from afforest.solvers.decomposition import solve_cells_decomposition
    from afforest.solvers.highs_direct import cells_model_highs_options, solve_cells_highs

    if path not in PATHS:
        raise InputError(f"unknown path; choose from {PATHS}", field="path", value=path)
    grid = TimeGrid(horizon_yr=float(years), step_yr=1.0)
    bundle = load_bundle()
    params = bundle.landuse_parameters
    cells = synthetic_cells(
        n_cells, seed=seed, params=params, area=bundle.afforestable_area, esv=bundle.esv, spreads=load_cell_spreads()
    )
    t = grid.periods
    row: dict[str, Any] = {"n_cells": n_cells, "n_periods": t, "path": path}
    if path == "pyomo":
        from pyomo.contrib.solver.common.factory import SolverFactory

        start = time.perf_counter()
        model = build_cells_model(cells, params, grid)
        built = time.perf_counter()
        results = SolverFactory("highs").solve(
            model,
            solver_options=cells_model_highs_options(model.problem),
            load_solutions=False,
            raise_exception_on_nonoptimal_result=False,
        )
        solved = time.perf_counter()
        highs_s = float(results.timing_info.highs_time)
        if results.solution_status.name in ("optimal", "feasible"):
            results.solution_loader.load_vars()
        plan = plan_from_model(model, "highs (pyomo.contrib.solver)")
        problem, planted = plan.problem, plan.planted_area_10k_ha
        extract_s = time.perf_counter() - solved
        condition = results.termination_condition.name
        status = "optimal" if condition == "convergenceCriteriaSatisfied" else condition
        row.update(
            build_s=built - start,
            load_s=solved - built - highs_s,
            solve_s=highs_s,
            variables=n_cells * (2 * t + 1) + t,
            constraints=n_cells * (t + 1) + t,
            nonzeros=n_cells * (4 * t + 1) + t,
        )
    elif path == "floor":
        problem = cell_problem(cells, params, grid)
        scale = 1e4 / OBJECTIVE_UNIT_YUAN
        a, weights = problem.area_10k_ha, problem.weights
        h, build_s, load_s = _floor(
            a,
            problem.esv_gain_yuan_per_ha_yr,
            problem.net_cost_yuan_per_ha,
            scale * weights.gain_yr,
            scale * weights.cost,
            problem.rate_cost_10e8_yuan_per_10k_ha2,
            -problem.baseline_welfare_10e8_yuan,
            grid.step_yr,
        )
        start = time.perf_counter()
        h.run()
        solved = time.perf_counter()
        status = h.modelStatusToString(h.getModelStatus()).lower()
        planted = np.asarray(h.getSolution().col_value)[: n_cells * t].reshape(n_cells, t) * a[:, None]
        extract_s = time.perf_counter() - solved
        row.update(
            build_s=build_s,
            load_s=load_s,
            solve_s=solved - start,
            variables=n_cells * t + t,
            constraints=n_cells + t,
            nonzeros=2 * n_cells * t + t,
        )
    else:
        start = time.perf_counter()
        problem = cell_problem(cells, params, grid)
        validated = time.perf_counter() - start
        plan = (
            solve_cells_highs(problem, allow_nonoptimal=True)
            if path == "fast"
            else solve_cells_decomposition(problem)
        )
        planted, status, extract_s = plan.planted_area_10k_ha, plan.status, plan.timings_s["extract"]
        row.update(
            build_s=validated + plan.timings_s["build"],
            load_s=plan.timings_s["load"],
            solve_s=plan.timings_s["solve"],
        )
        if path == "fast":
            row.update(variables=n_cells * t + t, constraints=n_cells + t, nonzeros=2 * n_cells * t + t)
        else:
            row.update(variables=t, constraints=0, nonzeros=0)
    row["total_s"] = row["build_s"] + row["load_s"] + row["solve_s"]
    row["peak_rss_mb"] = (
        _peak_rss_mb()
    )  # before the certificate, which needs a few n_cells x n_periods arrays
    start = time.perf_counter()
    certificate = certify(problem, planted)
    row["verify_s"] = extract_s + time.perf_counter() - start
    row.update(
        objective=certificate.welfare_10e8_yuan,
        relative_gap=certificate.relative_gap,
        verified=certificate.verified,
        status=status,
    )
    return row


def _run_in_subprocess(path: str, n_cells: int, years: int, seed: int, timeout_s: float) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "afforest.chain.benchmark",
        "--worker",
        path,
        str(n_cells),
        str(years),
        str(seed),
    ]
    base = {"n_cells": n_cells, "n_periods": years, "path": path}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return {**base, "status": f"timeout ({timeout_s:g} s)"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {**base, "status": f"error: {tail[:120]}"}
    return json.loads(lines[-1])


def benchmark(
    sizes: Sequence[int],
    years: int = 40,
    paths: Sequence[str] = PATHS,
    repeats: int = 3,
    *,
    pyomo_max_cells: int = 10_000,
    repeats_large: int = 1,
    seed: int = 0,
    timeout_s: float = 1800.0,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """One row per run (path x size x round), each run in a fresh Python process.

    Sizes above ``pyomo_max_cells`` skip the Pyomo path (a row says so) and get ``repeats_large`` rounds,
    because each of their runs takes minutes. Every round and path solves the same instance (``seed``).
    """
    unknown = [p for p in paths if p not in PATHS]
    if unknown:
        raise InputError(
            f"unknown paths {unknown}; choose from {PATHS}", field="paths", value=",".join(paths)
        )
    rows = []
    for n in sizes:
        rounds = repeats if n <= pyomo_max_cells else repeats_large
        for round_ in range(rounds):
            for path in paths:
                if path == "pyomo" and n > pyomo_max_cells:
                    row = {
                        "n_cells": n,
                        "n_periods": years,
                        "path": path,
                        "status": f"skipped (> --pyomo-max-cells {pyomo_max_cells})",
                    }
                else:
                    row = _run_in_subprocess(path, n, years, seed, timeout_s)
                row["round"] = round_
                rows.append(row)
                if progress is not None:
                    progress(row)
    return pd.DataFrame(rows)


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Medians over rounds per (size, path), with the per-round ratios to the floor's build+load and total."""
    runs = runs.copy()
    for column in (*_TIMED, "objective", "relative_gap", "verified", "variables", "constraints", "nonzeros"):
        if column not in runs.columns:  # e.g. every run failed
            runs[column] = np.nan
    runs["build_load_s"] = runs["build_s"] + runs["load_s"]
    floor = runs[runs["path"] == "floor"].set_index(["n_cells", "round"])
    key = pd.MultiIndex.from_frame(runs[["n_cells", "round"]])
    runs["build_load_vs_floor"] = (
        runs["build_load_s"].to_numpy() / floor["build_load_s"].reindex(key).to_numpy()
    )
    runs["total_vs_floor"] = runs["total_s"].to_numpy() / floor["total_s"].reindex(key).to_numpy()
    ok = runs[runs["total_s"].notna()] if "total_s" in runs else runs.iloc[0:0]
    grouped = ok.groupby(["n_cells", "n_periods", "path"], sort=False)
    table = grouped[[*_TIMED, "objective", "relative_gap", "build_load_vs_floor", "total_vs_floor"]].median()
    table["runs"] = grouped.size()
    table[["variables", "constraints", "nonzeros"]] = grouped[
        ["variables", "constraints", "nonzeros"]
    ].first()
    table["verified"] = grouped["verified"].all()
    table["status"] = grouped["status"].agg(lambda s: "/".join(sorted(set(map(str, s)))))
    table = table.reset_index()
    failed = runs[runs["total_s"].isna()][["n_cells", "n_periods", "path", "status"]].drop_duplicates(
        ["n_cells", "path"]
    )
    measured = set(zip(table["n_cells"], table["path"]))
    failed = failed[[key not in measured for key in zip(failed["n_cells"], failed["path"])]].assign(runs=0)
    table = pd.concat([table, failed], ignore_index=True)
    table[["n_cells", "n_periods"]] = table[["n_cells", "n_periods"]].astype(np.int64)
    order = {p: i for i, p in enumerate(PATHS)}
    table = table.sort_values(
        ["n_cells", "path"], key=lambda s: s.map(order) if s.name == "path" else s, kind="stable"
    )
    return table.reindex(columns=list(TABLE_COLUMNS)).reset_index(drop=True)


def machine_description() -> dict[str, Any]:
    """What the figures were measured on: CPU, cores, memory, load, library versions."""
    import highspy
    import pyomo

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        with open("/proc/meminfo") as fh:
            memory_gib = int(fh.readline().split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        memory_gib = float("nan")
    h = highspy.Highs()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "highspy": f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}",
        "pyomo": pyomo.version.version,
        "numpy": np.__version__,
    }


def format_table(table: pd.DataFrame) -> str:
    shown = table.copy()
    for column in ("build_s", "load_s", "solve_s", "total_s", "verify_s"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.3g}")
    shown["peak_rss_mb"] = shown["peak_rss_mb"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
    shown["objective"] = shown["objective"].map(lambda v: "" if pd.isna(v) else f"{v:.6f}")
    shown["relative_gap"] = shown["relative_gap"].map(lambda v: "" if pd.isna(v) else f"{v:.1e}")
    for column in ("build_load_vs_floor", "total_vs_floor"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.3g}")
    for column in ("variables", "constraints", "nonzeros", "runs"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{int(v)}")
    shown["verified"] = shown["verified"].map(lambda v: "" if pd.isna(v) else ("yes" if v else "NO"))
    return shown.to_string(index=False)


def _worker(argv: Sequence[str]) -> int:
    path, n_cells, years, seed = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    print(json.dumps(run_path(path, n_cells, years, seed), default=float), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "--worker":
        sys.exit("this module runs one benchmark path in a worker process; run the benchmark with `afforest bench scale`")
    sys.exit(_worker(sys.argv[2:]))
