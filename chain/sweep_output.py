"""A sweep's files: the output folder (checked, locked, claimed by ``sweep.json``), the progress log, the results
written atomically with their provenance, and reading them back.

An output folder belongs to one sweep (``sweep.json`` names it: the resolved scenario's hash and the points): the
same sweep resumes there, a different one is refused unless ``overwrite``. One sweep at a time writes to a folder
(an exclusive ``flock`` on ``DIR/.lock``). Finished rows are appended (and fsync'd) to ``progress.jsonl``;
``results.parquet`` and ``results.csv`` are written to a temporary file and renamed, so a killed run never leaves a
truncated results file. :mod:`afforest.chain.sweep` drives the sweep and uses these.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import afforest
import pandas as pd
from afforest.errors import InputError, prepare_output_dir
from afforest.scenarios import Scenario

__all__ = [
    "KEPT_STATUSES",
    "LOCK_FILE",
    "MANIFEST_FILE",
    "PROGRESS_FILE",
    "RESULTS_CSV",
    "RESULTS_PARQUET",
    "OutputFolder",
    "SweepPoint",
    "atomic_write",
    "describe_manifest",
    "load_results",
    "point_digests",
    "progress_count",
    "provenance",
    "read_manifest",
    "read_progress",
    "status_counts",
    "sweep_identity",
    "write_results",
]

PROGRESS_FILE = "progress.jsonl"
RESULTS_PARQUET = "results.parquet"
RESULTS_CSV = "results.csv"
MANIFEST_FILE = "sweep.json"
LOCK_FILE = ".lock"
KEPT_STATUSES = ("ok", "suspect")
"""Rows with these statuses are final: a resumed sweep keeps them; ``failed`` rows are solved again."""

@dataclass(frozen=True)
class SweepPoint:
    """One scenario variant: its position in the sweep and its overrides (``section.field`` -> value)."""

    point_id: int
    overrides: dict[str, Any]


def point_digests(base: Scenario, points: Sequence[SweepPoint]) -> dict[int, str]:
    """The resolved scenario hash of every point; refuses bad overrides before anything is solved."""
    digests = {}
    for point in points:
        if point.point_id in digests:
            raise InputError("two points share this point_id", field="point_id", value=point.point_id)
        digests[point.point_id] = base.with_overrides(point.overrides).digest()
    return digests


def sweep_identity(base: Scenario, digests: Mapping[int, str], engine: str = "pyomo") -> str:
    """What makes two sweeps the same sweep: the resolved base scenario, the resolved scenario of every point and the
    land-use engine (``pyomo``, ``fast``, ``auto``), so a resumed run never mixes engines. A Pyomo sweep's identity
    leaves the engine out: it is the one every folder written before the engine was recorded holds."""
    payload: dict[str, Any] = {"scenario_hash": base.digest(), "points": sorted(digests.items())}
    if engine != "pyomo":
        payload["engine"] = engine
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def provenance(scenario: Scenario, points: Sequence[SweepPoint], engine: str = "pyomo",
               digests: Mapping[int, str] | None = None) -> dict[str, Any]:
    """What is needed to regenerate the results: package and solver versions, the resolved scenario, the engine.
    ``digests``: the points' :func:`point_digests` when the caller has them (~0.2 ms a point to compute again)."""
    from afforest.solvers import available_solvers

    return {
        "afforest_version": afforest.__version__,
        "solvers": available_solvers(),
        "python": sys.version.split()[0],
        "scenario": scenario.model_dump(mode="json"),
        "scenario_hash": scenario.digest(),
        "sweep_id": sweep_identity(scenario, point_digests(scenario, points) if digests is None else digests, engine),
        "engine": engine,
        "points": len(points),
        "swept_keys": sorted({k for p in points for k in p.overrides}),
    }


