"""Land classes in merit order: the study's rule that the land with the lowest ESV is converted first.

A class is one non-empty (land_type, province) cell of Table 2 with its current ESV from Table 3. Sorted
by ESV, lowest first, the classes tile the interval [0, A0] of cumulative afforested area z: class k
covers [z_start_k, z_end_k). This gives (a) the study's allocation of a desirable area to provinces and
land types (fill the merit order), and (b) the classes of the classes representation of the dynamic
program, each with a value after planting.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from afforest.data import FOREST_LAND_TYPE, LandUseParameters
from afforest.errors import InputError

__all__ = [
    "PostPlantingRule",
    "merit_order",
    "planted_land_type",
    "landuse_classes",
    "fill_merit_order",
    "shares",
    "classes_steady_state_area",
]


class PostPlantingRule(StrEnum):
    """How a class's ESV after planting is set (the study publishes C'(z) only as a fitted curve)."""

    CURVE_AVERAGE = "curve_average"
    """Mean of the study's C'(z) over the class's interval of the merit order: (C(z_end) - C(z_start)) / a_k.
    With it the classes representation is the curve model made piecewise-constant in B'."""
    PROVINCE_FOREST_ESV = "province_forest_esv"
    """Table 3's broadleaf-forest ESV of the class's province: the mature-forest value, ignoring that C'
    falls as more land is planted; it makes every class worth converting."""


def planted_land_type(area: pd.DataFrame, esv: pd.DataFrame) -> str:
    """The land type planting creates: the one the ESV table values and the area table has no land of (the region's
    ``land_types.planted``); the bundled region's when the tables do not tell it apart."""
    extra = [t for t in dict.fromkeys(esv["land_type"]) if t not in set(area["land_type"])]
    if len(extra) == 1:
        return str(extra[0])
    if FOREST_LAND_TYPE in extra or not extra:
        return FOREST_LAND_TYPE
    raise InputError(f"the ESV table values several land types the area table lacks ({extra}); which one is the "
                     "planted forest? Name it (merit_order(..., planted=...)) or drop the others", field="land_type",
                     value=extra)


def merit_order(area: pd.DataFrame, esv: pd.DataFrame, planted: str | None = None) -> pd.DataFrame:
    """Non-empty classes sorted by current ESV (ties by land type, then province), with their intervals.

    ``planted``: the land type whose ESV is the value after planting (default :func:`planted_land_type`).

    Columns: ``rank`` (1 = converted first), ``land_type``, ``province``, ``area_10k_ha``,
    ``esv_yuan_per_ha_yr``, ``forest_esv_yuan_per_ha_yr``, ``z_start_10k_ha``, ``z_end_10k_ha``.
    """
    cells = area[area["area_10k_ha"] > 0][["land_type", "province", "area_10k_ha"]]
    merged = cells.merge(esv, on=["land_type", "province"], how="left", validate="one_to_one")
    missing = merged["esv_yuan_per_ha_yr"].isna()
    if missing.any():
        row = merged[missing].iloc[0]
        raise InputError(
            "afforestable class has no ESV in the ESV table",
            field="land_type+province",
            value=(row["land_type"], row["province"]),
        )
    planted = planted if planted is not None else planted_land_type(area, esv)
    forest = esv[esv["land_type"] == planted].set_index("province")["esv_yuan_per_ha_yr"]
    merged["forest_esv_yuan_per_ha_yr"] = merged["province"].map(forest)
    merged = merged.sort_values(["esv_yuan_per_ha_yr", "land_type", "province"], kind="stable").reset_index(drop=True)
    merged.insert(0, "rank", np.arange(1, len(merged) + 1))
    end = merged["area_10k_ha"].cumsum()
    merged["z_start_10k_ha"] = end - merged["area_10k_ha"]
    merged["z_end_10k_ha"] = end
    return merged


