"""The study's fitted ESV curves (Eqs. 4-5), computed from a region's land classes instead of typed in.

    B'(A) = sum_i alpha_i A^i   marginal ESV of land still in its current use, A in 10^4 ha
    C'(z) = sum_i beta_i z^i    marginal ESV of afforested land, z (afforested area) in 10^4 ha

Coefficients are lowest order first, in yuan/(ha yr) per (10^4 ha)^i. The study prints cubic alpha and beta with
R^2 0.96 and 0.94 but not which points it fitted; this module fits a polynomial of any degree by (weighted) least
squares to points built from the classes table (one row per non-empty land type x province class: area and
current ESV, and the province's forest ESV for C'), under a named :class:`CurveFitCandidate` that fixes each
undocumented choice:

* **B' points.** Classes sorted by current ESV from the highest down; A runs over that order (A = A0 - z of the
  merit order), so the lowest-value land sits at A = A0 as in the study. Each class gives one point, y = its ESV.
* **position**: where on its interval of the curve's own axis a class's point sits: ``start``, ``middle`` or
  ``end`` (``end`` = the cumulative area of the class and every class before it on that axis).
* **weighting**: ``none`` (one point per class) or ``area`` (each point weighted by its class's area; R^2 then
  weighted too).
* **esv_source**: which ESV table the caller built the classes from (``table3``: Table 3 as printed; ``eq6``:
  Eq. 6 computed by :mod:`afforest.model.esv`). The fit itself only reads the table it is given.
* **afforested**: what C'(z) is the marginal value of (:class:`AfforestedValue`): the province's forest ESV or the
  gain over the current use, with z counted in merit order (lowest current ESV first, the order of planting), from
  the highest forest ESV or gain down, or in the B' order.

``docs/curve_fit.md`` tries every candidate against the printed coefficients (``bench/curve_fit_candidates.py``):
:data:`DEFAULT_CANDIDATE` reproduces the printed alpha and R^2 = 0.96 to their last printed digit; no candidate
reproduces beta (the printed C' falls to ~11 000 yuan/ha for z in 190-400 and below zero near A0, under every
forest ESV and every class's gain in Table 3).

Pure functions of plain data: nothing here opens a file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from afforest.errors import InputError

__all__ = [
    "AFFORESTED",
    "CANDIDATES",
    "COEFFICIENT_UNIT",
    "DEFAULT_CANDIDATE",
    "DEFAULT_DEGREE",
    "UNCONVERTED",
    "AfforestedValue",
    "CurveFit",
    "CurveFitCandidate",
    "EsvSource",
    "Position",
    "Weighting",
    "candidate_named",
    "candidate_table",
    "PUBLISHED_R2_KEYS",
    "published_r2",
    "compare_with_published",
    "fit_curves",
    "printed_decimals",
]

DEFAULT_DEGREE = 3
"""The study fits cubics."""
UNCONVERTED = "unconverted"
"""Name of B' in tables (the ``curve`` column)."""
AFFORESTED = "afforested"
"""Name of C' in tables."""
COEFFICIENT_UNIT = "yuan/(ha yr) per (10^4 ha)^i, i = 0..degree, lowest order first"
"""Unit of the i-th coefficient of B' and C'."""
REQUIRED_COLUMNS = ("land_type", "province", "area_10k_ha", "esv_yuan_per_ha_yr", "forest_esv_yuan_per_ha_yr")
"""Columns of a classes table (the shape of :func:`afforest.model.merit_order.merit_order`; extra columns are ignored)."""
_R2_DECIMALS = 2
"""The study prints R^2 to two decimals."""


class Position(StrEnum):
    """Where a class's point sits on its interval of the curve's axis."""

    START = "start"
    MIDDLE = "middle"
    END = "end"


class Weighting(StrEnum):
    """How the classes' points are weighted in the least squares (and in R^2)."""

    NONE = "none"
    AREA = "area"


class EsvSource(StrEnum):
    """Which ESV table the classes were built from (a choice of the caller; the fit reads the table it is given)."""

    TABLE3 = "table3"
    """Table 3 as printed (data/esv.csv)."""
    EQ6 = "eq6"
    """Eq. 6 computed from the equivalent factors (afforest.model.esv.esv_table)."""


