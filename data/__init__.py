"""The study's tables and parameters, loaded as validated pandas objects.

Every table is described in ``catalog.toml`` (file, source, unit of each column); every scalar in
``landuse_parameters.toml`` carries its value, unit and source. Loaders take an optional path so a user
can point them at their own region's tables; a bad file raises :class:`afforest.errors.InputError`
naming the file, the line, the column and the value.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import math
import os
import stat
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from afforest.errors import InputError

__all__ = [
    "PROVINCES",
    "AFFORESTABLE_LAND_TYPES",
    "FOREST_LAND_TYPE",
    "region_categories",
    "RegionLike",
    "LandUseParameters",
    "Quantity",
    "data_path",
    "load_afforestable_area",
    "load_esv",
    "load_direct_costs",
    "load_landuse_parameters",
    "load_quantities",
    "read_table",
    "read_toml",
    "read_csv_text",
    "check_input_file",
    "read_input_text",
    "check_area_against_initial_area",
    "area_rounding_tolerance_10k_ha",
    "MAX_AREA_10K_HA",
    "MAX_PLANTING_COST_YUAN_PER_HA",
    "MAX_CARBON_PRICE_YUAN_PER_T_CO2",
    "parse_number",
    "check_category",
    "check_unique",
    "csv_line",
]

def _bundled_manifest() -> dict[str, Any]:
    """The default region's manifest as plain TOML (validated by :func:`afforest.data.region.load_region`)."""
    with Path(str(files("afforest.data").joinpath("regions/northwest_china/region.toml"))).open("rb") as fh:
        return tomllib.load(fh)


_BUNDLED = _bundled_manifest()

PROVINCES: tuple[str, ...] = tuple(_BUNDLED["zones"]["names"])
"""Zones of the bundled default region (the study's provinces, Table 2 column order), from its manifest
(``data/regions/northwest_china/region.toml``). Code that may run on another region reads ``Region.zones``."""

AFFORESTABLE_LAND_TYPES: tuple[str, ...] = tuple(_BUNDLED["land_types"]["afforestable"])
"""Afforestable land types of the bundled default region (Table 1, Table 2 row order), from its manifest;
code that may run on another region reads ``Region.afforestable_land_types``."""

FOREST_LAND_TYPE: str = _BUNDLED["land_types"]["planted"]
"""The land-use type that planting creates in the bundled region (Table 3, last row)."""

# Allowed slack between a printed total and the sum of its printed cells: every number is rounded to
# 0.01, so each addend and the total may be off by half a unit of the last digit.
_HALF_LAST_DIGIT_10K_HA = 0.005


@functools.lru_cache(maxsize=1)
def _data_folder() -> Any:
    """``afforest/data`` as importlib finds it (the package's place does not change while the process runs)."""
    return files("afforest.data")


def data_path(name: str) -> Path:
    """Path of a file shipped in ``afforest/data``."""
    return Path(str(_data_folder().joinpath(name)))


def _bound(name: str) -> float:
    with data_path("input_bounds.toml").open("rb") as fh:
        return float(tomllib.load(fh)[name]["value"])


MAX_AREA_10K_HA: float = _bound("max_area")
"""Largest area (10^4 ha) any input may give: China's land area, 9.6e8 ha (``data/input_bounds.toml``).
Bounds every cell and the total of an afforestable-area table and every area a scenario sets."""

MAX_PLANTING_COST_YUAN_PER_HA: float = _bound("max_planting_cost")
"""Largest tau(0) (yuan/ha) and tau1 (yuan/ha per 10^4 ha/yr) a scenario may set (``data/input_bounds.toml``)."""

MAX_CARBON_PRICE_YUAN_PER_T_CO2: float = _bound("max_carbon_price")
"""Largest carbon price (yuan/t CO2) a scenario may set (``data/input_bounds.toml``)."""

MAX_SOIL_SCALE: float = _bound("max_soil_scale")
"""Largest factor on the soil carbon rates a scenario may set (``data/input_bounds.toml``)."""