def landuse_classes(
    area: pd.DataFrame,
    esv: pd.DataFrame,
    params: LandUseParameters,
    rule: PostPlantingRule | str = PostPlantingRule.CURVE_AVERAGE,
    max_class_area_10k_ha: float | None = None,
) -> pd.DataFrame:
    """Merit-order classes with ``afforested_esv_yuan_per_ha_yr`` set by ``rule``.

    ``max_class_area_10k_ha`` splits large classes into equal slices (``slice`` column) so that the
    curve-average value can vary within a class; None keeps the 32 classes of the study.
    """
    rule = PostPlantingRule(rule)
    classes = merit_order(area, esv)
    classes["slice"] = 0
    if max_class_area_10k_ha is not None:
        if not max_class_area_10k_ha > 0:
            raise InputError("must be > 0", field="max_class_area_10k_ha", value=max_class_area_10k_ha)
        pieces = np.ceil(classes["area_10k_ha"] / max_class_area_10k_ha).astype(int)
        classes = classes.loc[classes.index.repeat(pieces)].copy()
        classes["slice"] = classes.groupby("rank").cumcount()
        classes["area_10k_ha"] = classes["area_10k_ha"] / classes["rank"].map(classes.groupby("rank").size())
        end = classes["area_10k_ha"].cumsum()
        classes["z_start_10k_ha"] = end - classes["area_10k_ha"]
        classes["z_end_10k_ha"] = end
        classes = classes.reset_index(drop=True)
    if rule is PostPlantingRule.CURVE_AVERAGE:
        integral = params.afforested_marginal_esv.integ()
        classes["afforested_esv_yuan_per_ha_yr"] = (
            integral(classes["z_end_10k_ha"].to_numpy()) - integral(classes["z_start_10k_ha"].to_numpy())
        ) / classes["area_10k_ha"].to_numpy()
    else:
        classes["afforested_esv_yuan_per_ha_yr"] = classes["forest_esv_yuan_per_ha_yr"]
    return classes


def fill_merit_order(classes: pd.DataFrame, area_10k_ha: float) -> pd.DataFrame:
    """Allocate ``area_10k_ha`` to classes in merit order (the study's allocation of its desirable area).

    Returns one row per class that receives land: ``land_type``, ``province``, ``area_10k_ha``.
    """
    total = float(classes["area_10k_ha"].sum())
    if not 0 <= area_10k_ha <= total * (1 + 1e-12):
        raise InputError(f"must lie in [0, {total:g}] (the merit order's total area)", field="area_10k_ha", value=area_10k_ha)
    taken = np.clip(area_10k_ha - classes["z_start_10k_ha"].to_numpy(), 0.0, classes["area_10k_ha"].to_numpy())
    out = classes[["land_type", "province"]].assign(area_10k_ha=taken)
    out = out[out["area_10k_ha"] > 0]
    return out.groupby(["land_type", "province"], as_index=False, sort=False)["area_10k_ha"].sum()


def shares(allocation: pd.DataFrame, by: str = "province") -> pd.Series:
    """Share (0-1) of an allocation's area by ``province`` or ``land_type``."""
    grouped = allocation.groupby(by, sort=False)["area_10k_ha"].sum()
    return grouped / grouped.sum()


def classes_steady_state_area(
    classes: pd.DataFrame,
    hurdle_yuan_per_ha_yr: float,
    *,
    extra_hurdle_by_land_type: dict[str, float] | None = None,
    province_quota_10k_ha: dict[str, float] | None = None,
) -> float:
    """Long-run area of the classes dynamic program, in closed form (10^4 ha).

    Each class is linear in its area, so in the long run a class is converted whole iff the yearly ESV it
    gains, ``afforested_esv - esv``, exceeds the annuity of its planting cost (``hurdle_yuan_per_ha_yr``,
    r tau(0) net of any carbon value, plus ``extra_hurdle_by_land_type`` for land types with their own cost),
    and a province quota takes the province's best classes first (swapping a worse converted hectare for a
    better unconverted one of the same province raises welfare). The rising cost tau1 R sets how fast, never
    where: this is what the program reaches once its path has converged.
    """
    extra = extra_hurdle_by_land_type or {}
    extra_hurdle = (np.array([extra.get(t, 0.0) for t in classes["land_type"]], dtype=float) if extra
                    else np.zeros(len(classes)))
    gain = (
        classes["afforested_esv_yuan_per_ha_yr"].to_numpy(float)
        - classes["esv_yuan_per_ha_yr"].to_numpy(float)
        - hurdle_yuan_per_ha_yr
        - extra_hurdle
    )
    # On arrays, as the table it replaces computed it (a stable sort by falling gain, provinces in the order they
    # first appear, each province's area summed by numpy in that order): the same sum to the bit, ~30 times cheaper.
    kept = np.nonzero(gain > 0)[0]
    order = kept[np.argsort(-gain[kept], kind="stable")]
    area = classes["area_10k_ha"].to_numpy(float)[order]
    rows_by_province: dict[Any, list[int]] = {}
    for row, province in enumerate(classes["province"].to_numpy()[order]):
        if not pd.isna(province):  # groupby drops a missing key
            rows_by_province.setdefault(province, []).append(row)
    quotas = province_quota_10k_ha or {}
    total = 0.0
    for province, rows in rows_by_province.items():
        province_area = float(area[rows].sum())
        total += min(province_area, float(quotas[province])) if province in quotas else province_area
    return total