class AfforestedValue(StrEnum):
    """What C'(z) is the marginal value of, and in which order z runs over the classes."""

    FOREST_MERIT = "forest_merit"
    """y = the province's forest ESV (what a hectare becomes); z in merit order (lowest current ESV planted first)."""
    FOREST_DESC = "forest_desc"
    """y = forest ESV; z from the class with the highest forest ESV down."""
    FOREST_BY_CURRENT_DESC = "forest_by_current_desc"
    """y = forest ESV; z in B''s order (highest current ESV first)."""
    GAIN_MERIT = "gain_merit"
    """y = forest ESV - current ESV (the yearly ESV a hectare gains); z in merit order."""
    GAIN_DESC = "gain_desc"
    """y = gain; z from the largest gain down."""


@dataclass(frozen=True)
class CurveFitCandidate:
    """One definition of the points the study may have fitted."""

    position: Position = Position.END
    weighting: Weighting = Weighting.NONE
    esv_source: EsvSource = EsvSource.TABLE3
    afforested: AfforestedValue = AfforestedValue.GAIN_DESC

    def __post_init__(self) -> None:
        for name, kind in (("position", Position), ("weighting", Weighting), ("esv_source", EsvSource),
                           ("afforested", AfforestedValue)):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, kind(value))
            except ValueError:
                raise InputError(f"must be one of {[k.value for k in kind]}", field=name, value=value) from None

    @property
    def name(self) -> str:
        """``position-weighting-esv_source-afforested``, e.g. ``end-none-table3-gain_desc``."""
        return f"{self.position.value}-{self.weighting.value}-{self.esv_source.value}-{self.afforested.value}"


CANDIDATES: tuple[CurveFitCandidate, ...] = tuple(
    CurveFitCandidate(position, weighting, source, afforested)
    for source in EsvSource
    for weighting in Weighting
    for position in Position
    for afforested in AfforestedValue
)
"""Every combination tried in docs/curve_fit.md (3 x 2 x 2 x 5 = 60)."""

DEFAULT_CANDIDATE = CurveFitCandidate()
"""End of interval, unweighted, Table 3: reproduces the printed B' (every alpha_i to its printed digits, R^2 0.96).
For C' it takes the closest C' among the candidates that reproduce B' (the gain forest - current ESV, largest gain
first), which still misses the printed C' by 35.5 % of max |C'| (R^2 0.82 against 0.94): nothing here reproduces
beta, and a gain as C' counts the current ESV twice in Eq. 3 (docs/curve_fit.md)."""


def candidate_named(name: str) -> CurveFitCandidate:
    """The candidate called ``name`` (``position-weighting-esv_source-afforested``)."""
    for item in CANDIDATES:
        if item.name == name:
            return item
    raise InputError(f"unknown candidate; e.g. {DEFAULT_CANDIDATE.name!r} (docs/curve_fit.md lists all "
                     f"{len(CANDIDATES)})", field="candidate", value=name)


@dataclass(frozen=True, eq=False)
class CurveFit:
    """Fitted B' and C' with their goodness of fit and the points behind them."""

    degree: int
    candidate: CurveFitCandidate
    unconverted_esv_coefficients: tuple[float, ...]
    """alpha_i of B'(A), lowest order first, yuan/(ha yr) per (10^4 ha)^i (A: land in its current use)."""
    afforested_esv_coefficients: tuple[float, ...]
    """beta_i of C'(z), lowest order first, yuan/(ha yr) per (10^4 ha)^i (z: afforested area)."""
    r2_unconverted: float
    r2_afforested: float
    initial_area_10k_ha: float
    """A0, the classes' total area: both curves are fitted on [0, A0]."""
    points: pd.DataFrame
    """Tidy, one row per class and curve: ``curve`` (unconverted / afforested), ``land_type``, ``province``,
    ``area_10k_ha``, ``x_10k_ha`` (A for B', z for C'), ``esv_yuan_per_ha_yr`` (the point's value),
    ``weight``, ``fitted_yuan_per_ha_yr``, ``residual_yuan_per_ha_yr`` (point minus fit)."""

    @property
    def unconverted_marginal_esv(self) -> np.polynomial.Polynomial:
        """B'(A), yuan/(ha yr), A in 10^4 ha."""
        return np.polynomial.Polynomial(self.unconverted_esv_coefficients)

    @property
    def afforested_marginal_esv(self) -> np.polynomial.Polynomial:
        """C'(z), yuan/(ha yr), z in 10^4 ha."""
        return np.polynomial.Polynomial(self.afforested_esv_coefficients)

    def to_dict(self) -> dict[str, object]:
        return {
            "candidate": self.candidate.name,
            "degree": self.degree,
            "coefficient_unit": COEFFICIENT_UNIT,
            "unconverted_esv_coefficients": list(self.unconverted_esv_coefficients),
            "afforested_esv_coefficients": list(self.afforested_esv_coefficients),
            "r2_unconverted": self.r2_unconverted,
            "r2_afforested": self.r2_afforested,
            "initial_area_10k_ha": self.initial_area_10k_ha,
        }


