"""The rules of Table 1 (``data/suitability_rules.toml`` or a region's own file) as arrays for vectorised
look-up; every error names the file and the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from afforest.data import AFFORESTABLE_LAND_TYPES, data_path, read_toml
from afforest.errors import InputError
from afforest.model.suitability.codes import PLAUSIBLE_LAYERS


@dataclass(frozen=True)
class SuitabilityRules:
    """Table 1 as arrays for vectorised lookup (codes sorted ascending)."""

    land_use_codes: np.ndarray
    land_use_names: tuple[str, ...]
    land_use_type_index: np.ndarray
    """1-based index into ``land_types`` of each land-use code, 0 for an excluded class."""
    land_use_min_slope_deg: np.ndarray
    """Slope a class must exceed (NaN = no slope condition)."""
    soil_codes: np.ndarray
    soil_names: tuple[str, ...]
    soil_suitable: np.ndarray
    aridity_min_exclusive: float
    temperature_offset_c: float
    elevation_max_exclusive_m: float
    slope_max_exclusive_deg: float
    land_types: tuple[str, ...] = AFFORESTABLE_LAND_TYPES
    file: str = ""
    plausible: dict[str, tuple[float, float, str]] = field(default_factory=dict)
    """Per continuous layer: (min, max, unit) of physically possible values, inclusive; layers not listed
    are not checked."""

    def land_use_code_of(self, land_type: str) -> list[int]:
        """RESDC codes counted under ``land_type``."""
        k = self.land_types.index(land_type) + 1
        return [int(c) for c, i in zip(self.land_use_codes, self.land_use_type_index) if i == k]


def _require(table: dict[str, Any], key: str, file: Path, where: str) -> Any:
    if key not in table:
        raise InputError("missing key", file=file, field=f"{where}.{key}")
    return table[key]


def _number(value: Any, file: Path, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError("must be a finite number", file=file, field=field, value=value)
    return float(value)


def _land_types(raw: dict[str, Any], file: Path, given: tuple[str, ...] | None) -> tuple[str, ...]:
    """The afforestable land types the rules count under: ``given`` (a region's), else the file's own top-level
    ``land_types`` list, else the bundled region's (the study's Table 2 rows)."""
    own = raw.get("land_types")
    if own is not None and (not isinstance(own, list) or not own or not all(isinstance(t, str) for t in own)):
        raise InputError("must be a list of land-type names", file=file, field="land_types", value=own)
    if given is not None and own is not None and tuple(own) != tuple(given):
        raise InputError(f"the rules count under {own} but the region's land types are {list(given)}", file=file,
                         field="land_types", value=own)
    return tuple(given) if given is not None else tuple(own) if own is not None else AFFORESTABLE_LAND_TYPES


def load_suitability_rules(path: str | Path | None = None, land_types: tuple[str, ...] | None = None) -> SuitabilityRules:
    """Read and check a rules file (default: the study's Table 1, ``data/suitability_rules.toml``).

    ``land_types``: the region's afforestable types (raster mask codes 1..n in this order); default the file's
    ``land_types`` list, else the bundled region's."""
    file = Path(path) if path is not None else data_path("suitability_rules.toml")
    raw = read_toml(file)
    types = _land_types(raw, file, land_types)
    for section in ("land_use", "soil", "aridity", "elevation", "slope"):
        if not isinstance(raw.get(section), dict):
            raise InputError("missing section", file=file, field=section)

    classes = _require(raw["land_use"], "classes", file, "land_use")
    lu: list[tuple[int, str, int, float]] = []
    for i, entry in enumerate(classes):
        where = f"land_use.classes[{i}]"
        code = _require(entry, "code", file, where)
        if isinstance(code, bool) or not isinstance(code, int):
            raise InputError("code must be an integer", file=file, field=f"{where}.code", value=code)
        land_type = entry.get("land_type")
        if land_type is not None and land_type not in types:
            raise InputError(
                f"unknown land type; expected one of {list(types)}",
                file=file, field=f"{where}.land_type", value=land_type,
            )
        min_slope = entry.get("min_slope_deg")
        if min_slope is not None:
            min_slope = _number(min_slope, file, f"{where}.min_slope_deg")
            if land_type is None:
                raise InputError("min_slope_deg needs a land_type", file=file, field=f"{where}.min_slope_deg", value=min_slope)
        index = types.index(land_type) + 1 if land_type else 0
        lu.append((code, str(entry.get("name", code)), index, np.nan if min_slope is None else min_slope))
    codes = [c for c, *_ in lu]
    if len(set(codes)) != len(codes):
        dup = next(c for c in codes if codes.count(c) > 1)
        raise InputError("duplicate land-use code", file=file, field="land_use.classes", value=dup)
    lu.sort()

    orders = _require(raw["soil"], "orders", file, "soil")
    soil: list[tuple[int, str, bool]] = []
    for i, entry in enumerate(orders):
        where = f"soil.orders[{i}]"
        code = _require(entry, "code", file, where)
        suitable = _require(entry, "suitable", file, where)
        if isinstance(code, bool) or not isinstance(code, int):
            raise InputError("code must be an integer", file=file, field=f"{where}.code", value=code)
        if not isinstance(suitable, bool):
            raise InputError("suitable must be true or false", file=file, field=f"{where}.suitable", value=suitable)
        soil.append((code, str(entry.get("name", code)), suitable))
    soil_codes = [c for c, *_ in soil]
    if len(set(soil_codes)) != len(soil_codes):
        raise InputError("duplicate soil-order code", file=file, field="soil.orders")
    soil.sort()

    return SuitabilityRules(
        plausible=_plausible_ranges(raw, file),
        land_use_codes=np.array([c for c, *_ in lu], dtype=np.int64),
        land_use_names=tuple(n for _, n, _, _ in lu),
        land_use_type_index=np.array([k for *_, k, _ in lu], dtype=np.uint32),
        land_use_min_slope_deg=np.array([s for *_, s in lu], dtype=np.float64),
        soil_codes=np.array([c for c, *_ in soil], dtype=np.int64),
        soil_names=tuple(n for _, n, _ in soil),
        soil_suitable=np.array([s for *_, s in soil], dtype=bool),
        aridity_min_exclusive=_number(_require(raw["aridity"], "min_exclusive", file, "aridity"), file, "aridity.min_exclusive"),
        temperature_offset_c=_number(
            _require(raw["aridity"], "temperature_offset_c", file, "aridity"), file, "aridity.temperature_offset_c"
        ),
        elevation_max_exclusive_m=_number(
            _require(raw["elevation"], "max_exclusive_m", file, "elevation"), file, "elevation.max_exclusive_m"
        ),
        slope_max_exclusive_deg=_number(
            _require(raw["slope"], "max_exclusive_deg", file, "slope"), file, "slope.max_exclusive_deg"
        ),
        file=str(file),
        land_types=types,
    )


def _plausible_ranges(raw: dict[str, Any], file: Path) -> dict[str, tuple[float, float, str]]:
    """``[plausible_range.<layer>]`` of a rules file (min, max, unit, source); the shipped ranges when the
    file has no such section (a rules file copied before the section existed)."""
    section = raw.get("plausible_range")
    if section is None:
        shipped = data_path("suitability_rules.toml")
        if file.resolve() == shipped.resolve():
            raise InputError("missing section", file=file, field="plausible_range")
        return load_suitability_rules(shipped).plausible
    if not isinstance(section, dict):
        raise InputError("must be a table of layers", file=file, field="plausible_range")
    out: dict[str, tuple[float, float, str]] = {}
    for layer, entry in section.items():
        where = f"plausible_range.{layer}"
        if layer not in PLAUSIBLE_LAYERS:
            raise InputError(f"not a checked layer; expected one of {list(PLAUSIBLE_LAYERS)}", file=file, field=where)
        if not isinstance(entry, dict):
            raise InputError("must be a table with min, max, unit and source", file=file, field=where)
        low = _number(_require(entry, "min", file, where), file, f"{where}.min")
        high = _number(_require(entry, "max", file, where), file, f"{where}.max")
        unit = _require(entry, "unit", file, where)
        source = _require(entry, "source", file, where)
        if not isinstance(source, str) or not source.strip():
            raise InputError("must name where the bound comes from", file=file, field=f"{where}.source", value=source)
        if not low < high:
            raise InputError(f"min must be below max ({high})", file=file, field=f"{where}.min", value=low)
        out[layer] = (low, high, str(unit))
    return out