MAX_ESV_MULTIPLIER: float = _bound("max_esv_multiplier")
"""Largest factor on one land type's current-use ESV a scenario may set (``data/input_bounds.toml``)."""

_UNIT_SLIP_HINT = (
    f"larger than China's land area ({MAX_AREA_10K_HA:g} x 10^4 ha = {MAX_AREA_10K_HA * 1e4:.1e} ha, "
    "data/input_bounds.toml), "
    "so it cannot be an area of the study region: is the table in ha instead of 10^4 ha? divide by 10^4"
)


def _catalog() -> dict[str, Any]:
    with data_path("catalog.toml").open("rb") as fh:
        return tomllib.load(fh)["tables"]


def read_table(table: str, path: str | Path | None) -> tuple[pd.DataFrame, Path]:
    """Read a catalogued CSV as strings, checking its header against the catalog."""
    spec = _catalog()[table]
    file = Path(path) if path is not None else data_path(spec["file"])
    frame = read_csv_text(file)
    expected = list(spec["columns"])
    if list(frame.columns) != expected:
        missing = [c for c in expected if c not in frame.columns]
        extra = [c for c in frame.columns if c not in expected]
        raise InputError(
            f"header must be {expected} (missing {missing}, unexpected {extra})",
            file=file,
            row=1,
            field="header",
            value=list(frame.columns),
        )
    if frame.empty:
        raise InputError("table has no rows", file=file)
    return frame, file


def check_input_file(
    file: str | Path, *, what: str = "file", field: str | None = None, value: Any = None
) -> Path:
    """Check that a file given by the user can be read: it exists, is a regular file (not a directory,
    FIFO or device), may be read by this process and is not empty (0 bytes).

    Every loader of a user's file goes through here (via :func:`read_input_text`), and so does the scenario
    schema for the files its ``[inputs]`` name. Raises :class:`InputError` naming the file (or, when
    ``field`` is given, the field that names it, with ``value``) and what to do.
    """
    file = Path(file)

    def fail(reason: str) -> InputError:
        return InputError(reason, file=file, field=field, value=value)

    try:
        info = file.stat()
    except FileNotFoundError:
        parent = file.parent
        hint = "" if parent.is_dir() else f" (its folder {str(parent)!r} does not exist either)"
        raise fail(f"{what} not found{hint}; check the path (relative paths are relative to the "
                   f"current folder, or, in a scenario's [inputs], to the scenario file)") from None
    except PermissionError:
        raise fail(f"{what} cannot be reached: permission denied on a folder of its path") from None
    except OSError as exc:
        raise fail(f"{what} cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        readable = os.access(file, os.R_OK | os.X_OK)
        inside = sorted(p.name for p in file.iterdir() if p.suffix in (".csv", ".toml"))[:10] if readable else []
        listing = f" (it holds {inside})" if inside else ""
        raise fail(f"{what} is a directory, not a file{listing}; give the path of the file itself")
    if not stat.S_ISREG(info.st_mode):
        raise fail(f"{what} is not a regular file (a pipe, socket or device); "
                   "save the data to a file and give its path")
    if not os.access(file, os.R_OK):
        raise fail(f"{what} cannot be read: permission denied; make it readable (chmod u+r) or copy it")
    if info.st_size == 0:
        raise fail(f"{what} is empty (0 bytes): was it saved? Write the data into it or give another file")
    return file


def read_input_text(file: str | Path, *, what: str = "file") -> str:
    """The text of a user's file, decoded as UTF-8 (a byte-order mark is dropped).

    Missing, directory, special, unreadable, permission-denied, empty and non-UTF-8 files raise
    :class:`InputError` naming the file (and, for bad bytes, the line) and what to do.
    """
    file = check_input_file(file, what=what)
    try:
        data = file.read_bytes()
    except PermissionError:
        raise InputError(f"{what} cannot be read: permission denied; make it readable (chmod u+r) or copy it",
                         file=file) from None
    except IsADirectoryError:
        raise InputError(f"{what} is a directory, not a file; give the path of the file itself", file=file) from None
    except OSError as exc:
        raise InputError(f"{what} cannot be read ({exc.strerror or exc})", file=file) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{what} is not UTF-8 text (byte {data[exc.start:exc.start + 1]!r} at offset {exc.start}); "
            "save it as UTF-8 (in Excel: 'CSV UTF-8'), or check that it is the right file",
            file=file,
            row=line,
        ) from None
    if not text.strip():
        raise InputError(f"{what} holds only blank space: was it saved? Write the data into it", file=file)
    return text


