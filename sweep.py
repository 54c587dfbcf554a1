"""Parameter sweeps: a grid or a sample of scenario variants, solved in parallel, resumable, written atomically.

Each point is the base scenario with a few ``section.field`` overrides. A worker process keeps the models it
built, keyed by :func:`afforest.run.structure_key`, and re-solves by assigning mutable params (HiGHS keeps a
persistent session per model, so only the changes are sent). Models never cross process boundaries: workers
receive the scenario as JSON and send back one flat row. Locally the points run on a process pool (one
solver thread per worker); with ``scheduler`` they run on a Dask distributed cluster instead.

Finished rows are appended (and fsync'd) to ``progress.jsonl`` in the output folder, so an interrupted
sweep continues where it stopped; ``results.parquet`` and ``results.csv`` are written to a temporary file
and renamed, so a killed run never leaves a truncated results file.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import afforest
from afforest.errors import InputError
from afforest.scenarios import Scenario, load_scenario

__all__ = [
    "SweepPoint",
    "grid_points",
    "sample_points",
    "resolve_key",
    "run_sweep",
    "solve_point",
    "load_results",
    "provenance",
]

PROGRESS_FILE = "progress.jsonl"
RESULTS_PARQUET = "results.parquet"
RESULTS_CSV = "results.csv"
_SECTIONS = ("landuse", "carbon", "policy", "numerics", "classes")


@dataclass(frozen=True)
class SweepPoint:
    """One scenario variant: its position in the sweep and its overrides (``section.field`` -> value)."""

    point_id: int
    overrides: dict[str, Any]


def resolve_key(key: str) -> str:
    """``financial_discount_rate`` or ``landuse.financial_discount_rate`` -> the dotted scenario key."""
    from afforest.scenarios import CarbonSection, ClassesSection, LandUseSection, NumericsSection, PolicySection

    sections = {
        "landuse": LandUseSection,
        "carbon": CarbonSection,
        "policy": PolicySection,
        "numerics": NumericsSection,
        "classes": ClassesSection,
    }
    if "." in key:
        section, _, name = key.partition(".")
        if section in sections and name in sections[section].model_fields:
            return key
    else:
        owners = [s for s, cls in sections.items() if key in cls.model_fields]
        if len(owners) == 1:
            return f"{owners[0]}.{key}"
    raise InputError("not a sweepable scenario parameter (e.g. landuse.financial_discount_rate)", field="--set", value=key)


def grid_points(values: Mapping[str, Sequence[Any]]) -> list[SweepPoint]:
    """Cartesian product of the values of each key."""
    keys = [resolve_key(k) for k in values]
    combos = itertools.product(*(list(v) for v in values.values()))
    return [SweepPoint(i, dict(zip(keys, combo))) for i, combo in enumerate(combos)]


def sample_points(
    ranges: Mapping[str, tuple[float, float]], n: int, method: str = "latin_hypercube", seed: int = 0
) -> list[SweepPoint]:
    """``n`` points drawn in the box of ``ranges``: Latin hypercube (scipy.stats.qmc) or plain Monte Carlo."""
    if n < 1:
        raise InputError("must be >= 1", field="--sample", value=n)
    if not ranges:
        raise InputError("the scenario declares no [sweep] ranges to sample", field="sweep.ranges")
    keys = [resolve_key(k) for k in ranges]
    low = np.array([r[0] for r in ranges.values()], float)
    high = np.array([r[1] for r in ranges.values()], float)
    if method == "latin_hypercube":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(keys), seed=seed).random(n)
    elif method == "monte_carlo":
        unit = np.random.default_rng(seed).random((n, len(keys)))
    else:
        raise InputError("expected latin_hypercube or monte_carlo", field="sweep.method", value=method)
    values = low + unit * (high - low)
    return [SweepPoint(i, {k: float(v) for k, v in zip(keys, row)}) for i, row in enumerate(values)]


# --- the worker ------------------------------------------------------------------------------------------

_LOCAL = threading.local()


def _model_cache() -> dict[str, Any]:
    if not hasattr(_LOCAL, "models"):
        _LOCAL.models = {}
    return _LOCAL.models


def _init_worker() -> None:
    """One solver thread per worker process: the pool provides the parallelism."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