# ------------------------------------------------------------------------------------------ the points


def _check_classes(classes: pd.DataFrame, degree: int) -> pd.DataFrame:
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 0:
        raise InputError("must be an integer >= 0", field="degree", value=degree)
    missing = [c for c in REQUIRED_COLUMNS if c not in classes.columns]
    if missing:
        raise InputError(f"the classes table has no column {missing[0]!r} (needs {list(REQUIRED_COLUMNS)})",
                         field=missing[0])
    table = classes[list(REQUIRED_COLUMNS)].copy()
    for column in REQUIRED_COLUMNS[2:]:
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError("must be a finite number", field=column, value=classes[column].iloc[i])
        table[column] = values
    negative = table["area_10k_ha"] < 0
    if negative.any():
        raise InputError("must be >= 0 (an area)", field="area_10k_ha", value=float(table.loc[negative, "area_10k_ha"].iloc[0]))
    keys = table[["land_type", "province"]]
    if keys.duplicated().any():
        row = keys[keys.duplicated()].iloc[0]
        raise InputError("a class appears twice in the classes table", field="land_type+province",
                         value=(row["land_type"], row["province"]))
    table = table[table["area_10k_ha"] > 0].reset_index(drop=True)  # as in the merit order: empty cells are no class
    if len(table) < degree + 1:
        raise InputError(f"a polynomial of degree {degree} needs at least {degree + 1} classes with area > 0; "
                         f"the table has {len(table)}", field="degree", value=degree)
    return table


def _axis(table: pd.DataFrame, order_by: list[str], ascending: list[bool], position: Position) -> pd.DataFrame:
    """Sort by ``order_by`` (ties by land type, then province) and place each class on its cumulative interval."""
    ordered = table.sort_values([*order_by, "land_type", "province"], ascending=[*ascending, True, True], kind="stable")
    end = ordered["area_10k_ha"].cumsum().to_numpy()
    start = end - ordered["area_10k_ha"].to_numpy()
    x = {Position.START: start, Position.MIDDLE: 0.5 * (start + end), Position.END: end}[position]
    return ordered.assign(x_10k_ha=x).reset_index(drop=True)


def _points(table: pd.DataFrame, cand: CurveFitCandidate) -> tuple[pd.DataFrame, pd.DataFrame]:
    gain = table["forest_esv_yuan_per_ha_yr"] - table["esv_yuan_per_ha_yr"]
    table = table.assign(gain_yuan_per_ha_yr=gain)
    unconverted = _axis(table, ["esv_yuan_per_ha_yr"], [False], cand.position)
    unconverted["y"] = unconverted["esv_yuan_per_ha_yr"]
    rule = {
        AfforestedValue.FOREST_MERIT: (["esv_yuan_per_ha_yr"], [True], "forest_esv_yuan_per_ha_yr"),
        AfforestedValue.FOREST_DESC: (["forest_esv_yuan_per_ha_yr", "esv_yuan_per_ha_yr"], [False, True],
                                      "forest_esv_yuan_per_ha_yr"),
        AfforestedValue.FOREST_BY_CURRENT_DESC: (["esv_yuan_per_ha_yr"], [False], "forest_esv_yuan_per_ha_yr"),
        AfforestedValue.GAIN_MERIT: (["esv_yuan_per_ha_yr"], [True], "gain_yuan_per_ha_yr"),
        AfforestedValue.GAIN_DESC: (["gain_yuan_per_ha_yr"], [False], "gain_yuan_per_ha_yr"),
    }
    order_by, ascending, value = rule[cand.afforested]
    afforested = _axis(table, order_by, ascending, cand.position)
    afforested["y"] = afforested[value]
    return unconverted, afforested


CONSTANT_DATA_SHARE = 1e-12
"""Points whose spread is below this share of their size count as constant (R^2 is then 1 if the fit is exact to the
same share, else 0): a spread of float round-off, e.g. gains 1100 - 100 and 32768.72 - 31768.72 that differ by 4e-12,
gave R^2 of 0.80 or 0.86 by the weighting alone (found by hypothesis)."""