def read_csv_text(file: str | Path) -> pd.DataFrame:
    """A CSV file as strings (nothing parsed yet, empty cells kept as ""); errors name the file."""
    file = Path(file)
    text = read_input_text(file)
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"not a readable CSV table ({exc}); the first line must be the header", file=file) from exc
    except pd.errors.ParserError as exc:
        raise InputError(f"not a readable CSV table ({exc})", file=file) from exc


def csv_line(index: int) -> int:
    """CSV line number of a data row (line 1 is the header), for errors that name the row."""
    return int(index) + 2


def parse_number(
    frame: pd.DataFrame,
    column: str,
    file: Path,
    *,
    minimum: float | None = 0.0,
    allow_empty: bool = False,
    integer: bool = False,
) -> pd.Series:
    """Column ``column`` of a CSV read as text, as numbers (``Int64`` if ``integer``); an error names the file,
    row, column and value of the first entry that is not a finite number >= ``minimum``."""
    values: list[float | None] = []
    for idx, raw in frame[column].items():
        text = str(raw).strip()
        if text == "" and allow_empty:
            values.append(None)
            continue
        try:
            number = float(text)
        except ValueError:
            raise InputError("not a number", file=file, row=csv_line(idx), field=column, value=raw) from None
        if not math.isfinite(number):
            raise InputError("must be a finite number", file=file, row=csv_line(idx), field=column, value=raw)
        if minimum is not None and number < minimum:
            raise InputError(f"must be >= {minimum:g}", file=file, row=csv_line(idx), field=column, value=raw)
        if integer and number != int(number):
            raise InputError("must be a whole number", file=file, row=csv_line(idx), field=column, value=raw)
        values.append(number)
    if integer:
        return pd.array([None if v is None else int(v) for v in values], dtype="Int64")
    return pd.Series(values, index=frame.index, dtype=float)


def check_category(frame: pd.DataFrame, column: str, allowed: Sequence[str], file: Path) -> None:
    unknown = ~frame[column].isin(list(allowed))  # vectorised: a 50 MB table is checked in milliseconds
    if unknown.any():
        idx = unknown.idxmax()
        raise InputError(
            f"unknown {column.replace('_', ' ')}; expected one of {list(allowed)}",
            file=file,
            row=csv_line(idx),
            field=column,
            value=frame.loc[idx, column],
        )


def check_unique(frame: pd.DataFrame, keys: list[str], file: Path) -> None:
    duplicated = frame.duplicated(keys, keep="first")
    if duplicated.any():
        idx = duplicated.idxmax()
        raise InputError(
            f"duplicate row for {dict(frame.loc[idx, keys])}",
            file=file,
            row=csv_line(idx),
            field="+".join(keys),
            value=tuple(frame.loc[idx, keys]),
        )


class RegionLike(Protocol):
    """What a loader needs of a region (:class:`afforest.data.region.Region`): its zones and land types, and the file
    of each of its tables."""

    @property
    def zones(self) -> tuple[str, ...]: ...
    @property
    def afforestable_land_types(self) -> tuple[str, ...]: ...
    @property
    def planted_land_type(self) -> str: ...
    def file(self, table: str) -> Path | None: ...


def region_categories(region: RegionLike | None) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """(zones, afforestable land types, planted type) of ``region`` (None: the bundled default region)."""
    if region is None:
        return PROVINCES, AFFORESTABLE_LAND_TYPES, FOREST_LAND_TYPE
    return region.zones, region.afforestable_land_types, region.planted_land_type