def read_progress(path: Path) -> dict[int, dict[str, Any]]:
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


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_results(frame: pd.DataFrame, output: Path, meta: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"afforest_provenance": json.dumps(meta).encode()})
    atomic_write(output / RESULTS_PARQUET, lambda tmp: pq.write_table(table, tmp))

    def write_csv(tmp: Path) -> None:
        with tmp.open("w") as fh:
            for key in ("afforest_version", "scenario_hash", "sweep_id", "python"):
                fh.write(f"# {key}: {meta[key]}\n")
            fh.write(f"# solvers: {json.dumps(meta['solvers'])}\n")
            fh.write(f"# scenario: {json.dumps(meta['scenario'])}\n")
            frame.to_csv(fh, index=False)

    atomic_write(output / RESULTS_CSV, write_csv)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"sweep_id": "unreadable"}


def progress_count(folder: Path, manifest: dict[str, Any] | None) -> tuple[int, int | None]:
    """Finished points in a folder's progress.jsonl and the number of points of its sweep (if known)."""
    records = read_progress(folder / PROGRESS_FILE)
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
        manifest = read_manifest(folder)
        if (folder / PROGRESS_FILE).exists() or manifest is not None:
            kept, total = progress_count(folder, manifest)
            of = f" of {total}" if total is not None else ""
            raise InputError(
                f"this sweep is not finished: re-run the sweep to finish it ({kept}{of} points in {PROGRESS_FILE})",
                file=folder,
            )
        raise InputError("no sweep results here", file=path)
    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(b"afforest_provenance", b"{}"))
    return table.to_pandas(), meta


class OutputFolder:
    """An output folder made ready for one sweep: checked, created, locked and claimed (``sweep.json``)."""

    def __init__(self, output: str | Path, base: Scenario, points: Sequence[SweepPoint], digests: Mapping[int, str], overwrite: bool,
                 engine: str = "pyomo") -> None:
        self.path = Path(output)
        self.lock_fd: int | None = None
        self.engine = engine
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
        identity = sweep_identity(base, digests, self.engine)
        manifest = {
            "sweep_id": identity,
            "engine": self.engine,
            "scenario": base.name,
            "scenario_hash": base.digest(),
            "points": len(points),
            "swept_keys": sorted({k for p in points for k in p.overrides}),
            "point_hashes": {str(i): h for i, h in sorted(digests.items())},
            "afforest_version": afforest.__version__,
        }
        held = read_manifest(self.path)
        ours = [self.path / name for name in (PROGRESS_FILE, RESULTS_PARQUET, RESULTS_CSV, MANIFEST_FILE)]
        if held is None and any(p.exists() for p in ours):
            held = self._legacy_manifest(base, points, digests, identity)
        holds_results = any(p.exists() for p in ours[1:3]) or bool(read_progress(self.path / PROGRESS_FILE))
        if held is not None and held.get("sweep_id") != identity:
            if not overwrite and holds_results:
                raise self._error(
                    f"holds a different sweep ({describe_manifest(held)}); choose another --output, or pass --overwrite to replace it"
                )
            for path in ours:
                path.unlink(missing_ok=True)
            held = None
        if held is None or held != manifest:
            atomic_write(self.path / MANIFEST_FILE, lambda tmp: tmp.write_text(json.dumps(manifest, indent=1)))

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
        records = read_progress(self.path / PROGRESS_FILE)
        for i, record in records.items():
            if record.get("status") in KEPT_STATUSES and digests.get(i) != record.get("scenario_hash"):
                described.setdefault("scenario", record.get("scenario", "?"))
                return described
        return {"sweep_id": identity}

    def close(self) -> None:
        if self.lock_fd is not None:
            os.close(self.lock_fd)  # releases the flock
            self.lock_fd = None


def describe_manifest(manifest: Mapping[str, Any]) -> str:
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
    if manifest.get("engine"):
        parts.append(f"engine {manifest['engine']}")
    return ", ".join(parts) or "written by an unknown sweep"



def status_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Points by outcome: ``ok``, ``suspect`` and ``failed``."""
    status = frame["status"] if "status" in frame else pd.Series(dtype=str)
    ok = int((status == "ok").sum())
    suspect = int((status == "suspect").sum())
    return {"ok": ok, "suspect": suspect, "failed": int(len(frame) - ok - suspect)}
