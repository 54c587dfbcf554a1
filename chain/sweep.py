"""Parameter sweeps: a grid or a sample of scenario variants, solved in parallel, resumable, written atomically.

Each point is the base scenario with a few ``section.field`` overrides. A worker process keeps the models it
built, keyed by :func:`afforest.chain.landuse.structure_key`, and re-solves by assigning mutable params (HiGHS keeps a
persistent session per model, so only the changes are sent). Models never cross process boundaries: workers
receive the scenario as JSON and send back one flat row. Locally the points run on a process pool (one
solver thread per worker); with ``scheduler`` they run on a Dask distributed cluster instead.

Finished rows are appended (and fsync'd) to ``progress.jsonl`` in the output folder, so an interrupted
sweep continues where it stopped; ``results.parquet`` and ``results.csv`` are written to a temporary file
and renamed, so a killed run never leaves a truncated results file.

An output folder belongs to one sweep (``sweep.json`` names it: the resolved scenario's hash and the points):
the same sweep resumes there, a different one is refused unless ``overwrite``. One sweep at a time writes to a
folder (an exclusive ``flock`` on ``DIR/.lock``). Pool workers die with the sweep (``PR_SET_PDEATHSIG`` on
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
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import afforest
from afforest.errors import InputError, SolverError, prepare_output_dir
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
    "SweepInterrupted",
    "status_counts",
    "sweep_identity",
]

PROGRESS_FILE = "progress.jsonl"
RESULTS_PARQUET = "results.parquet"
RESULTS_CSV = "results.csv"
MANIFEST_FILE = "sweep.json"
LOCK_FILE = ".lock"
KEPT_STATUSES = ("ok", "suspect")
"""Rows with these statuses are final: a resumed sweep keeps them; ``failed`` rows are solved again."""
WORKER_MEMORY_BYTES = 256 * 2**20
"""Resident memory of one local worker after it has built and solved both models: 238 MB measured on the study's
baseline (two workers of a killed sweep, docs/bad-input-catalogue.md row D12), rounded up."""
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


_CACHE_SIZE = 4
"""Model sets kept per worker (least recently used dropped): one per structure and start values."""


def _model_cache() -> OrderedDict[tuple[str, str], Any]:
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
    _die_with_parent(parent_pid)


def _die_with_parent(parent_pid: int, *, use_prctl: bool = True, poll_s: float = 0.5) -> None:
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


def _restore_start(cached: _Cached) -> None:
    """Put every variable back at its build-time value (Ipopt then starts each point from the same place,
    whichever point this worker solved before) and clear what HiGHS kept from the previous point: re-used
    models then give a fresh build's numbers, i.e. ``afforest solve``'s, bit for bit."""
    from afforest.solvers import clear_warm_start

    for var, value in cached.start_values:
        var.set_value(value, skip_validation=True)
    clear_warm_start(cached.models.classes)


def _session_is_spoiled(result: Any) -> bool:
    """Whether this point left the classes QP's HiGHS session unlike a freshly loaded one.

    ``solve_models`` re-solves a program whose planting restarts late with the tail's rates fixed at 0, then
    frees them (``result.tail_held_from_yr``); HiGHS's incremental updates for fixing and freeing leave a model
    whose later solves differ from a fresh load (measured: 9e-8 relative at r = 0.2 after r = 0.3). A suspect
    result may have come through a failed hold, which leaves no record.
    """
    return bool(result.tail_held_from_yr) or result.status != "ok"


def solve_point(base_json: str, point: SweepPoint, reuse: bool = True, allow_nonoptimal: bool = False) -> dict[str, Any]:
    """Solve one point and return its row; errors become a row with ``status = "failed"``.

    ``status`` is ``ok``, ``suspect`` (the land-use result flags itself; ``suspect_reasons`` says why) or
    ``failed`` (the column ``error`` says why).
    """
    from afforest.chain.inputs import resolve_inputs
    from afforest.chain.landuse import build_models, solve_models, structure_key, update_models
    from afforest.solvers import forget_session

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
            _restore_start(cached)
        build_s = time.perf_counter() - build_start
        try:
            result = solve_models(inputs, models, allow_nonoptimal=allow_nonoptimal)
        except BaseException:
            cache.pop(key, None)  # models left mid-solve are not re-used
            raise
        if _session_is_spoiled(result):
            forget_session(models.classes)
        summary = result.to_dict()
        status, reasons = result.status, result.suspect_reasons
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
                "status": status,
                "suspect_reasons": "; ".join(str(r) for r in reasons),
                "error": "",
            }
        )
        row.update(_carbon_outputs(inputs, summary))
    except Exception as exc:  # a failed point is recorded, never fatal to the sweep
        row.update({"status": "failed", "suspect_reasons": "", "error": f"{type(exc).__name__}: {exc}"[:2000]})
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


def _point_digests(base: Scenario, points: Sequence[SweepPoint]) -> dict[int, str]:
    """The resolved scenario hash of every point; refuses bad overrides before anything is solved."""
    digests = {}
    for point in points:
        if point.point_id in digests:
            raise InputError("two points share this point_id", field="point_id", value=point.point_id)
        digests[point.point_id] = base.with_overrides(point.overrides).digest()
    return digests


def sweep_identity(base: Scenario, digests: Mapping[int, str]) -> str:
    """What makes two sweeps the same sweep: the resolved base scenario and the resolved scenario of every point."""
    payload = {"scenario_hash": base.digest(), "points": sorted(digests.items())}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def provenance(scenario: Scenario, points: Sequence[SweepPoint]) -> dict[str, Any]:
    """What is needed to regenerate the results: package and solver versions and the resolved scenario."""
    from afforest.solvers import available_solvers

    return {
        "afforest_version": afforest.__version__,
        "solvers": available_solvers(),
        "python": sys.version.split()[0],
        "scenario": scenario.model_dump(mode="json"),
        "scenario_hash": scenario.digest(),
        "sweep_id": sweep_identity(scenario, _point_digests(scenario, points)),
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
                done[int(record["point_id"])] = record
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                continue  # a line cut by a kill: that point is simply solved again
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
            for key in ("afforest_version", "scenario_hash", "sweep_id", "python"):
                fh.write(f"# {key}: {meta[key]}\n")
            fh.write(f"# solvers: {json.dumps(meta['solvers'])}\n")
            fh.write(f"# scenario: {json.dumps(meta['scenario'])}\n")
            frame.to_csv(fh, index=False)

    _atomic_write(output / RESULTS_CSV, write_csv)


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"sweep_id": "unreadable"}


def _progress_count(folder: Path, manifest: dict[str, Any] | None) -> tuple[int, int | None]:
    """Finished points in a folder's progress.jsonl and the number of points of its sweep (if known)."""
    records = _read_progress(folder / PROGRESS_FILE)
    wanted = (manifest or {}).get("point_hashes")
    kept = [
        i
        for i, r in records.items()
        if r.get("status") in KEPT_STATUSES and (wanted is None or wanted.get(str(i)) == r.get("scenario_hash"))
    ]
    return len(kept), (manifest or {}).get("points")