def solve_point(base_json: str, point: SweepPoint, reuse: bool = True) -> dict[str, Any]:
    """Solve one point and return its row; errors become a row with ``status = "error"``."""
    from afforest.run import build_models, resolve_inputs, solve_models, structure_key, update_models

    started = time.perf_counter()
    row: dict[str, Any] = {"point_id": point.point_id}
    row.update({key.partition(".")[2]: value for key, value in point.overrides.items()})
    try:
        scenario = Scenario.model_validate_json(base_json).with_overrides(point.overrides)
        row["scenario"] = scenario.name
        row["scenario_hash"] = scenario.digest()
        row["financial_discount_rate"] = _resolved(scenario, "financial_discount_rate")
        row["carbon_discount_rate"] = scenario.carbon.carbon_discount_rate or 0.0
        inputs = resolve_inputs(scenario)
        build_start = time.perf_counter()
        cache = _model_cache()
        key = structure_key(scenario)
        models = cache.get(key) if reuse else None
        reused = models is not None
        if models is None:
            models = build_models(inputs)
            if reuse:
                cache[key] = models
        else:
            update_models(models, inputs)
        build_s = time.perf_counter() - build_start
        result = solve_models(inputs, models)
        summary = result.to_dict()
        row.update(
            {
                "analytic_afforested_area_10k_ha": summary["analytic_afforested_area_10k_ha"],
                "analytic_root_count": len(summary["analytic_roots"]),
                "analytic_roots_10k_ha": json.dumps([r["afforested_area_10k_ha"] for r in summary["analytic_roots"]]),
                "analytic_root_stability": json.dumps([r["stability"] for r in summary["analytic_roots"]]),
                "numeric_afforested_area_10k_ha": summary["numeric_afforested_area_10k_ha"],
                "classes_afforested_area_10k_ha": summary["classes_afforested_area_10k_ha"],
                "numeric_gap_to_analytic_pct": summary["numeric_gap_to_analytic_pct"],
                "afforested_share_of_A0": summary["afforested_share_of_A0"],
                "curves_solver": result.curves_solver.label,
                "curves_status": result.curves_solver.status.value,
                "curves_solve_s": result.curves_solver.wall_time_s,
                "classes_solver": result.classes_solver.label,
                "classes_status": result.classes_solver.status.value,
                "classes_solve_s": result.classes_solver.wall_time_s,
                "build_s": build_s,
                "models_reused": reused,
                "status": "ok",
                "error": "",
            }
        )
        row.update(_carbon_outputs(inputs, summary))
    except Exception as exc:  # a failed point is recorded, never fatal to the sweep
        row.update({"status": "error", "error": f"{type(exc).__name__}: {exc}"[:2000]})
        row.setdefault("traceback", traceback.format_exc(limit=3)[-2000:])
    row["point_s"] = time.perf_counter() - started
    row["worker_pid"] = os.getpid()
    return row


def _resolved(scenario: Scenario, field: str) -> float:
    value = getattr(scenario.landuse, field)
    if value is not None:
        return float(value)
    from afforest.data import load_landuse_parameters

    return float(getattr(load_landuse_parameters(), field))


def _carbon_outputs(inputs: Any, summary: dict[str, Any]) -> dict[str, Any]:
    """Carbon of the desirable area and its average cost (the study's supply curve at this point's r, r_c)."""
    from afforest.data import load_direct_costs
    from afforest.model.carbon import load_carbon_parameters, per_hectare_totals
    from afforest.model.supply_curve import (
        CostDiscounting,
        cost_summary,
        fill_supply_curve,
        load_cost_effectiveness_parameters,
        supply_curve,
    )

    rate_c = inputs.scenario.carbon.carbon_discount_rate or 0.0
    carbon_per_ha = float(per_hectare_totals(load_carbon_parameters(), rate_c).sum())
    discounting = CostDiscounting(
        financial_discount_rate=inputs.params.financial_discount_rate,
        horizon_yr=load_cost_effectiveness_parameters().cost_horizon_yr,
    )
    curve = supply_curve(inputs.classes, load_direct_costs(), carbon_per_ha, discounting)
    area = min(summary["analytic_afforested_area_10k_ha"], float(curve["area_10k_ha"].sum()))
    costs = cost_summary(fill_supply_curve(curve, area))
    return {
        "carbon_t_co2_per_ha": carbon_per_ha,
        "desirable_carbon_mt_co2": costs["carbon_mt_co2"],
        "average_carbon_cost_yuan_per_t_co2": costs["average_cost_yuan_per_t_co2"],
        "min_marginal_cost_yuan_per_t_co2": costs["min_marginal_cost_yuan_per_t_co2"],
        "max_marginal_cost_yuan_per_t_co2": costs["max_marginal_cost_yuan_per_t_co2"],
    }