def load_afforestable_area(
    path: str | Path | None = None, totals_path: str | Path | None = None, *, region: RegionLike | None = None
) -> pd.DataFrame:
    """Table 2: afforestable area, one row per (land_type, province), column ``area_10k_ha``.

    Checks known provinces and land types, no duplicate, missing, negative or non-finite area, and that
    row, column and grand totals agree with the printed totals to rounding. A table of your own (``path``)
    is checked against totals only when you give them (``totals_path``). Zones and land types are ``region``'s
    (None: the bundled default region's).
    """
    zones, land_types, _ = region_categories(region)
    frame, file = read_table("afforestable_area", path)
    check_category(frame, "land_type", land_types, file)
    check_category(frame, "province", zones, file)
    check_unique(frame, ["land_type", "province"], file)
    frame["area_10k_ha"] = parse_number(frame, "area_10k_ha", file)
    too_large = frame["area_10k_ha"] > MAX_AREA_10K_HA
    if too_large.any():
        idx = too_large.idxmax()
        raise InputError(_UNIT_SLIP_HINT, file=file, row=csv_line(idx), field="area_10k_ha",
                         value=frame.loc[idx, "area_10k_ha"].item())
    total = float(frame["area_10k_ha"].sum())
    if total > MAX_AREA_10K_HA:
        raise InputError(f"the table's total is {_UNIT_SLIP_HINT}", file=file, field="area_10k_ha",
                         value=total)
    present = set(zip(frame["land_type"], frame["province"]))
    for land_type in land_types:
        for province in zones:
            if (land_type, province) not in present:
                raise InputError(
                    "missing row (write 0 for no afforestable land)",
                    file=file,
                    field="land_type+province",
                    value=(land_type, province),
                )
    if (path is None and region is None) or totals_path is not None:
        _check_totals(frame, load_afforestable_area_totals(totals_path), file)
    frame = frame.reset_index(drop=True)
    frame.attrs["file"] = str(file)
    return frame


def area_rounding_tolerance_10k_ha(n_cells: int) -> float:
    """Largest gap between the sum of ``n_cells`` areas printed to 0.01 x 10^4 ha and a total printed to 0.01.

    Each printed number is off its exact value by at most half a unit of the last digit (0.005), so the sum
    of n printed cells and the printed total may differ by (n + 1) x 0.005: 0.23 x 10^4 ha for Table 2's
    45 cells and A0 = 499.58. (Measured: the shipped table sums to 499.58 exactly, a gap of 0.000.)
    """
    return _HALF_LAST_DIGIT_10K_HA * (n_cells + 1)