def load_results(folder: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a sweep's ``results.parquet`` and its provenance."""
    import pyarrow.parquet as pq

    folder = Path(folder)
    path = folder / RESULTS_PARQUET
    if not folder.is_dir():
        raise InputError("no such folder" if not folder.exists() else "not a folder", file=folder)
    if not path.exists():
        manifest = _read_manifest(folder)
        if (folder / PROGRESS_FILE).exists() or manifest is not None:
            kept, total = _progress_count(folder, manifest)
            of = f" of {total}" if total is not None else ""
            raise InputError(
                f"this sweep is not finished: re-run the sweep to finish it ({kept}{of} points in {PROGRESS_FILE})",
                file=folder,
            )
        raise InputError("no sweep results here", file=path)
    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(b"afforest_provenance", b"{}"))
    return table.to_pandas(), meta


class _OutputFolder:
    """An output folder made ready for one sweep: checked, created, locked and claimed (``sweep.json``)."""

    def __init__(self, output: str | Path, base: Scenario, points: Sequence[SweepPoint], digests: Mapping[int, str], overwrite: bool) -> None:
        self.path = Path(output)
        self.lock_fd: int | None = None
        self._prepare()
        try:
            self._lock()
            self._claim(base, points, digests, overwrite)
        except BaseException:
            self.close()
            raise

    def _error(self, reason: str) -> InputError:
        return InputError(reason, field="--output", value=str(self.path))

    def _prepare(self) -> None:
        prepare_output_dir(self.path, option="--output")

    def _lock(self) -> None:
        try:
            fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise self._error(f"cannot write in this folder ({exc.strerror or exc})") from None
        self.lock_fd = fd
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            who = f"PID {holder}" if holder.isdigit() else "another process"
            raise self._error(
                f"another sweep ({who}) is writing to this folder; wait for it to finish, or choose another --output"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)

    def _claim(self, base: Scenario, points: Sequence[SweepPoint], digests: Mapping[int, str], overwrite: bool) -> None:
        identity = sweep_identity(base, digests)
        manifest = {
            "sweep_id": identity,
            "scenario": base.name,
            "scenario_hash": base.digest(),
            "points": len(points),
            "swept_keys": sorted({k for p in points for k in p.overrides}),
            "point_hashes": {str(i): h for i, h in sorted(digests.items())},
            "afforest_version": afforest.__version__,
        }
        held = _read_manifest(self.path)
        ours = [self.path / name for name in (PROGRESS_FILE, RESULTS_PARQUET, RESULTS_CSV, MANIFEST_FILE)]
        if held is None and any(p.exists() for p in ours):
            held = self._legacy_manifest(base, points, digests, identity)
        holds_results = any(p.exists() for p in ours[1:3]) or bool(_read_progress(self.path / PROGRESS_FILE))
        if held is not None and held.get("sweep_id") != identity:
            if not overwrite and holds_results:
                raise self._error(
                    f"holds a different sweep ({_describe(held)}); choose another --output, or pass --overwrite to replace it"
                )
            for path in ours:
                path.unlink(missing_ok=True)
            held = None
        if held is None or held != manifest:
            _atomic_write(self.path / MANIFEST_FILE, lambda tmp: tmp.write_text(json.dumps(manifest, indent=1)))

    def _legacy_manifest(self, base: Scenario, points: Sequence[SweepPoint], digests: Mapping[int, str], identity: str) -> dict[str, Any]:
        """A folder written before sweep.json existed: the same sweep if its rows and provenance agree."""
        described: dict[str, Any] = {"sweep_id": "unknown"}
        results = self.path / RESULTS_PARQUET
        meta: dict[str, Any] = {}
        if results.exists():
            try:
                import pyarrow.parquet as pq

                meta = json.loads((pq.read_schema(results).metadata or {}).get(b"afforest_provenance", b"{}"))
            except Exception:
                meta = {"unreadable": True}
            described.update({k: meta[k] for k in ("scenario_hash", "points", "swept_keys") if k in meta})
            described["scenario"] = meta.get("scenario", {}).get("name", "?") if isinstance(meta.get("scenario"), dict) else "?"
            if meta.get("scenario_hash") != base.digest() or meta.get("points") != len(points):
                return described
        records = _read_progress(self.path / PROGRESS_FILE)
        for i, record in records.items():
            if record.get("status") in KEPT_STATUSES and digests.get(i) != record.get("scenario_hash"):
                described.setdefault("scenario", record.get("scenario", "?"))
                return described
        return {"sweep_id": identity}

    def close(self) -> None:
        if self.lock_fd is not None:
            os.close(self.lock_fd)  # releases the flock
            self.lock_fd = None


