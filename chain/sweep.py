"""Parameter sweeps: a grid or a sample of scenario variants, solved in parallel, resumable, written atomically.

Each point is the base scenario with a few ``section.field`` overrides, run through the whole chain
(:func:`afforest.chain.stages.run_chain`); its row (:func:`chain_outputs`) holds land use, welfare by term, the
planting path's speed, the carbon of the planned path and of the plan's area, the plan's costs and the
cost-effective area against each abatement benchmark (at the point's r_c and at each of the study's). A worker
process keeps the models it built, keyed by :func:`afforest.chain.landuse.structure_key`, and re-solves by assigning
mutable params (HiGHS keeps a persistent session per model, so only the changes are sent). Models never cross
process boundaries: workers receive the scenario as JSON and send back one flat row per point. Locally the points run
on a process pool (one solver thread per worker); with ``scheduler`` they run on a Dask distributed cluster instead;
either way in order, in batches of about :data:`BATCH_TARGET_S` of work (:func:`batch_size`, from the points finished
so far: Pyomo points one by one, fast-path ones by the dozen), a few batches per worker in flight.

Finished rows are appended to ``progress.jsonl`` in the output folder, so an interrupted sweep continues where
it stopped. Each row is flushed to the operating system as it arrives (a killed sweep, even by SIGKILL, keeps every
finished row: the kernel holds what was written), and fsync'd at most every :data:`FSYNC_INTERVAL_S` and when the
sweep ends (an fsync costs 0.4-4 ms on this kind of disk, a third of the parent's time at 80 points/s); only a
crash of the machine itself can lose the rows of that last interval, which a resumed run solves again (a line cut
there is skipped by the reader); the folder, its manifest, lock and atomically written results live in
:mod:`afforest.chain.sweep_output`, the figures in :mod:`afforest.plots.sweep`. Pool workers die with the sweep (``PR_SET_PDEATHSIG`` on
Linux, and a thread watching the parent everywhere); Ctrl-C or SIGTERM stops the workers, keeps every finished
point and raises :class:`SweepInterrupted`. Every point starts Ipopt from the models' build-time values and
HiGHS without the previous basis (a session spoiled by a held tail is dropped), so a point's numbers do not
depend on which worker solved it, in which order, or whether models were re-used: they are ``afforest solve``'s.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from afforest.chain.sweep_output import (
    KEPT_STATUSES,
    MANIFEST_FILE,
    PROGRESS_FILE,
    RESULTS_CSV,
    RESULTS_PARQUET,
    OutputFolder,
    SweepPoint,
    load_results,
    point_digests,
    provenance,
    read_progress,
    status_counts,
    sweep_identity,
    write_results,
)
from afforest.errors import InputError, SolverError
from afforest.scenarios import Scenario, load_scenario

__all__ = [
    "KEPT_STATUSES",
    "MANIFEST_FILE",
    "PROGRESS_FILE",
    "RESULTS_CSV",
    "RESULTS_PARQUET",
    "SweepInterrupted",
    "SweepPoint",
    "batch_size",
    "chain_outputs",
    "compact_shadow_prices",
    "die_with_parent",
    "forget_spoiled_session",
    "grid_points",
    "load_results",
    "model_cache",
    "provenance",
    "resolve_key",
    "row_summary",
    "restore_start",
    "run_sweep",
    "sample_points",
    "solve_point",
    "solve_points",
    "status_counts",
    "sweep_identity",
    "without_designs",
]

WORKER_MEMORY_BYTES = 256 * 2**20
"""Resident memory of one local worker after it has built and solved both models: 238 MB measured on the study's
baseline (two workers of a killed sweep, docs/bad-input-catalogue.md row D12), rounded up."""
_SECTIONS = ("landuse", "carbon", "policy", "numerics", "classes")
FSYNC_INTERVAL_S = 0.5
"""Longest time between two fsyncs of progress.jsonl (module docstring): at most this much finished work is exposed
to a crash of the machine, never to a kill of the sweep."""


def resolve_key(key: str) -> str:
    """``financial_discount_rate`` or ``landuse.financial_discount_rate`` -> the dotted scenario key; an entry of a
    dict field (``afforest.scenarios.ENTRY_SWEEP_FIELDS``) is written in full, ``landuse.esv_multiplier_by_land_type.<land type>``."""
    from afforest.scenarios import (
        ENTRY_SWEEP_FIELDS,
        CarbonSection,
        ClassesSection,
        LandUseSection,
        NumericsSection,
        PolicySection,
    )

    sections = {
        "landuse": LandUseSection,
        "carbon": CarbonSection,
        "policy": PolicySection,
        "numerics": NumericsSection,
        "classes": ClassesSection,
    }
    if "." in key:
        section, _, name = key.partition(".")
        name, dot, entry = name.partition(".")
        if section in sections and name in sections[section].model_fields and (
                not dot or (entry and f"{section}.{name}" in ENTRY_SWEEP_FIELDS)):
            return key
    else:
        owners = [s for s, cls in sections.items() if key in cls.model_fields]
        if len(owners) == 1:
            return f"{owners[0]}.{key}"
    raise InputError("not a sweepable scenario parameter (e.g. landuse.financial_discount_rate)", field="--set", value=key)


def without_designs(scenario: Scenario) -> Scenario:
    """``scenario`` without its ``[sweep]`` and ``[sensitivity]`` sections, which describe designs over scenarios (its
    digest leaves them out, and no stage reads them): what a sweep's points are built from, so that no point
    validates a design again (two thirds of a point's validation on the shipped sensitivity analysis)."""
    from afforest.scenarios import SensitivitySection, SweepSection

    return scenario.model_copy(update={"sweep": SweepSection(), "sensitivity": SensitivitySection()})


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


_CACHE_SIZE = 4
"""Model sets kept per worker (least recently used dropped): one per structure and start values."""


def model_cache() -> OrderedDict[tuple[str, str], Any]:
    """This worker's models, by (structure key, start key), least recently used first."""
    if not hasattr(_LOCAL, "models"):
        _LOCAL.models = OrderedDict()
    return _LOCAL.models


def _init_worker(parent_pid: int | None = None, close_fds: Sequence[int] = ()) -> None:
    """One solver thread per worker process: the pool provides the parallelism.

    With ``parent_pid`` (a local pool) the worker also ignores Ctrl-C (it reaches the whole process group;
    the parent decides what to do), closes the parent's lock and log descriptors inherited by ``fork``, and
    dies with its parent.
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    if parent_pid is None:
        return
    _LOCAL.models = OrderedDict()  # fork copied the parent's models (and their solver sessions): start afresh
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # fork copied the parent's handler; here SIGTERM just ends
    for fd in close_fds:
        try:
            os.close(fd)
        except OSError:
            pass
    die_with_parent(parent_pid)


def die_with_parent(parent_pid: int, *, use_prctl: bool = True, poll_s: float = 0.5) -> None:
    """End this process when ``parent_pid`` (its parent) ends, even by SIGKILL.

    Linux: the kernel sends SIGTERM at the parent's death (``prctl(PR_SET_PDEATHSIG)``). Everywhere: a daemon
    thread polls ``os.getppid()`` (a dead parent's children are re-parented) and exits the process.
    """
    if use_prctl and sys.platform.startswith("linux"):
        try:
            import ctypes
            import ctypes.util

            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the request above took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="afforest-parent-watch", daemon=True).start()


@dataclass
class _Cached:
    """Models of one structure in a worker, with the variables' values as built (every solve starts there)."""

    models: Any
    start_values: list[tuple[Any, Any]]


def _start_key(inputs: Any) -> str:
    """The inputs that the model builders copy into the variables' initial values.

    ``build_curves_model`` starts A_t at A0 and ``build_classes_model`` each class at its area; models built
    for other values of these start elsewhere, so they are not re-used for them (part of the cache key).
    """
    table = inputs.classes.sort_values(["rank", "slice"])
    payload = [float(inputs.params.initial_area_10k_ha), [float(a) for a in table["area_10k_ha"]]]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def _start_values(models: Any) -> list[tuple[Any, Any]]:
    import pyomo.environ as pyo

    return [
        (var, var.value)
        for model in (models.curves, models.classes)
        for var in model.component_data_objects(pyo.Var, descend_into=True)
    ]


def restore_start(cached: _Cached) -> None:
    """Put every variable back at its build-time value (Ipopt then starts each point from the same place,
    whichever point this worker solved before) and clear what HiGHS kept from the previous point: re-used
    models then give a fresh build's numbers, i.e. ``afforest solve``'s, bit for bit."""
    from afforest.solvers import clear_warm_start

    for var, value in cached.start_values:
        var.set_value(value, skip_validation=True)
    clear_warm_start(cached.models.classes)


def forget_spoiled_session(model: Any) -> None:
    """Drop the HiGHS session of a classes model that a point left unlike a fresh load (the next point loads it
    afresh); a module-level name, so that ``bench/sweep.py`` can compare keeping it."""
    from afforest.solvers import forget_session

    forget_session(model)


def _session_is_spoiled(result: Any) -> bool:
    """Whether this point left the classes QP's HiGHS session unlike a freshly loaded one.

    ``solve_models`` re-solves a program whose planting restarts late with the tail's rates fixed at 0, then
    frees them (``result.tail_held_from_yr``); HiGHS's incremental updates for fixing and freeing leave a model
    whose later solves differ from a fresh load (measured: 9e-8 relative at r = 0.2 after r = 0.3). A suspect
    result may have come through a failed hold, which leaves no record.
    """
    return bool(result.tail_held_from_yr) or result.status != "ok"


def solve_point(base_json: str, point: SweepPoint, reuse: bool = True, allow_nonoptimal: bool = False,
                engine: str = "pyomo") -> dict[str, Any]:
    """Run the chain for one point on this worker's cached models and return its row; errors become a row with
    ``status = "failed"``. ``engine``: ``pyomo``, ``fast`` or ``auto`` (:mod:`afforest.chain.fast_path`; a point
    the fast path solves builds no models; the column ``landuse_path`` says which ran).

    ``status`` is ``ok``, ``suspect`` (the land-use result flags itself; ``suspect_reasons`` says why) or
    ``failed`` (the column ``error`` says why).
    """
    from afforest.chain.inputs import resolve_inputs, scenario_bundle
    from afforest.chain.landuse import build_models, structure_key, update_models
    from afforest.chain.stages import run_chain
    started = time.perf_counter()
    row: dict[str, Any] = {"point_id": point.point_id}
    row.update({key.partition(".")[2]: value for key, value in point.overrides.items()})
    try:
        scenario = Scenario.model_validate_json(base_json).with_overrides(point.overrides)
        row["scenario"] = scenario.name
        row["scenario_hash"] = scenario.digest()
        bundle = scenario_bundle(scenario)  # its region's, not the default's
        row["financial_discount_rate"] = _resolved(scenario, bundle.landuse_parameters.financial_discount_rate)
        row["carbon_discount_rate"] = scenario.carbon.carbon_discount_rate or 0.0
        inputs = resolve_inputs(scenario, bundle)
        if engine != "pyomo":
            from afforest.chain.fast_path import resolve_engine

            if resolve_engine(engine, inputs)[0] == "fast":
                chain = run_chain(scenario, bundle=bundle, inputs=inputs, allow_nonoptimal=allow_nonoptimal, engine=engine,
                                  tables=False)  # the row's values, without the tables it does not read
                row.update(chain_outputs(chain))
                row.update({"build_s": 0.0, "models_reused": False})
                row["point_s"] = time.perf_counter() - started
                row["worker_pid"] = os.getpid()
                return row
        build_start = time.perf_counter()
        cache = model_cache()
        key = (structure_key(scenario), _start_key(inputs))
        cached = cache.get(key) if reuse else None
        reused = cached is not None
        if cached is None:
            models = build_models(inputs)
            cached = _Cached(models, _start_values(models))
            if reuse:
                cache[key] = cached
                while len(cache) > _CACHE_SIZE:
                    cache.popitem(last=False)
        else:
            cache.move_to_end(key)
            models = cached.models
            update_models(models, inputs)
            restore_start(cached)
        build_s = time.perf_counter() - build_start
        try:
            chain = run_chain(scenario, bundle=bundle, models=models, inputs=inputs, allow_nonoptimal=allow_nonoptimal,
                              engine=engine, tables=False)
        except BaseException:
            cache.pop(key, None)  # models left mid-solve are not re-used
            raise
        if _session_is_spoiled(chain.landuse):
            forget_spoiled_session(models.classes)
        row.update(chain_outputs(chain))
        row.update({"build_s": build_s, "models_reused": reused})
    except Exception as exc:  # a failed point is recorded, never fatal to the sweep
        row.update({"status": "failed", "suspect_reasons": "", "error": f"{type(exc).__name__}: {exc}"[:2000]})
        row.setdefault("traceback", traceback.format_exc(limit=3)[-2000:])
    row["point_s"] = time.perf_counter() - started
    row["worker_pid"] = os.getpid()
    return row


def _resolved(scenario: Scenario, default: float) -> float:
    value = scenario.landuse.financial_discount_rate
    return float(value) if value is not None else float(default)


def welfare_key(representation: str, term: str) -> str:
    """Sweep column of a named welfare term: ``welfare_<representation>_<term>_10e8_yuan`` (a term registered in a
    switch's block, ``block.term``, has its dot replaced)."""
    return f"welfare_{representation}_{term.replace('.', '_')}_10e8_yuan"


def pontryagin_columns(lu: Any, summary: dict[str, Any] | None = None) -> dict[str, Any]:
    """The certificate and the shadow prices in a sweep row: ``pontryagin_max_residual`` (both programs),
    ``pontryagin_max_residual_<rep>``, ``shadow_price_max_<rep>_<constraint>`` (the largest shadow price of each
    active policy constraint over its index, e.g. ``shadow_price_max_curves_planting_cap_annual_planting_cap``;
    its unit is in ``shadow_prices_json``) and ``shadow_prices_json`` (:func:`compact_shadow_prices`: every non-zero
    entry of ``solve --json``'s list, grouped by constraint). ``summary``: ``lu.to_dict()`` when the caller has it
    (it costs ~5 ms a row)."""
    summary = lu.to_dict() if summary is None else summary
    row: dict[str, Any] = {"pontryagin_max_residual": summary["pontryagin_max_residual"]}
    for rep in ("curves", "classes"):
        row[f"pontryagin_max_residual_{rep}"] = summary["pontryagin"].get(rep, {}).get("max_residual")
    prices = summary["shadow_prices"]
    for price in prices:
        key = f"shadow_price_max_{price['representation']}_{price['constraint'].replace('.', '_')}"
        if price["value"] is not None:
            row[key] = max(row.get(key, -math.inf), price["value"])
    row["shadow_prices_json"] = json.dumps(compact_shadow_prices(prices))
    return row


def compact_shadow_prices(prices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``solve --json``'s shadow prices (one record per constraint index) as one record per constraint:
    ``{representation, constraint, unit, count, index, value}`` with ``index``/``value`` the entries that are not 0
    (``count``: how many indices the constraint has; an index not listed has a shadow price of 0, a None value is
    listed as null). Lossless, and ~20 times smaller where a planting cap holds one price per period of both
    programs (~36 KB a row as records, written to ``progress.jsonl`` for every point of a sweep)."""
    grouped: dict[tuple[str, str, str], dict[str, Any]] = {}
    for price in prices:
        key = (price["representation"], price["constraint"], price["unit"])
        record = grouped.setdefault(key, {"representation": key[0], "constraint": key[1], "unit": key[2], "count": 0,
                                          "index": [], "value": []})
        record["count"] += 1
        if price["value"] != 0.0:
            record["index"].append(price["index"])
            record["value"].append(price["value"])
    return list(grouped.values())


CARBON_TARGET_CONSTRAINT = "carbon_target.carbon_target"
"""The carbon target's constraint (switch ``carbon_target``, afforest.model.carbon_policy): its shadow price is minus
the marginal cost of carbon, yuan (PV at t = 0) per t CO2."""


def carbon_target_columns(prices: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """``carbon_target_marginal_cost_<rep>_yuan_per_t_co2``: the marginal cost of carbon of each program whose carbon
    target binds (minus the constraint's shadow price, as ``shadow_price_max_<rep>_carbon_target_carbon_target``);
    no column where no target binds."""
    return {f"carbon_target_marginal_cost_{p['representation']}_yuan_per_t_co2": -float(p["value"])
            for p in prices if p["constraint"] == CARBON_TARGET_CONSTRAINT and p["value"] is not None}


def _finite(value: float | None) -> float | None:
    """As in the land-use JSON summary: a value that is not finite becomes None."""
    return None if value is None or not math.isfinite(value) else float(value)


def row_summary(lu: Any) -> dict[str, Any]:
    """The keys of ``lu.to_dict()`` a sweep row reads, with the same values, without the allocation records,
    province shares and path summaries the rest of that summary builds (~5-10 ms a row);
    tests/test_chain_caches.py holds them equal to ``to_dict``'s."""
    analytic = lu.analytic_afforested_area_10k_ha
    return {
        "analytic_afforested_area_10k_ha": analytic,
        "analytic_roots": [{"afforested_area_10k_ha": r.afforested_area_10k_ha, "stability": r.stability.value}
                           for r in lu.roots],
        "numeric_afforested_area_10k_ha": lu.numeric_afforested_area_10k_ha,
        "classes_afforested_area_10k_ha": lu.classes_afforested_area_10k_ha,
        "numeric_gap_to_analytic_pct": 100 * (lu.numeric_afforested_area_10k_ha / analytic - 1) if analytic > 0 else None,
        "afforested_share_of_A0": lu.afforested_share_of_initial_area,
        "pontryagin_max_residual": _finite(lu.pontryagin_max_residual),
        "pontryagin": {rep: {"max_residual": _finite(c.max_residual)} for rep, c in lu.pontryagin.items()},
        "shadow_prices": [{**p, "value": _finite(p["value"])} for p in lu.shadow_prices],
    }


def chain_outputs(chain: Any) -> dict[str, Any]:
    """One sweep row from a chain run: land use and its certificates, welfare by term, the planting path's speed,
    the carbon of the planned path and of the plan's area and the plan's costs (at the scenario's r_c, and under
    names that say the rate at each of the bundle's ``carbon_discount_rates``), and the cost-effective area against
    each power-sector abatement option and the carbon market's price at each of those rates
    (:mod:`afforest.scenarios.outputs` names the columns)."""
    lu = chain.landuse
    summary = row_summary(lu)
    rate = chain.carbon.scenario_rate
    costs = chain.supply.at(rate)
    row: dict[str, Any] = {
        "analytic_afforested_area_10k_ha": summary["analytic_afforested_area_10k_ha"],
        "analytic_root_count": len(summary["analytic_roots"]),
        "analytic_roots_10k_ha": json.dumps([r["afforested_area_10k_ha"] for r in summary["analytic_roots"]]),
        "analytic_root_stability": json.dumps([r["stability"] for r in summary["analytic_roots"]]),
        "numeric_afforested_area_10k_ha": summary["numeric_afforested_area_10k_ha"],
        "classes_afforested_area_10k_ha": summary["classes_afforested_area_10k_ha"],
        "numeric_gap_to_analytic_pct": summary["numeric_gap_to_analytic_pct"],
        "afforested_share_of_A0": summary["afforested_share_of_A0"],
        "curves_solver": lu.curves_solver.label,
        "curves_status": lu.curves_solver.status.value,
        "curves_solve_s": lu.curves_solver.wall_time_s,
        "classes_solver": lu.classes_solver.label,
        "classes_status": lu.classes_solver.status.value,
        "classes_solve_s": lu.classes_solver.wall_time_s,
        "status": lu.status,
        "suspect_reasons": "; ".join(str(r) for r in lu.suspect_reasons),
        "error": "",
        "landuse_path": lu.landuse_path,
        "carbon_t_co2_per_ha": chain.carbon.per_hectare_total_t_co2(rate),
        "desirable_carbon_mt_co2": costs["carbon_mt_co2"],
        "average_carbon_cost_yuan_per_t_co2": costs["average_cost_yuan_per_t_co2"],
        "min_marginal_cost_yuan_per_t_co2": costs["min_marginal_cost_yuan_per_t_co2"],
        "max_marginal_cost_yuan_per_t_co2": costs["max_marginal_cost_yuan_per_t_co2"],
    }
    for representation, terms in chain.welfare_terms_10e8_yuan.items():
        for term, value in terms.items():
            row[welfare_key(representation, term)] = value
    row.update({k: (float(v) if v is not None else None) for k, v in chain.years_to_share().items()})
    row.update(pontryagin_columns(lu, summary))
    row.update(carbon_target_columns(summary["shadow_prices"]))
    row["saddle_eigenvalue_per_yr"] = lu.saddle_path.get("saddle_eigenvalue_per_yr")
    row["saddle_path_max_gap_10k_ha"] = lu.saddle_path.get("saddle_path_max_gap_10k_ha")
    row["planned_path_planted_10k_ha"] = chain.carbon.planted_area_10k_ha("planned_path")
    row["planned_path_sink_mt_co2"] = chain.carbon.total_mt_co2("planned_path", rate)
    row.update(rate_columns(chain))
    return row


def rate_columns(chain: Any) -> dict[str, float]:
    """The row's columns at each of the bundle's carbon discount rates (0 and 5 % in the study): the carbon of the
    desirable area and of the planned path, the average and the last hectare's marginal cost, and the cost-effective
    area against each benchmark (:func:`afforest.chain.row_stages.power_benchmarks`)."""
    from afforest.chain.row_stages import carbon_totals, power_benchmarks, supply_totals
    from afforest.scenarios.outputs import cost_effective_area_column, rate_column

    row: dict[str, float] = {}
    rates = chain.bundle.carbon_discount_rates
    carbon, supply = chain.carbon, chain.supply
    if not all(r in carbon.carbon_discount_rates and r in supply.curves for r in rates):
        # stages a caller assembled at fewer rates (run_chain accounts them all): the row-only stages, same numbers
        carbon = carbon_totals(chain.landuse, chain.bundle, tuple(sorted({*rates, carbon.scenario_rate})),
                               carbon.scenario_rate)
        supply = supply_totals(chain.inputs.classes, chain.inputs.params.financial_discount_rate,
                               chain.landuse.headline_afforested_area_10k_ha, carbon, chain.bundle,
                               chain.scenario.carbon.parameters(chain.bundle.carbon_parameters))
    for rate in rates:
        costs = supply.at(rate)
        row[rate_column("desirable_carbon", rate, "mt_co2")] = costs["carbon_mt_co2"]
        row[rate_column("planned_path_sink", rate, "mt_co2")] = carbon.total_mt_co2("planned_path", rate)
        row[rate_column("average_carbon_cost", rate, "yuan_per_t_co2")] = costs["average_cost_yuan_per_t_co2"]
        row[rate_column("max_marginal_cost", rate, "yuan_per_t_co2")] = costs["max_marginal_cost_yuan_per_t_co2"]
    for benchmark, price in power_benchmarks(chain.bundle).items():
        for rate in rates:
            row[cost_effective_area_column(benchmark, rate)] = supply.cost_effective_area_10k_ha(rate, price)
    return row


# --- the driver -----------------------------------------------------------------------------------------


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a sweep: the workers are gone and every finished point is in progress.jsonl."""

    def __init__(self, kept: int, total: int, folder: Path | None, signum: int) -> None:
        self.kept, self.total, self.folder, self.signum = kept, total, folder, signum
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if self.folder is None:
            return f"interrupted: {self.kept} of {self.total} points were finished; without --output nothing is kept"
        return (
            f"interrupted: {self.kept} of {self.total} points kept in {self.folder / PROGRESS_FILE}; "
            "run the same command to resume"
        )

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum)


class _Stop(BaseException):
    """Raised in the main thread by the SIGTERM handler (a BaseException, so no ``except Exception`` eats it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


# Signals: SIGTERM raises _Stop in the main thread while a sweep runs; during clean-up both are ignored.
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop(signum)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _mask_signals() -> None:
    if _in_main_thread():
        for sig in _SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def _abort_pool(pool: ProcessPoolExecutor, futures: Sequence[Any]) -> None:
    """Stop a pool now: cancel what has not started and end the workers (they hold no result worth waiting for)."""
    _mask_signals()
    for future in futures:
        future.cancel()
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + 5.0
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(1.0)


def _pool_context() -> Any:
    # fork on Linux (fast; the worker's parent is this process, which the death watch relies on), spawn elsewhere
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def solve_points(base_json: str, points: Sequence[SweepPoint], reuse: bool = True, allow_nonoptimal: bool = False,
                 engine: str = "pyomo") -> list[dict[str, Any]]:
    """:func:`solve_point` for each of a batch of points, in order (one task of the local pool, see
    :func:`batch_size`)."""
    return [solve_point(base_json, point, reuse, allow_nonoptimal, engine) for point in points]


BATCH_TARGET_S = 0.25
"""Wall time one task of the local pool aims at: points cheaper than this travel in batches (fast-path points take
~20 ms, so ~12 a task), sparing the parent one task's pickling, queueing and result handling per point (~1.8 ms of
the parent's CPU a point at 80 points/s on 2 cores, which the workers need). Pyomo points (~0.4 s) go one by one as
before. A killed or interrupted sweep loses at most the batches in flight, about this long each."""
MAX_BATCH = 64
"""Largest batch, whatever the points cost."""
TASKS_IN_FLIGHT_PER_WORKER = 2
"""Tasks queued per worker: one running, one waiting, so no worker idles while the parent submits the next."""


def batch_size(seconds_per_point: float | None) -> int:
    """Points per task for points that take ``seconds_per_point`` each (None: not known yet, 1)."""
    if seconds_per_point is None or not math.isfinite(seconds_per_point) or seconds_per_point <= 0:
        return 1
    return int(min(MAX_BATCH, max(1, BATCH_TARGET_S // seconds_per_point)))


def _iterate_local(
    base_json: str, todo: Sequence[SweepPoint], workers: int, reuse: bool, allow_nonoptimal: bool = False, close_fds: Sequence[int] = (),
    engine: str = "pyomo",
) -> Iterator[dict[str, Any]]:
    if workers <= 1:
        _init_worker()
        for point in todo:
            yield solve_point(base_json, point, reuse, allow_nonoptimal, engine)
        return
    # Points are submitted in order, a few tasks per worker at a time, in batches sized from the time the points
    # finished so far took (batch_size): consecutive points (one structure) stay together, so each worker builds once.
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=_pool_context(), initializer=_init_worker, initargs=(os.getpid(), tuple(close_fds))
    )
    pending = list(reversed(todo))  # popped from the end: the points in order
    in_flight: set[Any] = set()
    point_seconds: list[float] = []
    finished = broken = False
    try:
        while pending or in_flight:
            while pending and len(in_flight) < TASKS_IN_FLIGHT_PER_WORKER * workers:
                size = batch_size(float(np.median(point_seconds[-64:])) if point_seconds else None)
                batch = [pending.pop() for _ in range(min(size, len(pending)))]
                in_flight.add(pool.submit(solve_points, base_json, batch, reuse, allow_nonoptimal, engine))
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                for row in future.result():
                    point_seconds.append(float(row.get("point_s", math.nan)))
                    yield row
        finished = True
    except BrokenProcessPool:
        broken = True
        raise
    finally:
        if finished:
            pool.shutdown(wait=True)
        elif broken:
            # A worker died (e.g. the OOM killer): the pool's own threads print tracebacks about the dead worker's
            # pipe while it shuts down. Wait for them here, quietly, so the user reads one clear error instead.
            with contextlib.redirect_stderr(io.StringIO()):
                _abort_pool(pool, list(in_flight))
                pool.shutdown(wait=True)
        else:  # interrupted or the consumer stopped
            _abort_pool(pool, list(in_flight))


def _iterate_dask(base_json: str, todo: Sequence[SweepPoint], scheduler: Any, reuse: bool, allow_nonoptimal: bool = False,
                  engine: str = "pyomo") -> Iterator[dict[str, Any]]:
    """As the local pool: points in order, in batches sized from the points finished so far (:func:`batch_size`), a
    few tasks per worker in flight (a Dask task costs the scheduler ~1 ms: one per 20 ms point halved the rate)."""
    from distributed import Client
    from distributed import as_completed as dask_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    in_flight: Any = None
    submitted: set[Any] = set()  # not yet consumed (cancelled if the sweep stops); a consumed future is let go
    finished = False
    try:
        client.run(_init_worker)
        window = TASKS_IN_FLIGHT_PER_WORKER * max(len(client.scheduler_info().get("workers", {})), 1)
        pending = list(reversed(todo))  # popped from the end: the points in order
        point_seconds: list[float] = []

        def submit() -> Any:
            size = batch_size(float(np.median(point_seconds[-64:])) if point_seconds else None)
            batch = [pending.pop() for _ in range(min(size, len(pending)))]
            future = client.submit(solve_points, base_json, batch, reuse, allow_nonoptimal, engine, pure=False)
            submitted.add(future)
            return future

        in_flight = dask_completed([submit() for _ in range(min(window, len(pending)))])
        for future in in_flight:
            submitted.discard(future)
            for row in future.result():
                point_seconds.append(float(row.get("point_s", math.nan)))
                yield row
            if pending:
                in_flight.add(submit())
        finished = True
    finally:
        if not finished and submitted:
            _mask_signals()
            client.cancel(list(submitted))
        if not isinstance(scheduler, Client):
            client.close()


def _check_worker_memory(processes: int, asked: int | None) -> None:
    """Refuse, before any worker starts, more local workers than this machine's memory holds."""
    from afforest.model.cells import available_memory_bytes

    need, available = processes * WORKER_MEMORY_BYTES, available_memory_bytes()
    if available is not None and need > available:
        raise InputError(
            f"{processes} worker processes need about {need / 1e9:.3g} GB (about {WORKER_MEMORY_BYTES / 2**20:.0f} MiB "
            f"each), but {available / 1e9:.3g} GB is available: use at most {max(available // WORKER_MEMORY_BYTES, 1)} "
            "workers (0: one per core), or a Dask cluster (--scheduler)",
            field="--workers",
            value=asked,
        )


def run_sweep(
    scenario: Scenario | str,
    points: Sequence[SweepPoint],
    output: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    reuse: bool = True,
    progress: bool = True,
    overwrite: bool = False,
    allow_nonoptimal: bool = False,
    engine: str = "pyomo",
) -> pd.DataFrame:
    """Solve every point; with ``output`` resume from and write to that folder. Returns the tidy table.

    ``workers``: local processes (None or 0: one per core, at most one per point). ``output`` must be a
    folder that is new, empty of sweep files, or holds this same sweep (then finished points are kept);
    another sweep's folder is refused unless ``overwrite``. ``allow_nonoptimal``: a land-use solve that stops
    short of an optimum gives a ``suspect`` row instead of a ``failed`` one. Ctrl-C or SIGTERM raises
    :class:`SweepInterrupted` once the workers are gone. ``engine``: what solves the land use, ``pyomo`` (default:
    the reference, whose numbers tests/golden stores), ``auto`` (the fast path where the point is eligible) or
    ``fast`` (:mod:`afforest.chain.fast_path`); the column ``landuse_path`` says which ran.
    """
    base = load_scenario(scenario) if isinstance(scenario, (str, Path)) else scenario
    solved = without_designs(base)
    base_json = solved.model_dump_json()
    if not points:
        raise InputError("no points to solve", field="points")
    digests = point_digests(solved, points)  # refuse bad overrides before anything is solved
    from afforest.chain.fast_path import ENGINES

    if engine not in ENGINES:
        raise InputError(f"must be one of {ENGINES}", field="--engine", value=engine)
    if workers is not None and (isinstance(workers, bool) or int(workers) != workers or workers < 0):
        raise InputError("must be a whole number >= 0 (0: one worker per core)", field="--workers", value=workers)
    if scheduler is None:
        _check_worker_memory(min(workers or os.cpu_count() or 1, len(points)), workers)
    folder = OutputFolder(output, base, points, digests, overwrite, engine) if output is not None else None
    try:
        return _run(base, base_json, points, digests, folder, workers, scheduler, reuse, progress, allow_nonoptimal, engine)
    finally:
        if folder is not None:
            folder.close()


def _run(
    base: Scenario,
    base_json: str,
    points: Sequence[SweepPoint],
    digests: Mapping[int, str],
    folder: OutputFolder | None,
    workers: int | None,
    scheduler: Any,
    reuse: bool,
    progress: bool,
    allow_nonoptimal: bool,
    engine: str = "pyomo",
) -> pd.DataFrame:
    done: dict[int, dict[str, Any]] = {}
    progress_path = None
    if folder is not None:
        progress_path = folder.path / PROGRESS_FILE
        done = {
            i: r
            for i, r in read_progress(progress_path).items()
            if i in digests and r.get("status") in KEPT_STATUSES and r.get("scenario_hash") == digests[i]
        }
    todo = [p for p in points if p.point_id not in done]
    workers = min(workers or os.cpu_count() or 1, max(len(todo), 1))
    rows = dict(done)
    log = progress_path.open("a") if progress_path is not None else None
    if log is not None and progress_path.stat().st_size and not progress_path.read_bytes().endswith(b"\n"):
        log.write("\n")  # close a line cut by a kill, so the next record starts on its own line
        log.flush()
    close_fds = [fd for fd in ((folder.lock_fd if folder else None), (log.fileno() if log else None)) if fd is not None]
    if scheduler is not None:
        iterator = _iterate_dask(base_json, todo, scheduler, reuse, allow_nonoptimal, engine)
    else:
        iterator = _iterate_local(base_json, todo, workers, reuse, allow_nonoptimal, close_fds, engine)
    from tqdm import tqdm

    main = _in_main_thread()
    saved = {sig: signal.getsignal(sig) for sig in _SIGNALS} if main else {}
    if main and saved[signal.SIGTERM] in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _raise_stop)
    bar = tqdm(total=len(points), initial=len(done), disable=not progress, file=sys.stderr, unit="point")
    stopped: int | None = None
    synced = time.monotonic()
    try:
        try:
            for row in iterator:
                rows[int(row["point_id"])] = row
                if log is not None:
                    log.write(json.dumps(row, default=str) + "\n")
                    log.flush()  # in the kernel's hands: a kill of this process loses nothing
                    if time.monotonic() - synced >= FSYNC_INTERVAL_S:
                        os.fsync(log.fileno())
                        synced = time.monotonic()
                bar.update(1)
        except KeyboardInterrupt:
            stopped = signal.SIGINT
        except _Stop as exc:
            stopped = exc.signum
        except BrokenProcessPool as exc:
            kept = sum(1 for r in rows.values() if r.get("status") in KEPT_STATUSES)
            where = f"; {kept} of {len(points)} points kept in {progress_path}, run the same command to resume" if log else ""
            raise SolverError(f"a sweep worker process died, perhaps killed for lack of memory ({exc}){where}") from None
        finally:
            if stopped is not None:
                _mask_signals()
            iterator.close()  # ends the workers if the loop did not run to the end
            bar.close()
            if log is not None:
                log.flush()
                os.fsync(log.fileno())
                log.close()
        if stopped is not None:
            kept = sum(1 for r in rows.values() if r.get("status") in KEPT_STATUSES)
            raise SweepInterrupted(kept, len(points), folder.path if folder else None, stopped)
        frame = pd.DataFrame([rows[i] for i in sorted(rows)])
        if folder is not None:
            write_results(frame, folder.path, provenance(base, points, engine, digests))
        return frame
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