def check_area_against_initial_area(
    area: pd.DataFrame,
    initial_area_10k_ha: float,
    *,
    file: str | Path | None = None,
    tolerance_10k_ha: float | None = None,
) -> None:
    """Refuse an afforestable-area table that does not add up to the planner's A0, before anything is solved.

    The planner's problem (Eqs. 1-3, the curves model) plans ``initial_area_10k_ha`` (A0, from
    ``landuse.initial_area_10k_ha`` or ``data/landuse_parameters.toml``) while the classes model and the
    allocation read the table: if they disagree, the two answers describe different land. ``file`` names the
    table in the error (default: the file the table was loaded from, ``area.attrs["file"]``, else the
    shipped Table 2). ``tolerance_10k_ha`` defaults to :func:`area_rounding_tolerance_10k_ha` of the number
    of cells (0.23 x 10^4 ha for Table 2), the most that printing every number to 0.01 can explain.

    Raises :class:`InputError` naming the file, the field ``area_10k_ha``, the table's total (as the
    value) and A0, and saying what to do.
    """
    if file is None:
        file = area.attrs.get("file") or data_path("afforestable_area.csv")
    total = float(area["area_10k_ha"].sum())
    field = "area_10k_ha"
    if not total > 0:
        raise InputError(
            "every area in the table is 0: there is no afforestable land to plan, and the planner would "
            f"still plant on A0 = {initial_area_10k_ha:g} x 10^4 ha of land the table does not have; "
            "check that this is the right file (or the right suitability output) and fill in the areas",
            file=file,
            field=field,
            value=total,
        )
    tolerance = area_rounding_tolerance_10k_ha(len(area)) if tolerance_10k_ha is None else tolerance_10k_ha
    if abs(total - initial_area_10k_ha) > tolerance + 1e-9:
        study_a0 = float(load_quantities()["initial_area"].value)  # type: ignore[arg-type]
        beyond = (
            f"; and the curves were fitted on the study's 0-{study_a0:g} x 10^4 ha: on {total:.2f} they are "
            "extrapolated (their cubic terms grow as A^3) and the models may fail or mislead, so for land "
            "beyond the study's, fit your own alpha, beta"
            if total > study_a0 + tolerance
            else ""
        )
        raise InputError(
            f"the table's areas sum to {total:.2f} x 10^4 ha but the planner's A0 (landuse.initial_area_10k_ha) "
            f"is {initial_area_10k_ha:g} x 10^4 ha (allowed gap {tolerance:.3f}, the rounding of {len(area)} "
            "cells and A0 printed to 0.01), so the planner would plan land the table does not describe. "
            "Set landuse.curves = 'fitted' (Eq. 3 and the curves model then fit this table's own classes, with A0 = "
            "its total; docs/regions.md), or fix the table, or set landuse.initial_area_10k_ha = "
            f"{total:.2f} in the scenario; if you do, know that the fitted ESV curves alpha, beta (Eqs. 4-5, "
            "data/landuse_parameters.toml) describe the study's land, so Eq. 3 and the curves model then "
            f"still describe the study's ESV (only the classes model reads this table's land){beyond}",
            file=file,
            field=field,
            value=round(total, 6),
        )


def load_afforestable_area_totals(path: str | Path | None = None) -> pd.DataFrame:
    """The totals printed in Table 2 (by land type, by province, and overall)."""
    frame, file = read_table("afforestable_area_totals", path)
    check_category(frame, "dimension", ("land_type", "province", "all"), file)
    frame["total_10k_ha"] = parse_number(frame, "total_10k_ha", file)
    check_unique(frame, ["dimension", "name"], file)
    return frame.reset_index(drop=True)


def _check_totals(cells: pd.DataFrame, totals: pd.DataFrame, file: Path) -> None:
    for _, total in totals.iterrows():
        dimension, name, stated = total["dimension"], total["name"], float(total["total_10k_ha"])
        members = cells if dimension == "all" else cells[cells[dimension] == name]
        computed = float(members["area_10k_ha"].sum())
        tolerance = _HALF_LAST_DIGIT_10K_HA * (len(members) + 1)
        if abs(computed - stated) > tolerance + 1e-9:
            raise InputError(
                f"cells of {dimension} {name!r} sum to {computed:.2f} but the stated total is "
                f"{stated:.2f} (allowed rounding slack {tolerance:.3f})",
                file=file,
                field="area_10k_ha",
                value=round(computed, 4),
            )


def load_esv(path: str | Path | None = None, *, region: RegionLike | None = None) -> pd.DataFrame:
    """Table 3: ESV per hectare and year, one row per (land_type, province) of ``region`` (None: the default)."""
    zones, land_types, planted = region_categories(region)
    frame, file = read_table("esv", path)
    check_category(frame, "land_type", (*land_types, planted), file)
    check_category(frame, "province", zones, file)
    check_unique(frame, ["land_type", "province"], file)
    frame["esv_yuan_per_ha_yr"] = parse_number(frame, "esv_yuan_per_ha_yr", file)
    for province in zones:
        if not ((frame["province"] == province) & (frame["land_type"] == planted)).any():
            raise InputError(
                f"no ESV of the planted forest ({planted}) for this province",
                file=file,
                field="province",
                value=province,
            )
    return frame.reset_index(drop=True)