def _describe(manifest: Mapping[str, Any]) -> str:
    if manifest.get("sweep_id") == "unreadable":
        return f"its {MANIFEST_FILE} is unreadable"
    parts = []
    if manifest.get("scenario"):
        parts.append(f"scenario {manifest['scenario']!r}")
    if manifest.get("scenario_hash"):
        parts.append(f"hash {manifest['scenario_hash']}")
    if manifest.get("points") is not None:
        keys = ", ".join(manifest.get("swept_keys") or [])
        parts.append(f"{manifest['points']} points" + (f" over {keys}" if keys else ""))
    return ", ".join(parts) or "written by an unknown sweep"


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


def _iterate_local(
    base_json: str, todo: Sequence[SweepPoint], workers: int, reuse: bool, allow_nonoptimal: bool = False, close_fds: Sequence[int] = ()
) -> Iterator[dict[str, Any]]:
    if workers <= 1:
        _init_worker()
        for point in todo:
            yield solve_point(base_json, point, reuse, allow_nonoptimal)
        return
    # Contiguous blocks per worker keep points of one structure together, so each worker builds once.
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=_pool_context(), initializer=_init_worker, initargs=(os.getpid(), tuple(close_fds))
    )
    futures: list[Any] = []
    finished = broken = False
    try:
        futures = [pool.submit(solve_point, base_json, point, reuse, allow_nonoptimal) for point in todo]
        for future in as_completed(futures):
            yield future.result()
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
                _abort_pool(pool, futures)
                pool.shutdown(wait=True)
        else:  # interrupted or the consumer stopped
            _abort_pool(pool, futures)