def _weighted_fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, degree: int) -> tuple[np.ndarray, float]:
    """Least squares min sum w (y - p(x))^2; coefficients lowest order first and the (weighted) R^2.

    Solved on x mapped to [-1, 1] (a well-conditioned Vandermonde matrix), then converted to powers of x."""
    if np.unique(x).size < degree + 1:
        raise InputError(f"a polynomial of degree {degree} needs at least {degree + 1} distinct points; the classes "
                         f"give {np.unique(x).size}", field="degree", value=degree)
    poly = np.polynomial.Polynomial.fit(x, y, degree, w=np.sqrt(w))
    coef = np.zeros(degree + 1)
    converted = poly.convert().coef
    coef[: converted.size] = converted
    fitted = np.polynomial.polynomial.polyval(x, coef)
    mean = np.average(y, weights=w)
    total = float(np.sum(w * (y - mean) ** 2))
    residual = float(np.sum(w * (y - fitted) ** 2))
    scale = max(1.0, float(np.sum(w * y**2)))
    if total <= CONSTANT_DATA_SHARE**2 * scale:  # y constant up to round-off: R^2 would be noise over noise
        r2 = 1.0 if residual <= CONSTANT_DATA_SHARE**2 * scale else 0.0
    else:
        r2 = 1.0 - residual / total
    return coef, min(1.0, max(0.0, r2))


def fit_curves(
    classes: pd.DataFrame,
    degree: int = DEFAULT_DEGREE,
    candidate: CurveFitCandidate = DEFAULT_CANDIDATE,
) -> CurveFit:
    """Fit B'(A) and C'(z) of degree ``degree`` to the points ``candidate`` defines on ``classes``.

    ``classes``: one row per (land_type, province) class with ``area_10k_ha`` (>= 0; empty classes are skipped),
    ``esv_yuan_per_ha_yr`` (current use) and ``forest_esv_yuan_per_ha_yr`` (the province's forest ESV), e.g. the
    output of :func:`afforest.model.merit_order.merit_order` built from the ESV table ``candidate.esv_source`` names.
    The row order does not matter. Raises :class:`InputError` naming the field and value of bad input.
    """
    table = _check_classes(classes, degree)
    frames = []
    fits: dict[str, tuple[np.ndarray, float]] = {}
    for curve, pts in zip((UNCONVERTED, AFFORESTED), _points(table, candidate), strict=True):
        x = pts["x_10k_ha"].to_numpy(float)
        y = pts["y"].to_numpy(float)
        w = pts["area_10k_ha"].to_numpy(float) if candidate.weighting is Weighting.AREA else np.ones_like(y)
        coef, r2 = _weighted_fit(x, y, w, degree)
        fits[curve] = (coef, r2)
        fitted = np.polynomial.polynomial.polyval(x, coef)
        frames.append(pd.DataFrame({
            "curve": curve,
            "land_type": pts["land_type"].to_numpy(),
            "province": pts["province"].to_numpy(),
            "area_10k_ha": pts["area_10k_ha"].to_numpy(float),
            "x_10k_ha": x,
            "esv_yuan_per_ha_yr": y,
            "weight": w,
            "fitted_yuan_per_ha_yr": fitted,
            "residual_yuan_per_ha_yr": y - fitted,
        }))
    return CurveFit(
        degree=int(degree),
        candidate=candidate,
        unconverted_esv_coefficients=tuple(float(c) for c in fits[UNCONVERTED][0]),
        afforested_esv_coefficients=tuple(float(c) for c in fits[AFFORESTED][0]),
        r2_unconverted=fits[UNCONVERTED][1],
        r2_afforested=fits[AFFORESTED][1],
        initial_area_10k_ha=float(table["area_10k_ha"].sum()),
        points=pd.concat(frames, ignore_index=True),
    )


# ------------------------------------------------------------------------------ against the printed fit


def printed_decimals(value: float) -> int:
    """Decimals a printed number carries (``-0.0016`` -> 4, ``55203.0`` -> 0): the digits the print fixes."""
    text = repr(float(value))
    if "e" in text or "E" in text:
        mantissa, exponent = text.lower().split("e")
        return max(0, len(mantissa.split(".")[1].rstrip("0")) if "." in mantissa else 0) - int(exponent)
    return len(text.split(".")[1].rstrip("0")) if "." in text else 0


def _rounds_to(value: float, printed: float, decimals: int) -> bool:
    """``value`` printed to ``decimals`` decimals is ``printed`` (half a unit of the last digit, float slack)."""
    half = 0.5 * 10.0 ** (-decimals)
    return abs(value - printed) <= half * (1 + 1e-9)