def load_direct_costs(path: str | Path | None = None) -> pd.DataFrame:
    """Table 4: direct cost items by stand year; ``last_year`` is <NA> for 'every year'."""
    frame, file = read_table("direct_costs", path)
    frame["first_year"] = parse_number(frame, "first_year", file, minimum=1, integer=True)
    frame["last_year"] = parse_number(frame, "last_year", file, minimum=1, integer=True, allow_empty=True)
    frame["cost_yuan_per_ha_yr"] = parse_number(frame, "cost_yuan_per_ha_yr", file)
    bad = frame["last_year"].notna() & (frame["last_year"] < frame["first_year"])
    if bad.any():
        idx = bad.idxmax()
        raise InputError(
            "last_year is before first_year",
            file=file,
            row=csv_line(idx),
            field="last_year",
            value=int(frame.loc[idx, "last_year"]),
        )
    return frame.reset_index(drop=True)


def planting_year_cost_yuan_per_ha(costs: pd.DataFrame) -> float:
    """tau(0): one-off costs of the planting year (items with first_year = last_year = 1), Table 4."""
    one_off = (costs["first_year"] == 1) & (costs["last_year"] == 1)
    if not one_off.any():
        raise InputError("no one-off cost in stand year 1, so tau(0) is undefined", field="first_year")
    return float(costs.loc[one_off, "cost_yuan_per_ha_yr"].sum())


@dataclass(frozen=True)
class Quantity:
    """A documented scalar: value with its unit, symbol, source and meaning."""

    value: float | tuple[float, ...]
    unit: str
    source: str
    description: str
    symbol: str = ""


def read_toml(file: str | Path, *, what: str = "file") -> dict[str, Any]:
    """Parse a TOML file; a missing, unreadable, empty or malformed file raises InputError naming it."""
    file = Path(file)
    text = read_input_text(file, what=what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc})", file=file) from exc


def load_quantities(path: str | Path | None = None) -> dict[str, Quantity]:
    """Read a TOML file of documented scalars (``[name] value, unit, source, description``)."""
    file = Path(path) if path is not None else data_path("landuse_parameters.toml")
    raw = read_toml(file)
    out: dict[str, Quantity] = {}
    allowed = {"value", "unit", "source", "description", "symbol"}
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            raise InputError("expected a table with value, unit, source, description", file=file, field=name)
        unknown = set(entry) - allowed
        if unknown:
            raise InputError(f"unknown keys {sorted(unknown)}", file=file, field=name)
        for key in ("value", "unit", "source", "description"):
            if key not in entry:
                raise InputError(f"missing {key!r}", file=file, field=name)
        value = entry["value"]
        numbers = value if isinstance(value, list) else [value]
        for number in numbers:
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
                raise InputError("value must be a finite number or a list of them", file=file, field=name, value=value)
        out[name] = Quantity(
            value=tuple(float(v) for v in value) if isinstance(value, list) else float(value),
            unit=entry["unit"],
            source=entry["source"],
            description=entry["description"],
            symbol=entry.get("symbol", ""),
        )
    return out