def _iterate_dask(base_json: str, todo: Sequence[SweepPoint], scheduler: Any, reuse: bool, allow_nonoptimal: bool = False) -> Iterator[dict[str, Any]]:
    from distributed import Client, as_completed as dask_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    futures: list[Any] = []
    finished = False
    try:
        client.run(_init_worker)
        futures = client.map(
            solve_point, [base_json] * len(todo), todo, [reuse] * len(todo), [allow_nonoptimal] * len(todo), pure=False
        )
        for future in dask_completed(futures):
            yield future.result()
        finished = True
    finally:
        if not finished and futures:
            _mask_signals()
            client.cancel(futures)
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
) -> pd.DataFrame:
    """Solve every point; with ``output`` resume from and write to that folder. Returns the tidy table.

    ``workers``: local processes (None or 0: one per core, at most one per point). ``output`` must be a
    folder that is new, empty of sweep files, or holds this same sweep (then finished points are kept);
    another sweep's folder is refused unless ``overwrite``. ``allow_nonoptimal``: a land-use solve that stops
    short of an optimum gives a ``suspect`` row instead of a ``failed`` one. Ctrl-C or SIGTERM raises
    :class:`SweepInterrupted` once the workers are gone.
    """
    base = load_scenario(scenario) if isinstance(scenario, (str, Path)) else scenario
    base_json = base.model_dump_json()
    if not points:
        raise InputError("no points to solve", field="points")
    digests = _point_digests(base, points)  # refuse bad overrides before anything is solved
    if workers is not None and (isinstance(workers, bool) or int(workers) != workers or workers < 0):
        raise InputError("must be a whole number >= 0 (0: one worker per core)", field="--workers", value=workers)
    if scheduler is None:
        _check_worker_memory(min(workers or os.cpu_count() or 1, len(points)), workers)
    folder = _OutputFolder(output, base, points, digests, overwrite) if output is not None else None
    try:
        return _run(base, base_json, points, digests, folder, workers, scheduler, reuse, progress, allow_nonoptimal)
    finally:
        if folder is not None:
            folder.close()


