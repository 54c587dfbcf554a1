"""The dynamic (optimisation-based) carbon supply curve beside the study's static merit-order curve (Fig. 4).

(a) marginal cost of carbon against carbon by the target year: the target's dual for each optimal plan (one line
per representation) and the merit-order step curve (every class planted in year 0, cheapest first), with the
power-sector abatement costs and the carbon price as horizontal lines; (b) the area and timing behind each point of
the dynamic curve. Display choices only; the numbers come from :func:`afforest.chain.stages.dynamic_supply_curve`
and :mod:`afforest.model.supply_curve`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from afforest.plots.palette import BENCHMARK_STYLES, OTHER_COLOUR, SERIES_COLOURS, label

__all__ = ["plot_dynamic_supply_curve", "write_dynamic_supply_curve"]

_DPI = 130
_COST_TICKS_YUAN_PER_T = (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)
_STATIC_COLOUR = SERIES_COLOURS[3]
_REPRESENTATION_COLOURS = {"classes": SERIES_COLOURS[0], "curves": SERIES_COLOURS[1]}


def _pyplot() -> Any:
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_dynamic_supply_curve(
    dynamic: pd.DataFrame,
    static: pd.DataFrame | None,
    benchmarks: Mapping[str, float],
    *,
    accounts: str = "by 2060, r_c = 0",
) -> Any:
    """The figure (module docstring). ``dynamic``: rows of ``dynamic_supply_curve`` (any representations);
    ``static``: a merit-order supply curve (``carbon_end_mt_co2``, ``marginal_cost_yuan_per_t_co2``) or None;
    ``benchmarks``: name -> yuan/t CO2."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.8))
    ax = axes[0]
    if static is not None and not static.empty:
        y = np.r_[static["marginal_cost_yuan_per_t_co2"].to_numpy(), static["marginal_cost_yuan_per_t_co2"].iloc[-1]]
        ax.step(np.r_[0.0, static["carbon_end_mt_co2"].to_numpy()], y, where="post", color=_STATIC_COLOUR, lw=1.6,
                label="static merit order (study's Fig. 4: all planted in year 0)")
    ok = dynamic[dynamic["status"] == "optimal"]
    for rep, rows in ok.groupby("representation"):
        colour = _REPRESENTATION_COLOURS.get(str(rep), SERIES_COLOURS[2])
        ax.plot(rows["carbon_target_mt_co2"], rows["marginal_cost_yuan_per_t_co2"], "o-", color=colour, lw=1.8,
                label=f"dynamic: target's dual, {rep} program")
    for name, price in benchmarks.items():
        colour, style, text = BENCHMARK_STYLES.get(name, (OTHER_COLOUR, "--", label(name)))
        ax.axhline(price, color=colour, ls=style, lw=1.2, label=f"{text}: {price:.0f} yuan/t")
    ax.set_yscale("log")
    ax.set_yticks(_COST_TICKS_YUAN_PER_T, [f"{t:,}" for t in _COST_TICKS_YUAN_PER_T])
    ax.set_ylim(30, 30000)
    ax.set_xlabel(f"carbon sequestered {accounts} (Mt CO2)")
    ax.set_ylabel("marginal cost of carbon (yuan / t CO2, log scale)")
    ax.set_title("(a) Dynamic supply curve (target's dual) vs the static merit order")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left")

    ax = axes[1]
    twin = ax.twinx()
    for rep, rows in ok.groupby("representation"):
        colour = _REPRESENTATION_COLOURS.get(str(rep), SERIES_COLOURS[2])
        ax.plot(rows["carbon_target_mt_co2"], rows["afforested_area_10k_ha"], "o-", color=colour, lw=1.8,
                label=f"area afforested, {rep}")
        twin.plot(rows["carbon_target_mt_co2"], rows["years_to_90pct"], "s--", color=colour, lw=1.2, alpha=0.8,
                  label=f"years to 90 % of it, {rep}")
    ax.set_xlabel(f"carbon target {accounts} (Mt CO2)")
    ax.set_ylabel("area afforested by the plan (10^4 ha)")
    twin.set_ylabel("years until 90 % of that area is planted (yr)")
    ax.set_title("(b) The plan behind each point: area (solid) and timing (dashed)")
    ax.grid(alpha=0.3)
    lines, names = ax.get_legend_handles_labels()
    more, more_names = twin.get_legend_handles_labels()
    ax.legend(lines + more, names + more_names, fontsize=8, loc="lower center")
    fig.suptitle("Marginal cost of afforestation carbon: optimal plans under a carbon target vs the merit order, "
                 "and power-sector abatement costs", fontsize=12)
    fig.tight_layout()
    return fig


def write_dynamic_supply_curve(path: str | Path, *args: Any, **kwargs: Any) -> Path:
    """:func:`plot_dynamic_supply_curve` saved as a PNG at ``path``."""
    plt = _pyplot()
    fig = plot_dynamic_supply_curve(*args, **kwargs)
    out = Path(path)
    fig.savefig(out, dpi=_DPI)
    plt.close(fig)
    return out