@dataclass(frozen=True)
class LandUseParameters:
    """Scalar inputs of the planner's problem (Eqs. 1-3).

    B'(A) = sum_i alpha_i A^i is the marginal ESV of unconverted land (A in 10^4 ha, lowest-value land at
    A = A0); C'(z) = sum_i beta_i z^i the marginal ESV of afforested land when z is afforested; the
    marginal direct cost of planting is tau(R) = tau0 + tau1 R (yuan/ha, R in 10^4 ha/yr).
    """

    initial_area_10k_ha: float
    financial_discount_rate: float
    planting_cost_intercept_yuan_per_ha: float
    planting_cost_slope_yuan_per_ha_per_10k_ha_yr: float
    unconverted_esv_coefficients: tuple[float, ...]
    afforested_esv_coefficients: tuple[float, ...]

    def __post_init__(self) -> None:
        checks = {
            "initial_area_10k_ha": (self.initial_area_10k_ha, lambda v: v > 0, "must be > 0"),
            "financial_discount_rate": (
                self.financial_discount_rate,
                lambda v: 0 < v < 1,
                "must be in (0, 1): Eq. 3 divides by r, and r is a rate per year",
            ),
            "planting_cost_intercept_yuan_per_ha": (
                self.planting_cost_intercept_yuan_per_ha,
                lambda v: v >= 0,
                "must be >= 0",
            ),
            "planting_cost_slope_yuan_per_ha_per_10k_ha_yr": (
                self.planting_cost_slope_yuan_per_ha_per_10k_ha_yr,
                lambda v: v >= 0,
                "must be >= 0 (the study: marginal cost rises with the planting rate)",
            ),
        }
        for name, (value, ok, reason) in checks.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError("must be a number", field=name, value=value)
            if not math.isfinite(value):
                raise InputError("must be a finite number", field=name, value=value)
            if not ok(value):
                raise InputError(reason, field=name, value=value)
        if self.initial_area_10k_ha > MAX_AREA_10K_HA:
            raise InputError(
                f"must be at most {MAX_AREA_10K_HA:g} x 10^4 ha (China's land area, data/input_bounds.toml): "
                "is it in ha instead of 10^4 ha? divide by 10^4",
                field="initial_area_10k_ha",
                value=self.initial_area_10k_ha,
            )
        for name in ("unconverted_esv_coefficients", "afforested_esv_coefficients"):
            coefficients = getattr(self, name)
            if len(coefficients) == 0 or not all(math.isfinite(c) for c in coefficients):
                raise InputError("needs at least one finite coefficient", field=name, value=coefficients)
            object.__setattr__(self, name, tuple(float(c) for c in coefficients))

    def replace(self, **changes: Any) -> LandUseParameters:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def unconverted_marginal_esv(self) -> np.polynomial.Polynomial:
        """B'(A), yuan/(ha yr), A in 10^4 ha."""
        return np.polynomial.Polynomial(self.unconverted_esv_coefficients)

    @property
    def afforested_marginal_esv(self) -> np.polynomial.Polynomial:
        """C'(z), yuan/(ha yr), z in 10^4 ha."""
        return np.polynomial.Polynomial(self.afforested_esv_coefficients)


def load_landuse_parameters(
    path: str | Path | None = None, direct_costs: pd.DataFrame | None = None
) -> LandUseParameters:
    """Study parameters: alpha, beta, r, A0 and tau1 from TOML; tau(0) from the cost table (Table 4)."""
    quantities = load_quantities(path)
    file = Path(path) if path is not None else data_path("landuse_parameters.toml")
    needed = [
        "initial_area",
        "financial_discount_rate",
        "unconverted_esv_coefficients",
        "afforested_esv_coefficients",
        "planting_cost_slope",
    ]
    for name in needed:
        if name not in quantities:
            raise InputError("missing parameter", file=file, field=name)
    costs = direct_costs if direct_costs is not None else load_direct_costs()

    def scalar(name: str) -> float:
        value = quantities[name].value
        if isinstance(value, tuple):
            raise InputError("expected a single number", file=file, field=name, value=value)
        return value

    def vector(name: str) -> tuple[float, ...]:
        value = quantities[name].value
        return value if isinstance(value, tuple) else (value,)

    try:
        return LandUseParameters(
            initial_area_10k_ha=scalar("initial_area"),
            financial_discount_rate=scalar("financial_discount_rate"),
            planting_cost_intercept_yuan_per_ha=planting_year_cost_yuan_per_ha(costs),
            planting_cost_slope_yuan_per_ha_per_10k_ha_yr=scalar("planting_cost_slope"),
            unconverted_esv_coefficients=vector("unconverted_esv_coefficients"),
            afforested_esv_coefficients=vector("afforested_esv_coefficients"),
        )
    except InputError as exc:
        raise InputError(exc.reason, file=file, field=exc.field, value=exc.value) from exc