def _run(
    base: Scenario,
    base_json: str,
    points: Sequence[SweepPoint],
    digests: Mapping[int, str],
    folder: _OutputFolder | None,
    workers: int | None,
    scheduler: Any,
    reuse: bool,
    progress: bool,
    allow_nonoptimal: bool,
) -> pd.DataFrame:
    done: dict[int, dict[str, Any]] = {}
    progress_path = None
    if folder is not None:
        progress_path = folder.path / PROGRESS_FILE
        done = {
            i: r
            for i, r in _read_progress(progress_path).items()
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
        iterator = _iterate_dask(base_json, todo, scheduler, reuse, allow_nonoptimal)
    else:
        iterator = _iterate_local(base_json, todo, workers, reuse, allow_nonoptimal, close_fds)
    from tqdm import tqdm

    main = _in_main_thread()
    saved = {sig: signal.getsignal(sig) for sig in _SIGNALS} if main else {}
    if main and saved[signal.SIGTERM] in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _raise_stop)
    bar = tqdm(total=len(points), initial=len(done), disable=not progress, file=sys.stderr, unit="point")
    stopped: int | None = None
    try:
        try:
            for row in iterator:
                rows[int(row["point_id"])] = row
                if log is not None:
                    log.write(json.dumps(row, default=str) + "\n")
                    log.flush()
                    os.fsync(log.fileno())
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
                log.close()
        if stopped is not None:
            kept = sum(1 for r in rows.values() if r.get("status") in KEPT_STATUSES)
            raise SweepInterrupted(kept, len(points), folder.path if folder else None, stopped)
        frame = pd.DataFrame([rows[i] for i in sorted(rows)])
        if folder is not None:
            _write_results(frame, folder.path, provenance(base, points))
        return frame
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def status_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Points by outcome: ``ok``, ``suspect`` and ``failed``."""
    status = frame["status"] if "status" in frame else pd.Series(dtype=str)
    ok = int((status == "ok").sum())
    suspect = int((status == "suspect").sum())
    return {"ok": ok, "suspect": suspect, "failed": int(len(frame) - ok - suspect)}


# --- comparison figures ------------------------------------------------------------------------------------

_SUSPECT_STYLE = {"marker": "^", "s": 60, "facecolors": "none", "edgecolors": "tab:red", "linewidths": 1.4}


def plot_comparison(results: pd.DataFrame, output: str | Path) -> list[Path]:
    """Figures of a sweep: analytic vs numerical afforested area, and sensitivities to r and r_c.

    Suspect points (``status == "suspect"``) are drawn and counted, ringed by a red open triangle.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    usable = results[results["status"].isin(KEPT_STATUSES)]
    if usable.empty:
        raise InputError("no successful points to plot", field="status")
    suspect = usable[usable["status"] == "suspect"]
    tag = f", {len(suspect)} suspect" if len(suspect) else ""
    suspect_label = f"suspect ({len(suspect)} point{'' if len(suspect) == 1 else 's'})"
    written: list[Path] = []

    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    lo = float(min(usable["analytic_afforested_area_10k_ha"].min(), usable["numeric_afforested_area_10k_ha"].min()))
    hi = float(max(usable["analytic_afforested_area_10k_ha"].max(), usable["numeric_afforested_area_10k_ha"].max()))
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.6", lw=1, label="analytic = numerical")
    ax.scatter(usable["analytic_afforested_area_10k_ha"], usable["numeric_afforested_area_10k_ha"], s=18, label="curves NLP (Ipopt)")
    ax.scatter(usable["analytic_afforested_area_10k_ha"], usable["classes_afforested_area_10k_ha"], s=18, marker="x", label="classes QP (HiGHS)")
    if len(suspect):
        for column in ("numeric_afforested_area_10k_ha", "classes_afforested_area_10k_ha"):
            ax.scatter(suspect["analytic_afforested_area_10k_ha"], suspect[column], **_SUSPECT_STYLE,
                       label=suspect_label if column.startswith("numeric") else None)
    ax.set_xlabel("analytic steady state, Eq. 3 (10^4 ha afforested)")
    ax.set_ylabel("dynamic program at the horizon (10^4 ha afforested)")
    ax.set_title(f"Analytic vs numerical afforested area ({len(usable)} points{tag})")
    ax.legend()
    fig.tight_layout()
    path = folder / "analytic_vs_numeric.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    written.append(path)

    for driver, label in (("financial_discount_rate", "financial discount rate r (1/yr)"), ("carbon_discount_rate", "carbon discount rate r_c (1/yr)")):
        if driver not in usable or usable[driver].nunique() < 2:
            continue
        series = usable.groupby(driver)[
            [c for c in ("analytic_afforested_area_10k_ha", "numeric_afforested_area_10k_ha", "average_carbon_cost_yuan_per_t_co2") if c in usable]
        ].mean()
        has_cost = "average_carbon_cost_yuan_per_t_co2" in series
        fig, axes = plt.subplots(1, 2 if has_cost else 1, figsize=(11 if has_cost else 6.4, 4.6), squeeze=False)
        ax = axes[0, 0]
        ax.plot(series.index, series["analytic_afforested_area_10k_ha"], marker="o", label="analytic (Eq. 3)")
        ax.plot(series.index, series["numeric_afforested_area_10k_ha"], marker="x", ls="--", label="curves NLP")
        if len(suspect):
            ax.scatter(suspect[driver], suspect["numeric_afforested_area_10k_ha"], **_SUSPECT_STYLE, label=suspect_label)
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
            if len(suspect):
                ax.scatter(suspect[driver], suspect["average_carbon_cost_yuan_per_t_co2"], **{**_SUSPECT_STYLE, "edgecolors": "black"},
                           label=suspect_label)
                ax.legend()
            ax.set_xlabel(label)
            ax.set_ylabel("average carbon cost (yuan / t CO2)")
        others = len(usable) // max(series.shape[0], 1)
        fig.suptitle(f"Sensitivity to {label.split(' (')[0]}" + (f" (mean over {others} values of the other swept inputs)" if others > 1 else "") + tag)
        fig.tight_layout()
        path = folder / f"sensitivity_{driver}.png"
        fig.savefig(path, dpi=130)
        plt.close(fig)
        written.append(path)
    return written