# --- the driver -----------------------------------------------------------------------------------------


def provenance(scenario: Scenario, points: Sequence[SweepPoint]) -> dict[str, Any]:
    """What is needed to regenerate the results: package and solver versions and the resolved scenario."""
    from afforest.solvers import available_solvers

    return {
        "afforest_version": afforest.__version__,
        "solvers": available_solvers(),
        "python": sys.version.split()[0],
        "scenario": scenario.model_dump(mode="json"),
        "scenario_hash": scenario.digest(),
        "points": len(points),
        "swept_keys": sorted({k for p in points for k in p.overrides}),
    }


def _read_progress(path: Path) -> dict[int, dict[str, Any]]:
    done: dict[int, dict[str, Any]] = {}
    if not path.exists():
        return done
    with path.open() as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill: that point is simply solved again
            done[int(record["point_id"])] = record
    return done


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _write_results(frame: pd.DataFrame, output: Path, meta: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"afforest_provenance": json.dumps(meta).encode()})
    _atomic_write(output / RESULTS_PARQUET, lambda tmp: pq.write_table(table, tmp))

    def write_csv(tmp: Path) -> None:
        with tmp.open("w") as fh:
            for key in ("afforest_version", "scenario_hash", "python"):
                fh.write(f"# {key}: {meta[key]}\n")
            fh.write(f"# solvers: {json.dumps(meta['solvers'])}\n")
            fh.write(f"# scenario: {json.dumps(meta['scenario'])}\n")
            frame.to_csv(fh, index=False)

    _atomic_write(output / RESULTS_CSV, write_csv)


def load_results(folder: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a sweep's ``results.parquet`` and its provenance."""
    import pyarrow.parquet as pq

    path = Path(folder) / RESULTS_PARQUET
    if not path.exists():
        raise InputError("no sweep results here", file=path)
    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(b"afforest_provenance", b"{}"))
    return table.to_pandas(), meta


def _iterate_local(base_json: str, todo: Sequence[SweepPoint], workers: int, reuse: bool) -> Iterable[dict[str, Any]]:
    if workers <= 1:
        _init_worker()
        for point in todo:
            yield solve_point(base_json, point, reuse)
        return
    # Contiguous blocks per worker keep points of one structure together, so each worker builds once.
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool:
        futures = [pool.submit(solve_point, base_json, point, reuse) for point in todo]
        for future in as_completed(futures):
            yield future.result()


def _iterate_dask(base_json: str, todo: Sequence[SweepPoint], scheduler: Any, reuse: bool) -> Iterable[dict[str, Any]]:
    from distributed import Client, as_completed as dask_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        client.run(_init_worker)
        futures = client.map(solve_point, [base_json] * len(todo), todo, [reuse] * len(todo), pure=False)
        for future in dask_completed(futures):
            yield future.result()
    finally:
        if not isinstance(scheduler, Client):
            client.close()