def compare_with_published(
    fit: CurveFit,
    published_unconverted: Sequence[float],
    published_afforested: Sequence[float],
    published_r2_unconverted: float,
    published_r2_afforested: float,
    *,
    samples: int = 501,
) -> pd.DataFrame:
    """How close ``fit`` comes to the printed curves, one row per curve (unconverted, afforested).

    ``curve_max_rel_diff``: max over [0, A0] of |fit - printed| divided by max over [0, A0] of |printed| (a
    pointwise ratio would blow up where the printed C' crosses zero). ``coefficient_max_rel_diff``: max_i of
    |c_i - printed_i| / |printed_i| (NaN when the degrees differ). ``reproduces``: every coefficient rounds to
    the printed one at the printed number of decimals and R^2 rounds to the printed one at two decimals.
    """
    grid = np.linspace(0.0, fit.initial_area_10k_ha, samples)
    rows = []
    for curve, coef, printed, r2, r2_printed in (
        (UNCONVERTED, fit.unconverted_esv_coefficients, published_unconverted, fit.r2_unconverted, published_r2_unconverted),
        (AFFORESTED, fit.afforested_esv_coefficients, published_afforested, fit.r2_afforested, published_r2_afforested),
    ):
        printed = [float(c) for c in printed]
        ours = np.polynomial.polynomial.polyval(grid, coef)
        theirs = np.polynomial.polynomial.polyval(grid, printed)
        scale = float(np.max(np.abs(theirs)))
        same_degree = len(coef) == len(printed)
        coefficient_gap = (
            max(abs(c - p) / abs(p) if p != 0 else math.inf for c, p in zip(coef, printed, strict=True))
            if same_degree else math.nan
        )
        reproduces = same_degree and all(
            _rounds_to(c, p, printed_decimals(p)) for c, p in zip(coef, printed, strict=True)
        ) and _rounds_to(r2, r2_printed, _R2_DECIMALS)
        rows.append({
            "curve": curve,
            "r2": r2,
            "r2_published": float(r2_printed),
            "curve_max_rel_diff": float(np.max(np.abs(ours - theirs))) / scale if scale > 0 else math.nan,
            "coefficient_max_rel_diff": coefficient_gap,
            "reproduces": bool(reproduces),
        })
    return pd.DataFrame(rows)


def candidate_table(
    classes_by_source: Mapping[str, pd.DataFrame],
    published_unconverted: Sequence[float],
    published_afforested: Sequence[float],
    published_r2_unconverted: float,
    published_r2_afforested: float,
    *,
    degree: int = DEFAULT_DEGREE,
    candidates: Sequence[CurveFitCandidate] = CANDIDATES,
) -> pd.DataFrame:
    """Every candidate's fit against the print, best first: one row per candidate with its coefficients, R^2,
    the closeness columns of :func:`compare_with_published` suffixed ``_unconverted`` / ``_afforested`` and
    ``rank``. Best = reproduces B', then reproduces C', then the smaller sum of the two curve distances.
    ``classes_by_source``: the classes table for each :class:`EsvSource` value used by ``candidates``."""
    rows = []
    for cand in candidates:
        if cand.esv_source.value not in classes_by_source:
            raise InputError("no classes table for this ESV source", field="esv_source", value=cand.esv_source.value)
        fit = fit_curves(classes_by_source[cand.esv_source.value], degree, cand)
        closeness = compare_with_published(fit, published_unconverted, published_afforested,
                                           published_r2_unconverted, published_r2_afforested)
        row: dict[str, object] = {
            "candidate": cand.name,
            "position": cand.position.value,
            "weighting": cand.weighting.value,
            "esv_source": cand.esv_source.value,
            "afforested": cand.afforested.value,
            "unconverted_esv_coefficients": fit.unconverted_esv_coefficients,
            "afforested_esv_coefficients": fit.afforested_esv_coefficients,
        }
        for record in closeness.to_dict(orient="records"):
            suffix = record.pop("curve")
            row.update({f"{key}_{suffix}": value for key, value in record.items()})
        rows.append(row)
    table = pd.DataFrame(rows)
    table["distance"] = table["curve_max_rel_diff_unconverted"] + table["curve_max_rel_diff_afforested"]
    table = table.sort_values(
        ["reproduces_unconverted", "reproduces_afforested", "distance"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


PUBLISHED_R2_KEYS = ("esv_curve_r2_unconverted", "esv_curve_r2_afforested")
"""Where a region's published figures (``published_results``) hold the R^2 of its B' and C'."""


def published_r2(published: Mapping[str, Any]) -> tuple[float, float]:
    """(R^2 of B', R^2 of C') from a region's published figures (``InputBundle.published``), as printed."""
    missing = [key for key in PUBLISHED_R2_KEYS if key not in published]
    if missing:
        raise InputError("the region publishes ESV curves but not their R^2", file="published_results",
                         field=missing[0])
    return tuple(float(getattr(published[key], "value", published[key])) for key in PUBLISHED_R2_KEYS)  # type: ignore[return-value]
