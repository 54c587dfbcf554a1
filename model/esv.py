"""Ecosystem service value by the equivalent-factor method (Eq. 6 of the study, Xie et al. 2015).

    ESV_ij = SV_i x F_j,   F_j = sum_n F_jn,   F_jn = sum_c w_jc F_cn

F_cn is the value of service n on one hectare of Xie et al.'s ecosystem class c, in standard equivalents
(``data/xie2015_equivalents.csv``, 14 classes x 11 services). A land-use type j of this package is a
weighted combination of Xie classes (``data/esv_landuse_mapping.csv``). SV_i (yuan/ha) is the value of one
standard equivalent in province i: the national grain output value per ha divided by 7, scaled by the
ratio of the province's grain yield per ha to the national one (:func:`standard_equivalent_value`).

The study publishes neither its grain statistics nor its mapping of sparse and other forest; what Table 3
does fix is one SV_i per province and a total equivalent per land type. :func:`implied_standard_equivalent_values`
recovers SV_i from Table 3 (the values shipped in ``data/esv_standard_equivalent.csv``); sparse and other
forest carry the per-service profile of broadleaf forest scaled to the totals that Table 3 implies (13.44
and 11.58 equivalents), a rule stated in the mapping file (``scaled_total_equivalent``).

:func:`esv_table` gives the same tidy shape as :func:`afforest.data.load_esv`, so the land-use optimisation
can read ESV from here and a changed factor, mapping or SV_i flows through to the desirable area.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from afforest.data import (
    AFFORESTABLE_LAND_TYPES,
    FOREST_LAND_TYPE,
    check_category,
    check_unique,
    csv_line,
    data_path,
    load_quantities,
    parse_number,
    read_csv_text,
    read_table,
    RegionLike,
    region_categories,
)
from afforest.errors import InputError

__all__ = [
    "SERVICES",
    "SERVICE_CATEGORY",
    "TOTAL_SERVICE",
    "NATIONAL",
    "EquivalentFactorInputs",
    "load_equivalent_factors",
    "load_landuse_mapping",
    "load_standard_equivalent_values",
    "load_grain_statistics",
    "land_type_equivalents",
    "standard_equivalent_value",
    "standard_equivalent_values_from_statistics",
    "region_standard_values",
    "implied_standard_equivalent_values",
    "esv_by_service",
    "esv_table",
    "compare_with_published",
]

SERVICES: tuple[str, ...] = (
    "food_production",
    "raw_materials",
    "water_supply",
    "gas_regulation",
    "climate_regulation",
    "environmental_purification",
    "hydrological_regulation",
    "soil_conservation",
    "nutrient_cycling",
    "biodiversity",
    "aesthetic_landscape",
)
"""The 11 services of Xie et al. 2015, in the order of their table."""

SERVICE_CATEGORY: dict[str, str] = {
    "food_production": "provisioning",
    "raw_materials": "provisioning",
    "water_supply": "provisioning",
    "gas_regulation": "regulating",
    "climate_regulation": "regulating",
    "environmental_purification": "regulating",
    "hydrological_regulation": "regulating",
    "soil_conservation": "supporting",
    "nutrient_cycling": "supporting",
    "biodiversity": "supporting",
    "aesthetic_landscape": "cultural",
}

TOTAL_SERVICE = "total"
"""Name of the row that sums the 11 services."""

NATIONAL = "national"
"""Region name of the national row in a grain-statistics table."""

LAND_TYPES: tuple[str, ...] = (*AFFORESTABLE_LAND_TYPES, FOREST_LAND_TYPE)


def load_equivalent_factors(path: str | Path | None = None) -> pd.DataFrame:
    """Xie et al. 2015's equivalent table, tidy: ``xie_class``, ``xie_group``, ``service``, ``category``,
    ``equivalent`` (standard equivalents per ha and year; negative where the class consumes the service)."""
    frame, file = read_table("xie2015_equivalents", path)
    check_unique(frame, ["xie_class"], file)
    for service in SERVICES:
        frame[service] = parse_number(frame, service, file, minimum=None)
    tidy = frame.melt(id_vars=["xie_class", "xie_group"], value_vars=list(SERVICES), var_name="service", value_name="equivalent")
    tidy["category"] = tidy["service"].map(SERVICE_CATEGORY)
    order = {s: i for i, s in enumerate(SERVICES)}
    classes = {c: i for i, c in enumerate(frame["xie_class"])}
    tidy = tidy.sort_values(by=["xie_class", "service"], key=lambda col: col.map(classes if col.name == "xie_class" else order))
    return tidy[["xie_class", "xie_group", "service", "category", "equivalent"]].reset_index(drop=True)


def load_landuse_mapping(
    path: str | Path | None = None, factors: pd.DataFrame | None = None, *, region: RegionLike | None = None
) -> pd.DataFrame:
    """How each land-use type is built from Xie classes: ``land_type``, ``xie_class``, ``weight``.

    A row gives either ``weight`` w_jc (the land type takes w_jc times the class's per-service factors) or
    ``scaled_total_equivalent`` T (the land type takes the class's per-service profile scaled so that its
    total is T; then the row must be the land type's only row). The returned ``weight`` is resolved, and
    ``rule`` says which of the two a row used. Every land type of ``region`` (None: the bundled default region)
    must be mapped.
    """
    _zones, afforestable, planted = region_categories(region)
    land_types = (*afforestable, planted)
    frame, file = read_table("esv_landuse_mapping", path)
    factors = factors if factors is not None else load_equivalent_factors()
    check_category(frame, "land_type", land_types, file)
    check_category(frame, "xie_class", tuple(factors["xie_class"].unique()), file)
    check_unique(frame, ["land_type", "xie_class"], file)
    weight = parse_number(frame, "weight", file, allow_empty=True)
    total = parse_number(frame, "scaled_total_equivalent", file, allow_empty=True)
    class_total = factors.groupby("xie_class")["equivalent"].sum()
    rows = []
    for idx in frame.index:
        w, t = weight[idx], total[idx]
        if pd.isna(w) == pd.isna(t):
            raise InputError(
                "give exactly one of weight and scaled_total_equivalent",
                file=file, row=csv_line(idx), field="weight", value=frame.loc[idx, "weight"],
            )
        land_type, xie_class = frame.loc[idx, "land_type"], frame.loc[idx, "xie_class"]
        if pd.notna(t):
            if (frame["land_type"] == land_type).sum() > 1:
                raise InputError(
                    "a scaled_total_equivalent row must be the land type's only row",
                    file=file, row=csv_line(idx), field="land_type", value=land_type,
                )
            base = float(class_total[xie_class])
            if base <= 0:
                raise InputError(
                    f"class {xie_class!r} has total {base:g}: its profile cannot be scaled to a total",
                    file=file, row=csv_line(idx), field="xie_class", value=xie_class,
                )
            rows.append((land_type, xie_class, float(t) / base, "scaled_to_total"))
        else:
            rows.append((land_type, xie_class, float(w), "weight"))
    missing = [lt for lt in land_types if lt not in set(frame["land_type"])]
    if missing:
        raise InputError(f"land types without a mapping to an ecosystem class: {missing}", file=file, field="land_type",
                         value=missing[0])
    return pd.DataFrame(rows, columns=["land_type", "xie_class", "weight", "rule"])


def load_standard_equivalent_values(path: str | Path | None = None) -> pd.DataFrame:
    """SV_i by province: ``province``, ``sv_yuan_per_ha`` (yuan per standard equivalent per ha and year)."""
    frame, file = read_table("esv_standard_equivalent", path)
    check_unique(frame, ["province"], file)
    frame["sv_yuan_per_ha"] = parse_number(frame, "sv_yuan_per_ha", file)
    if (frame["sv_yuan_per_ha"] <= 0).any():
        idx = int((frame["sv_yuan_per_ha"] <= 0).idxmax())
        raise InputError("must be > 0", file=file, row=csv_line(idx), field="sv_yuan_per_ha", value=frame.loc[idx, "sv_yuan_per_ha"])
    return frame[["province", "sv_yuan_per_ha"]].reset_index(drop=True)


_GRAIN_COLUMNS = ("region", "grain_yield_kg_per_ha")


def load_grain_statistics(path: str | Path) -> pd.DataFrame:
    """A user's grain statistics: CSV with columns ``region``, ``grain_yield_kg_per_ha`` and one row whose
    region is ``national`` (the study does not publish the ones it used)."""
    file = Path(path)
    frame = read_csv_text(file)
    if list(frame.columns) != list(_GRAIN_COLUMNS):
        raise InputError(f"header must be {list(_GRAIN_COLUMNS)}", file=file, row=1, field="header", value=list(frame.columns))
    check_unique(frame, ["region"], file)
    frame["grain_yield_kg_per_ha"] = parse_number(frame, "grain_yield_kg_per_ha", file)
    if not (frame["region"] == NATIONAL).any():
        raise InputError(f"needs a row with region {NATIONAL!r}", file=file, field="region")
    return frame.reset_index(drop=True)


def _grain_value_divisor() -> float:
    value = load_quantities(data_path("esv_parameters.toml"))["grain_value_divisor"].value
    return float(value)  # type: ignore[arg-type]


def standard_equivalent_value(
    national_grain_value_yuan_per_ha: float | np.ndarray,
    province_yield_kg_per_ha: float | np.ndarray,
    national_yield_kg_per_ha: float,
    divisor: float | None = None,
) -> float | np.ndarray:
    """SV_i = (V / d) x (y_i / y), yuan per standard equivalent per ha and year.

    V is the national average grain output value per ha of grain land (yuan/ha: price x yield, summed over
    crops), d = 7 (``data/esv_parameters.toml``), y_i and y the province's and the nation's grain yield
    per ha. The yield ratio corrects the national value for the province's productivity.
    """
    divisor = _grain_value_divisor() if divisor is None else divisor
    for name, value in (
        ("national_grain_value_yuan_per_ha", national_grain_value_yuan_per_ha),
        ("province_yield_kg_per_ha", province_yield_kg_per_ha),
        ("national_yield_kg_per_ha", national_yield_kg_per_ha),
        ("divisor", divisor),
    ):
        arr = np.asarray(value, dtype=float)
        if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
            raise InputError("must be finite and > 0", field=name, value=value)
    return national_grain_value_yuan_per_ha / divisor * (np.asarray(province_yield_kg_per_ha) / national_yield_kg_per_ha)


def standard_equivalent_values_from_statistics(
    statistics: pd.DataFrame, national_grain_value_yuan_per_ha: float, divisor: float | None = None
) -> pd.DataFrame:
    """SV_i for every non-national region of a :func:`load_grain_statistics` table: ``province``, ``sv_yuan_per_ha``."""
    national = float(statistics.loc[statistics["region"] == NATIONAL, "grain_yield_kg_per_ha"].iloc[0])
    provinces = statistics[statistics["region"] != NATIONAL]
    values = standard_equivalent_value(
        national_grain_value_yuan_per_ha, provinces["grain_yield_kg_per_ha"].to_numpy(float), national, divisor
    )
    return pd.DataFrame({"province": provinces["region"].to_numpy(), "sv_yuan_per_ha": np.asarray(values, dtype=float)})


def region_standard_values(region: RegionLike) -> pd.DataFrame:
    """SV_i of a region: its ``standard_equivalent`` table, or computed from its ``grain_statistics`` and the
    ``national_grain_value`` (yuan/ha) of its land-use parameters (:func:`standard_equivalent_values_from_statistics`)."""
    if region.file("standard_equivalent") is not None:
        return load_standard_equivalent_values(region.file("standard_equivalent"))
    stats_file, parameters = region.file("grain_statistics"), region.file("landuse_parameters")
    if stats_file is None or parameters is None:
        raise InputError("the region gives neither SV_i (standard_equivalent) nor grain statistics", field="tables")
    quantities = load_quantities(parameters)
    if "national_grain_value" not in quantities:
        raise InputError("grain statistics need the national grain output value per ha (yuan/ha) to compute SV_i",
                         file=parameters, field="national_grain_value")
    value = quantities["national_grain_value"].value
    if isinstance(value, tuple) or not value > 0:
        raise InputError("must be one number > 0", file=parameters, field="national_grain_value", value=value)
    return standard_equivalent_values_from_statistics(load_grain_statistics(stats_file), float(value))


def land_type_equivalents(factors: pd.DataFrame | None = None, mapping: pd.DataFrame | None = None) -> pd.DataFrame:
    """F_jn for every land type j and service n, tidy: ``land_type``, ``service``, ``category``, ``equivalent``."""
    factors = factors if factors is not None else load_equivalent_factors()
    mapping = mapping if mapping is not None else load_landuse_mapping(factors=factors)
    joined = mapping.merge(factors[["xie_class", "service", "equivalent"]], on="xie_class", how="left")
    joined["equivalent"] = joined["weight"] * joined["equivalent"]
    out = joined.groupby(["land_type", "service"], as_index=False, sort=False)["equivalent"].sum()
    out["category"] = out["service"].map(SERVICE_CATEGORY)
    return out[["land_type", "service", "category", "equivalent"]]


def _total_equivalents(equivalents: pd.DataFrame) -> pd.Series:
    return equivalents.groupby("land_type", sort=False)["equivalent"].sum()


@dataclass(frozen=True)
class EquivalentFactorInputs:
    """The three inputs of Eq. 6; None fields mean the shipped files."""

    factors: pd.DataFrame | None = None
    mapping: pd.DataFrame | None = None
    standard_values: pd.DataFrame | None = None
    region: RegionLike | None = None
    """Whose files the None fields mean (None: the bundled default region's)."""

    def resolve(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(land-type equivalents F_jn, standard values SV_i)."""
        region = self.region
        file = region.file if region is not None else (lambda _name: None)
        factors = self.factors if self.factors is not None else load_equivalent_factors(file("equivalent_factors"))
        mapping = self.mapping if self.mapping is not None else load_landuse_mapping(
            file("esv_landuse_mapping"), factors=factors, region=region)
        sv = self.standard_values if self.standard_values is not None else (
            load_standard_equivalent_values() if region is None else region_standard_values(region))
        return land_type_equivalents(factors, mapping), sv


def esv_by_service(
    equivalents: pd.DataFrame | None = None,
    standard_values: pd.DataFrame | None = None,
    *,
    include_total: bool = True,
) -> pd.DataFrame:
    """ESV_ijn = SV_i x F_jn, tidy: ``province``, ``land_type``, ``service``, ``category``,
    ``esv_yuan_per_ha_yr``; with ``include_total`` a ``service = "total"`` row per (province, land type)
    holds SV_i x sum_n F_jn (Eq. 6)."""
    if equivalents is None or standard_values is None:
        default_eq, default_sv = EquivalentFactorInputs().resolve()
        equivalents = default_eq if equivalents is None else equivalents
        standard_values = default_sv if standard_values is None else standard_values
    per_service = standard_values.merge(equivalents, how="cross")
    per_service["esv_yuan_per_ha_yr"] = per_service["sv_yuan_per_ha"] * per_service["equivalent"]
    columns = ["province", "land_type", "service", "category", "esv_yuan_per_ha_yr"]
    frames = [per_service[columns]]
    if include_total:
        totals = standard_values.merge(_total_equivalents(equivalents).rename("equivalent").reset_index(), how="cross")
        totals["esv_yuan_per_ha_yr"] = totals["sv_yuan_per_ha"] * totals["equivalent"]
        totals["service"] = TOTAL_SERVICE
        totals["category"] = TOTAL_SERVICE
        frames.append(totals[columns])
    out = pd.concat(frames, ignore_index=True)
    provinces = {p: i for i, p in enumerate(dict.fromkeys(standard_values["province"]))}
    land_types = {lt: i for i, lt in enumerate(dict.fromkeys([*LAND_TYPES, *equivalents["land_type"]]))}
    services = {s: i for i, s in enumerate((*SERVICES, TOTAL_SERVICE))}
    keys = (out["province"].map(provinces), out["land_type"].map(land_types), out["service"].map(services))
    order = np.lexsort((keys[2].to_numpy(), keys[1].to_numpy(), keys[0].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def esv_table(
    equivalents: pd.DataFrame | None = None, standard_values: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Table 3 computed: ``land_type``, ``province``, ``esv_yuan_per_ha_yr`` (= SV_i x F_j), the shape of
    :func:`afforest.data.load_esv`, rows in land-type then province order. Values are not rounded."""
    totals = esv_by_service(equivalents, standard_values, include_total=True)
    totals = totals[totals["service"] == TOTAL_SERVICE]
    land_order = {lt: i for i, lt in enumerate(LAND_TYPES)}
    provinces = list(dict.fromkeys(totals["province"]))
    province_order = {p: i for i, p in enumerate(provinces)}
    totals = totals.assign(
        _l=totals["land_type"].map(land_order).fillna(len(land_order)), _p=totals["province"].map(province_order)
    ).sort_values(["_l", "_p"], kind="stable")
    return totals[["land_type", "province", "esv_yuan_per_ha_yr"]].reset_index(drop=True)


def _simplest_decimal(lower: float, upper: float) -> float:
    """The number with the fewest decimals in [lower, upper], the one nearest the midpoint among them."""
    middle = 0.5 * (lower + upper)
    for decimals in range(0, 16):
        candidate = round(middle, decimals)
        if lower <= candidate <= upper:
            return candidate
    return middle


def implied_standard_equivalent_values(
    published: pd.DataFrame,
    equivalents: pd.DataFrame | None = None,
    rounding_yuan: float | None = None,
) -> pd.DataFrame:
    """SV_i that a printed ESV table (shape of :func:`afforest.data.load_esv`) implies, province by province.

    A cell printed as E with total equivalent F > 0 says SV_i lies in [(E - h) / F, (E + h) / F], h half the
    printing resolution. The function keeps the largest set of cells whose intervals overlap, intersects
    them, and returns the number with the fewest decimals in the intersection (``sv_yuan_per_ha``), the
    interval (``lower``, ``upper``), the count of consistent cells (``cells_used``) and the land types
    whose printed value no single SV_i can explain (``inconsistent_land_types``, ';'-separated).
    """
    equivalents = equivalents if equivalents is not None else land_type_equivalents()
    if rounding_yuan is None:
        rounding_yuan = float(load_quantities(data_path("esv_parameters.toml"))["table3_rounding"].value)  # type: ignore[arg-type]
    half = 0.5 * rounding_yuan
    totals = _total_equivalents(equivalents)
    rows = []
    for province, cells in published.groupby("province", sort=False):
        intervals = []
        for row in cells.itertuples(index=False):
            f = float(totals.get(row.land_type, np.nan))
            if not np.isfinite(f) or f <= 0:
                continue
            intervals.append(((row.esv_yuan_per_ha_yr - half) / f, (row.esv_yuan_per_ha_yr + half) / f, row.land_type))
        if not intervals:
            raise InputError("no cell with a positive total equivalent", field="province", value=province)
        # The point covered by most intervals lies at some interval's lower end.
        best = max(intervals, key=lambda iv: sum(lo <= iv[0] <= hi for lo, hi, _ in intervals))
        used = [iv for iv in intervals if iv[0] <= best[0] <= iv[1]]
        lower = max(iv[0] for iv in used)
        upper = min(iv[1] for iv in used)
        rows.append(
            {
                "province": province,
                "sv_yuan_per_ha": _simplest_decimal(lower, upper),
                "lower": lower,
                "upper": upper,
                "cells_used": len(used),
                "inconsistent_land_types": ";".join(iv[2] for iv in intervals if iv not in used),
            }
        )
    return pd.DataFrame(rows)


def compare_with_published(computed: pd.DataFrame, published: pd.DataFrame, rounding_yuan: float = 0.01) -> pd.DataFrame:
    """Cell by cell: ``computed``, ``published``, ``difference`` (computed rounded to the printing
    resolution minus published, yuan), ``relative_gap`` and ``matches`` (equal after rounding)."""
    merged = computed.merge(published, on=["land_type", "province"], suffixes=("_computed", "_published"), validate="one_to_one")
    c = merged["esv_yuan_per_ha_yr_computed"]
    p = merged["esv_yuan_per_ha_yr_published"]
    decimals = int(round(-np.log10(rounding_yuan)))
    difference = (c.round(decimals) - p).round(decimals + 2)
    return pd.DataFrame(
        {
            "land_type": merged["land_type"],
            "province": merged["province"],
            "computed": c,
            "published": p,
            "difference": difference,
            "relative_gap": c / p - 1,
            "matches": difference.abs() < 0.5 * rounding_yuan,
        }
    )