def run_sweep(
    scenario: Scenario | str,
    points: Sequence[SweepPoint],
    output: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    reuse: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Solve every point; with ``output`` resume from and write to that folder. Returns the tidy table."""
    base = load_scenario(scenario) if isinstance(scenario, (str, Path)) else scenario
    base_json = base.model_dump_json()
    for point in points:  # refuse bad overrides before anything is solved
        base.with_overrides(point.overrides)
    folder = Path(output) if output is not None else None
    done: dict[int, dict[str, Any]] = {}
    progress_path = None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        progress_path = folder / PROGRESS_FILE
        wanted = {p.point_id: p for p in points}
        done = {
            i: r
            for i, r in _read_progress(progress_path).items()
            if i in wanted and r.get("status") == "ok" and r.get("scenario_hash") == base.with_overrides(wanted[i].overrides).digest()
        }
    todo = [p for p in points if p.point_id not in done]
    workers = workers or min(len(todo), os.cpu_count() or 1) or 1
    rows = dict(done)
    from tqdm import tqdm

    bar = tqdm(total=len(points), initial=len(done), disable=not progress, file=sys.stderr, unit="point")
    iterator = _iterate_dask(base_json, todo, scheduler, reuse) if scheduler is not None else _iterate_local(base_json, todo, workers, reuse)
    log = progress_path.open("a") if progress_path is not None else None
    if log is not None and progress_path.stat().st_size and not progress_path.read_bytes().endswith(b"\n"):
        log.write("\n")  # close a line cut by a kill, so the next record starts on its own line
    try:
        for row in iterator:
            rows[int(row["point_id"])] = row
            if log is not None:
                log.write(json.dumps(row, default=str) + "\n")
                log.flush()
                os.fsync(log.fileno())
            bar.update(1)
    finally:
        bar.close()
        if log is not None:
            log.close()
    frame = pd.DataFrame([rows[i] for i in sorted(rows)])
    if folder is not None:
        _write_results(frame, folder, provenance(base, points))
    return frame


# --- comparison figures ------------------------------------------------------------------------------------


def plot_comparison(results: pd.DataFrame, output: str | Path) -> list[Path]:
    """Figures of a sweep: analytic vs numerical afforested area, and sensitivities to r and r_c."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    ok = results[results["status"] == "ok"]
    if ok.empty:
        raise InputError("no successful points to plot", field="status")
    written: list[Path] = []

    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    lo = float(min(ok["analytic_afforested_area_10k_ha"].min(), ok["numeric_afforested_area_10k_ha"].min()))
    hi = float(max(ok["analytic_afforested_area_10k_ha"].max(), ok["numeric_afforested_area_10k_ha"].max()))
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.6", lw=1, label="analytic = numerical")
    ax.scatter(ok["analytic_afforested_area_10k_ha"], ok["numeric_afforested_area_10k_ha"], s=18, label="curves NLP (Ipopt)")
    ax.scatter(ok["analytic_afforested_area_10k_ha"], ok["classes_afforested_area_10k_ha"], s=18, marker="x", label="classes QP (HiGHS)")
    ax.set_xlabel("analytic steady state, Eq. 3 (10^4 ha afforested)")
    ax.set_ylabel("dynamic program at the horizon (10^4 ha afforested)")
    ax.set_title(f"Analytic vs numerical afforested area ({len(ok)} points)")
    ax.legend()
    fig.tight_layout()
    path = folder / "analytic_vs_numeric.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    written.append(path)

    for driver, label in (("financial_discount_rate", "financial discount rate r (1/yr)"), ("carbon_discount_rate", "carbon discount rate r_c (1/yr)")):
        if driver not in ok or ok[driver].nunique() < 2:
            continue
        series = ok.groupby(driver)[
            [c for c in ("analytic_afforested_area_10k_ha", "numeric_afforested_area_10k_ha", "average_carbon_cost_yuan_per_t_co2") if c in ok]
        ].mean()
        has_cost = "average_carbon_cost_yuan_per_t_co2" in series
        fig, axes = plt.subplots(1, 2 if has_cost else 1, figsize=(11 if has_cost else 6.4, 4.6), squeeze=False)
        ax = axes[0, 0]
        ax.plot(series.index, series["analytic_afforested_area_10k_ha"], marker="o", label="analytic (Eq. 3)")
        ax.plot(series.index, series["numeric_afforested_area_10k_ha"], marker="x", ls="--", label="curves NLP")
        ax.set_xlabel(label)
        ax.set_ylabel("desirable area (10^4 ha)")
        ax.ticklabel_format(axis="y", useOffset=False)
        middle = float(series["analytic_afforested_area_10k_ha"].mean())
        low, high = ax.get_ylim()
        if high - low < 0.02 * middle:  # flat: show it flat, not as noise magnified by autoscaling
            ax.set_ylim(0.99 * middle, 1.01 * middle)
        ax.legend()
        if has_cost:
            ax = axes[0, 1]
            ax.plot(series.index, series["average_carbon_cost_yuan_per_t_co2"], marker="o", color="tab:red")
            ax.set_xlabel(label)
            ax.set_ylabel("average carbon cost (yuan / t CO2)")
        others = len(ok) // max(series.shape[0], 1)
        fig.suptitle(f"Sensitivity to {label.split(' (')[0]}" + (f" (mean over {others} values of the other swept inputs)" if others > 1 else ""))
        fig.tight_layout()
        path = folder / f"sensitivity_{driver}.png"
        fig.savefig(path, dpi=130)
        plt.close(fig)
        written.append(path)
    return written


# --- command line -------------------------------------------------------------------------------------------


def _parse_set(items: Sequence[str]) -> dict[str, list[Any]]:
    values: dict[str, list[Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not raw:
            raise InputError("expected KEY=V1,V2,...", field="--set", value=item)
        parsed: list[Any] = []
        for text in raw.split(","):
            try:
                parsed.append(float(text))
            except ValueError:
                parsed.append(text.strip())
        values[key.strip()] = parsed
    return values


def _cmd_sweep(args: Any) -> int:
    scenario = load_scenario(args.scenario)
    if args.set and args.sample:
        raise InputError("use either --set or --sample, not both", field="--sample", value=args.sample)
    if args.sample:
        points = sample_points(scenario.sweep.ranges, args.sample, scenario.sweep.method, scenario.sweep.seed)
    elif args.set:
        points = grid_points(_parse_set(args.set))
    elif scenario.sweep.grid:
        points = grid_points(scenario.sweep.grid)
    else:
        raise InputError("nothing to sweep: give --set KEY=V1,V2 or --sample N, or a [sweep] grid", file=args.scenario)
    frame = run_sweep(
        scenario,
        points,
        args.output,
        workers=args.workers,
        scheduler=args.scheduler,
        reuse=not args.no_reuse,
        progress=not args.quiet,
    )
    ok = frame[frame["status"] == "ok"]
    print(f"{len(frame)} points, {len(ok)} ok, {len(frame) - len(ok)} failed" + (f"; results in {args.output}" if args.output else ""))
    columns = [c for c in frame.columns if c in {k.partition(".")[2] for k in points[0].overrides}]
    columns += [c for c in ("analytic_afforested_area_10k_ha", "numeric_afforested_area_10k_ha", "classes_afforested_area_10k_ha", "status") if c in frame]
    with pd.option_context("display.max_rows", 50, "display.width", 160):
        print(frame[columns].to_string(index=False))
    return 0 if len(ok) == len(frame) else 1


def _cmd_compare(args: Any) -> int:
    results, meta = load_results(args.results)
    for path in plot_comparison(results, args.output or args.results):
        print(path)
    ok = results[results["status"] == "ok"]
    if not ok.empty:
        gap = (ok["numeric_afforested_area_10k_ha"] / ok["analytic_afforested_area_10k_ha"] - 1).abs() * 100
        print(f"largest |numerical - analytic| gap: {gap.max():.4f} % over {len(ok)} points; "
              f"points with several roots of Eq. 3: {int((ok['analytic_root_count'] > 1).sum())}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "sweep",
        help="solve a scenario over a grid (--set) or a sample (--sample) of parameters, in parallel",
        description="Writes DIR/results.parquet and DIR/results.csv (one row per point) with --output DIR; "
        "re-running with the same DIR resumes.",
    )
    p.add_argument("scenario", help="shipped scenario name or TOML path (its [sweep] section declares grids and ranges)")
    p.add_argument("--set", action="append", metavar="KEY=V1,V2,...", help="values of one parameter (repeat for a grid), e.g. financial_discount_rate=0.03,0.05")
    p.add_argument("--sample", type=int, metavar="N", help="draw N points over the scenario's [sweep] ranges")
    p.add_argument("--output", metavar="DIR", help="folder for results and the resume log")
    p.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed scheduler, e.g. tcp://host:8786")
    p.add_argument("--no-reuse", action="store_true", help="rebuild the models at every point (for benchmarks)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("compare", help="plot analytic vs numerical results and sensitivities of a finished sweep")
    p.add_argument("results", help="folder of a sweep's results")
    p.add_argument("--output", metavar="DIR", help="where to write the PNGs (default: the results folder)")
    p.set_defaults(func=_cmd_compare)
