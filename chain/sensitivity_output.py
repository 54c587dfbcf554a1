"""A sensitivity analysis's files: indices (tidy CSV and Parquet), second-order indices, one-at-a-time ranges, the
evaluations table, a sidecar ``sensitivity.json`` (scenario hash, package and SALib versions, the design, the
failures and how they were treated) and the figures (:mod:`afforest.plots.sensitivity`).

Every file is written to a temporary name and renamed (:func:`afforest.chain.sweep_output.atomic_write`); the chain's
own rows (``results.parquet``, ``results.csv``) and the resume log are the sweep's, in the same folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import afforest
import pandas as pd
from afforest.chain.sensitivity import SensitivityResult, salib_version
from afforest.chain.sweep_output import atomic_write
from afforest.jsonsafe import finite, json_default
from afforest.scenarios import Scenario

__all__ = ["EVALUATIONS_CSV", "INDICES_CSV", "INDICES_PARQUET", "OAT_CSV", "SIDECAR", "provenance", "write"]

INDICES_CSV = "indices.csv"
INDICES_PARQUET = "indices.parquet"
SECOND_ORDER_CSV = "indices_second_order.csv"
OAT_CSV = "oat.csv"
EVALUATIONS_CSV = "evaluations.csv"
EVALUATIONS_PARQUET = "evaluations.parquet"
SIDECAR = "sensitivity.json"


def provenance(result: SensitivityResult, scenario: Scenario | None) -> dict[str, Any]:
    """What regenerates the analysis: versions, the scenario and its hash, the design and the failures."""
    meta: dict[str, Any] = {
        "afforest_version": afforest.__version__,
        "salib_version": salib_version(),
        "scenario": scenario.name if scenario is not None else None,
        "scenario_hash": scenario.digest() if scenario is not None else None,
    }
    meta.update(result.summary())
    if scenario is not None:
        meta["resolved_scenario"] = scenario.model_dump(mode="json")
    return meta


def _with_provenance(frame: pd.DataFrame, meta: dict[str, Any]) -> pd.DataFrame:
    out = frame.copy()
    for key in ("scenario_hash", "afforest_version", "salib_version"):
        out[key] = meta[key]
    return out


def _csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def _parquet(frame: pd.DataFrame, path: Path, meta: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    blob = json.dumps(finite(meta), default=json_default).encode()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"afforest_provenance": blob})
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def evaluations_table(result: SensitivityResult) -> pd.DataFrame:
    """One row per evaluation: its id, part of the design, inputs, status (and error) and the analysed outputs."""
    frame = result.evaluations.reset_index()
    columns = ["evaluation", "part", "oat_input", *result.design.keys, "status"]
    columns += [c for c in ("error", "suspect_reasons") if c in frame]
    columns += [c for c in result.outputs if c in frame]
    out = frame[columns].copy()
    for key in result.design.keys:  # a text choice beside numbers: Parquet wants one type per column
        if out[key].dtype == object:
            out[key] = out[key].astype(str)
    out["oat_input"] = out["oat_input"].astype("string")
    return out


def write(result: SensitivityResult, scenario: Scenario | None, folder: str | Path) -> list[Path]:
    """Write the tables, the sidecar and the figures into ``folder``; returns the paths written."""
    from afforest.plots.sensitivity import plot_sensitivity

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = provenance(result, scenario)
    indices = _with_provenance(result.indices, meta)
    written = [folder / INDICES_CSV, folder / INDICES_PARQUET, folder / OAT_CSV, folder / EVALUATIONS_CSV,
               folder / EVALUATIONS_PARQUET, folder / SIDECAR]
    _csv(indices, folder / INDICES_CSV)
    _parquet(indices, folder / INDICES_PARQUET, meta)
    if result.second_order is not None:
        _csv(_with_provenance(result.second_order, meta), folder / SECOND_ORDER_CSV)
        written.append(folder / SECOND_ORDER_CSV)
    _csv(_with_provenance(result.oat, meta), folder / OAT_CSV)
    evaluations = evaluations_table(result)
    _csv(evaluations, folder / EVALUATIONS_CSV)
    _parquet(evaluations, folder / EVALUATIONS_PARQUET, meta)
    text = json.dumps(finite(meta), indent=1, default=json_default, allow_nan=False)
    atomic_write(folder / SIDECAR, lambda tmp: tmp.write_text(text))
    written += plot_sensitivity(result, folder, title=scenario.name if scenario is not None else "")
    return written
