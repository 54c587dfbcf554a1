"""The sweep row's output columns a sensitivity analysis may study (:data:`SENSITIVITY_OUTPUTS`), and how the columns
that repeat per carbon discount rate or per abatement benchmark are named.

A sweep row (:func:`afforest.chain.sweep.chain_outputs`) holds the carbon and the costs at the point's own r_c
(``desirable_carbon_mt_co2``, ...) and, under names that say the rate, at each of the study's rates (the bundle's
``carbon_discount_rates``, 0 and 5 %: ``desirable_carbon_rc0_mt_co2``, ``desirable_carbon_rc5_mt_co2``), and the
cost-effective area against each power-sector abatement option and the carbon market's price
(``cost_effective_area_<benchmark>_rc<rate>_10k_ha``). The row names them from its bundle's data; the catalogue
lists those of the shipped data (:data:`CATALOGUE_CARBON_RATES`, :data:`CATALOGUE_BENCHMARKS`, which a test holds
equal to every shipped region's).
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Iterable

from afforest.data import data_path

__all__ = [
    "CATALOGUE_BENCHMARKS",
    "CATALOGUE_CARBON_RATES",
    "SENSITIVITY_OUTPUTS",
    "benchmark_slug",
    "cost_effective_area_column",
    "rate_column",
    "rate_tag",
]

PERCENT = 100.0
"""A rate of 0.05 per year is tagged ``rc5``: the tag is in percent."""

CARBON_PRICE_MEANING = "the carbon market's price"
"""The benchmark beside the power-sector options (``carbon_price``, data/cost_effectiveness.toml)."""


def _shipped_carbon_rates() -> tuple[float, ...]:
    with data_path("carbon_parameters.toml").open("rb") as fh:
        return tuple(float(r) for r in tomllib.load(fh)["carbon_discount_rates"]["value"])


def _shipped_benchmarks() -> dict[str, str]:
    with data_path("power_technologies.csv").open(newline="") as fh:
        options = {row["option"]: row["description"] for row in csv.DictReader(fh)}
    return {**{benchmark_slug(name): f"the abatement cost where {text}" for name, text in options.items()},
            "carbon_price": CARBON_PRICE_MEANING}


def rate_tag(rate: float) -> str:
    """``rc`` and the rate in percent, a dot as ``p``: 0 -> ``rc0``, 0.05 -> ``rc5``, 0.025 -> ``rc2p5``."""
    return "rc" + f"{rate * PERCENT:g}".replace(".", "p")


def benchmark_slug(name: str) -> str:
    """A benchmark's name as a column fragment: lower case, runs of other characters as one ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")


CATALOGUE_CARBON_RATES: tuple[float, ...] = _shipped_carbon_rates()
"""The study's carbon discount rates, read from data/carbon_parameters.toml (``carbon_discount_rates``; every shipped
region's are the same, which a test holds): the rates of the catalogue's per-rate columns."""

CATALOGUE_BENCHMARKS: dict[str, str] = _shipped_benchmarks()
"""Benchmarks of the cost-effectiveness stage in the shipped data, slugged, with their meaning: the options of
data/power_technologies.csv (gross abatement cost) and the carbon market's price."""


def rate_column(stem: str, rate: float, unit: str) -> str:
    """``<stem>_<rate tag>_<unit>``, e.g. ``desirable_carbon_rc5_mt_co2``."""
    return f"{stem}_{rate_tag(rate)}_{unit}"


def cost_effective_area_column(benchmark: str, rate: float) -> str:
    """``cost_effective_area_<benchmark>_<rate tag>_10k_ha``: the area of the classes whose marginal cost at r_c is at
    most the benchmark's price (the cost-effective part of the supply curve)."""
    return rate_column(f"cost_effective_area_{benchmark_slug(benchmark)}", rate, "10k_ha")


RATE_OUTPUTS: dict[tuple[str, str], str] = {
    ("desirable_carbon", "mt_co2"): "carbon of the desirable area by 2060 at r_c = {pct} (Mt CO2)",
    ("planned_path_sink", "mt_co2"): "carbon of the planned planting path by 2060 at r_c = {pct} (Mt CO2)",
    ("average_carbon_cost", "yuan_per_t_co2"): "average cost of the desirable area's carbon at r_c = {pct} (yuan/t CO2)",
    ("max_marginal_cost", "yuan_per_t_co2"): "marginal cost of the last hectare of the desirable area at r_c = {pct} "
                                             "(yuan/t CO2)",
}
"""(stem, unit) of each per-rate column -> its description (``{pct}``: the rate in percent)."""


def _rate_outputs(rates: Iterable[float]) -> dict[str, str]:
    out: dict[str, str] = {}
    for (stem, unit), text in RATE_OUTPUTS.items():
        for rate in rates:
            out[rate_column(stem, rate, unit)] = text.format(pct=f"{rate * PERCENT:g} %")
    for name, meaning in CATALOGUE_BENCHMARKS.items():
        for rate in rates:
            out[cost_effective_area_column(name, rate)] = (
                f"area whose marginal cost at r_c = {rate * PERCENT:g} % is at most {meaning} "
                "(10^4 ha)")
    return out


SENSITIVITY_OUTPUTS: dict[str, str] = {
    "analytic_afforested_area_10k_ha": "desirable area, analytic steady state of Eq. 3 (10^4 ha)",
    "numeric_afforested_area_10k_ha": "desirable area, curves NLP (Ipopt) (10^4 ha)",
    "classes_afforested_area_10k_ha": "desirable area, classes QP (HiGHS) (10^4 ha)",
    "desirable_carbon_mt_co2": "carbon of the desirable area by 2060 at the point's r_c (Mt CO2)",
    "planned_path_sink_mt_co2": "carbon of the planned planting path by 2060 at the point's r_c (Mt CO2)",
    "average_carbon_cost_yuan_per_t_co2": "average cost of the desirable area's carbon at the point's r_c (yuan/t CO2)",
    "min_marginal_cost_yuan_per_t_co2": "lowest marginal cost on the supply curve at the point's r_c (yuan/t CO2)",
    "max_marginal_cost_yuan_per_t_co2": "marginal cost of the last hectare of the desirable area at the point's r_c "
                                        "(yuan/t CO2)",
    **_rate_outputs(CATALOGUE_CARBON_RATES),
}
"""Sweep-row columns (:func:`afforest.chain.sweep.chain_outputs`) a sensitivity analysis may study, with their
meaning and unit; the default set is all of them."""
