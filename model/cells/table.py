"""Cells tables: their columns, the synthetic generator and its spreads, the validator and the file loader.

A cell is a piece of afforestable land with its own area (10^4 ha), current ESV and ESV once planted
(yuan/(ha yr)), first-year direct cost tau0 (yuan/ha) and carbon yield (t CO2/ha). Functions here take plain data
(the study's parameters and tables are passed in, e.g. from :func:`afforest.chain.bundle.load_bundle`); only the
loaders :func:`load_cell_spreads` and :func:`load_cells` open files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from afforest.data import LandUseParameters, data_path, load_quantities
from afforest.errors import InputError
from afforest.model.cells.limits import check_memory
from afforest.model.merit_order import PostPlantingRule, landuse_classes

__all__ = [
    "CELL_COLUMNS",
    "OPTIONAL_CELL_COLUMNS",
    "CellSpreads",
    "load_cell_spreads",
    "synthetic_cells",
    "validate_cells",
    "load_cells",
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
    params: LandUseParameters,
    area: pd.DataFrame,
    esv: pd.DataFrame,
    spreads: CellSpreads,
    seed: int = 0,
    rule: PostPlantingRule | str = PostPlantingRule.CURVE_AVERAGE,
) -> pd.DataFrame:
    """``n_cells`` cells that tile the classes of ``area`` and ``esv``, with values spread around the class values.

    ``params``, ``area`` (Table 2 shape), ``esv`` (Table 3 shape) and ``spreads`` are plain data: the study's come
    from :func:`afforest.chain.bundle.load_bundle` and :func:`load_cell_spreads`.

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
    classes = landuse_classes(area, esv, params, rule)
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
    ``planting_cost_yuan_per_ha`` is filled with tau(0) from ``params`` (an error without them). Errors name the file
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
            if not nan_allowed and params is None:
                raise InputError(
                    "cells table has no planting cost: add the column or pass params (its tau(0) fills it)",
                    file=file,
                    field=column,
                )
            default = np.nan if nan_allowed else params.planting_cost_intercept_yuan_per_ha  # type: ignore[union-attr]
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

