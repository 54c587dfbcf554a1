"""Named tidy tables (name -> DataFrame) written as CSV, Parquet or one NetCDF file, and read back.

The chain's result (:meth:`afforest.chain.stages.ChainResult.tables`) and the report write through here. NetCDF
holds every table in one file: table ``t`` becomes the dimension ``t`` and one variable ``t.<column>`` per
column, so that :func:`read_netcdf` gives back the same tables (same columns, order and values).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["netcdf_ready", "read_netcdf", "write_csv", "write_netcdf", "write_parquet"]

_SEPARATOR = "."
_COLUMNS_ATTR = "afforest_columns"
"""Dataset attribute: JSON of table -> its column names in order (NetCDF keeps variables, not tables)."""


def _folder(directory: str | Path) -> Path:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_csv(tables: Mapping[str, pd.DataFrame], directory: str | Path) -> list[Path]:
    """Each table as ``DIR/<name>.csv`` (no index)."""
    out = _folder(directory)
    written = []
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False)
        written.append(out / f"{name}.csv")
    return written


def write_parquet(tables: Mapping[str, pd.DataFrame], directory: str | Path) -> list[Path]:
    """Each table as ``DIR/<name>.parquet`` (no index; mixed object columns as text)."""
    out = _folder(directory)
    written = []
    for name, frame in tables.items():
        netcdf_ready(frame).to_parquet(out / f"{name}.parquet", index=False)
        written.append(out / f"{name}.parquet")
    return written


def netcdf_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with every column a plain float, int, bool or str column: categoricals and object columns
    become text (None and NaN as ""), so that every file format stores and returns the same values."""
    out = frame.reset_index(drop=True).copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            out[column] = series.astype(str)
        elif series.dtype == object:
            values = [v for v in series if v is not None and not (isinstance(v, float) and np.isnan(v))]
            if values and all(isinstance(v, bool) for v in values) and len(values) == len(series):
                out[column] = series.astype(bool)
            elif values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                out[column] = pd.to_numeric(series, errors="coerce").astype(float)
            else:
                out[column] = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in series]
        elif pd.api.types.is_integer_dtype(series.dtype) and not isinstance(series.dtype, np.dtype):
            out[column] = series.astype("int64")  # pandas' nullable Int64 without missing values
    return out


def write_netcdf(tables: Mapping[str, pd.DataFrame], path: str | Path, attrs: Mapping[str, Any] | None = None) -> Path:
    """Every table in one NetCDF file (xarray; the scipy engine, NetCDF3)."""
    import xarray as xr

    variables: dict[str, Any] = {}
    columns: dict[str, list[str]] = {}
    for name, frame in tables.items():
        ready = netcdf_ready(frame)
        columns[name] = [str(c) for c in ready.columns]
        for column in ready.columns:
            values = ready[column].to_numpy()
            if values.dtype == object:
                values = values.astype(str)
            variables[f"{name}{_SEPARATOR}{column}"] = xr.Variable((name,), values)
    dataset = xr.Dataset(variables, attrs={**dict(attrs or {}), _COLUMNS_ATTR: json.dumps(columns)})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dataset.to_netcdf(path)
    return path


def read_netcdf(path: str | Path) -> dict[str, pd.DataFrame]:
    """The tables of a file written by :func:`write_netcdf`, as :func:`netcdf_ready` made them."""
    import xarray as xr

    with xr.open_dataset(path) as dataset:
        columns = json.loads(dataset.attrs[_COLUMNS_ATTR])
        tables = {}
        for name, names in columns.items():
            data = {}
            for column in names:
                values = dataset[f"{name}{_SEPARATOR}{column}"].to_numpy()
                if values.dtype.kind in "SUO":
                    values = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values], dtype=object)
                data[column] = values
            tables[name] = pd.DataFrame(data, columns=names)
    return tables
