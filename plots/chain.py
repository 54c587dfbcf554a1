"""Figures of one chain run (:class:`afforest.chain.stages.ChainResult`), in the package's one palette.

:func:`plot_path` (planting path), :func:`plot_allocation` (merit order and the plan by province and land type,
the study's Fig. 2), :func:`plot_carbon` (yearly sink by pool, Fig. 3), :func:`plot_supply_curve` (supply curves
against the power-sector abatement costs, Fig. 4); :func:`write_figures` writes them as PNG. Each returns a
matplotlib Figure, so a notebook shows it and a script saves it. The functions read the result's attributes
only (they import nothing from the chain).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from afforest.plots.palette import (
    BENCHMARK_STYLES,
    LAND_TYPE_COLOURS,
    PLANTING_STYLES,
    POOL_COLOURS,
    POOL_LABELS,
    SERIES_COLOURS,
    label,
    land_type_colour,
)

__all__ = ["FIGURE_FILES", "plot_allocation", "plot_carbon", "plot_path", "plot_supply_curve", "write_figures"]

FIGURE_FILES = {
    "allocation": "fig2_merit_order.png",
    "carbon": "fig3_sequestration.png",
    "supply_curve": "fig4_supply_curves.png",
    "path": "planting_path.png",
}
"""File name of each figure :func:`write_figures` writes (Figs. 2-4 keep the study's numbering)."""
_DPI = 130
_POOL_ORDER = ("soil", "below_ground_biomass", "above_ground_biomass")
_COST_TICKS_YUAN_PER_T = (50, 100, 200, 500, 1000, 2000, 5000, 10000)
_COST_LIMITS_YUAN_PER_T = (30, 12000)


def _pyplot() -> Any:
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg",) and not _in_notebook():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython  # type: ignore[import-not-found]
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def plot_path(result: Any, ax: Any = None) -> Any:
    """Area afforested and planting rate by year, curves and classes programs (the plan's speed)."""
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4.6))
    else:
        fig = ax.figure
    lu = result.landuse
    start = result.carbon.start_year if result.carbon is not None else 0
    rate_ax = ax.twinx()
    for (rep, path), colour in zip((("curves", lu.curves_path), ("classes", lu.classes_path)), SERIES_COLOURS):
        years = start + path["period_start_yr"].to_numpy()
        step = float(result.scenario.numerics.step_yr)
        # row k holds the area afforested by the end of period k: draw it there, from nothing at the start
        ax.plot(np.r_[start, years + step], np.r_[0.0, path["afforested_area_10k_ha"].to_numpy()], color=colour, lw=1.8,
                label=f"{rep}: area afforested")
        rate_ax.step(years, path["planting_rate_10k_ha_per_yr"], where="post", color=colour, lw=1, ls=":",
                     label=f"{rep}: planting rate")
    ax.axhline(lu.headline_afforested_area_10k_ha, color="grey", ls="--", lw=1,
               label=f"headline area {lu.headline_afforested_area_10k_ha:.2f} ({lu.headline_representation})")
    ax.set_xlabel("year")
    ax.set_ylabel("area afforested (10^4 ha)")
    rate_ax.set_ylabel("planting rate (10^4 ha / yr)")
    handles, labels = ax.get_legend_handles_labels()
    more, more_labels = rate_ax.get_legend_handles_labels()
    ax.legend(handles + more, labels + more_labels, fontsize=8, loc="center right")
    ax.set_title(f"Planting path, scenario {result.scenario.name}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_allocation(result: Any, study_area_10k_ha: float | None = None) -> Any:
    """(a) The merit order of the classes with the fitted marginal curves and the desirable area; (b) the plan
    by province and land type (Fig. 2). ``study_area_10k_ha``: the study's area, annotated beside the package's."""
    plt = _pyplot()
    classes = result.esv.classes
    params = result.landuse.params
    area = result.landuse.headline_afforested_area_10k_ha
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(14, 5.8), gridspec_kw={"width_ratios": [2.2, 1]})
    for row in classes.itertuples():
        ax.bar(row.z_start_10k_ha, row.esv_yuan_per_ha_yr, width=row.area_10k_ha, align="edge",
               color=land_type_colour(row.land_type), edgecolor="white", linewidth=0.4)
    z = np.linspace(0, params.initial_area_10k_ha, 400)
    b_prime = params.unconverted_marginal_esv(params.initial_area_10k_ha - z)
    c_prime = params.afforested_marginal_esv(z)
    threshold = c_prime - params.financial_discount_rate * params.planting_cost_intercept_yuan_per_ha
    ax.plot(z, b_prime, color="black", lw=1.6, label="B'(A0 - z): fitted ESV lost (study)")
    ax.plot(z, threshold, color=BENCHMARK_STYLES["cut_thermal"][0], lw=1.6,
            label="C'(z) - r tau(0): forest ESV net of the planting-cost annuity")
    top = max(classes["esv_yuan_per_ha_yr"].max(), float(np.nanmax(b_prime))) * 1.08
    ax.set_xlim(0, params.initial_area_10k_ha)
    ax.set_ylim(0, top)
    ax.axvline(area, color=BENCHMARK_STYLES["cut_thermal"][0], ls="--", lw=1.2)
    study = f"; study {study_area_10k_ha:.2f}" if study_area_10k_ha is not None else ""
    ax.annotate(f"desirable area {area:.2f}\n({result.landuse.headline_representation}{study})", (area, top * 0.5),
                xytext=(6, 0), textcoords="offset points", fontsize=9, color=BENCHMARK_STYLES["cut_thermal"][0])
    shown = [t for t in LAND_TYPE_COLOURS if t in set(classes["land_type"])]
    handles = [plt.Rectangle((0, 0), 1, 1, color=land_type_colour(t)) for t in shown]
    legend = ax.legend(handles, [label(t) for t in shown], fontsize=8, loc="upper center", ncol=2,
                       title="class (land type; one bar per province)", title_fontsize=8)
    ax.add_artist(legend)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("cumulative afforestable area in merit order, z (10^4 ha)")
    ax.set_ylabel("ESV of the current land use (yuan / ha / yr)")
    ax.set_title("(a) Merit order: land with the lowest ESV is planted first")
    allocation = result.landuse.headline_allocation
    if not allocation.empty:
        wide = allocation.pivot_table(index="province", columns="land_type", values="area_10k_ha", aggfunc="sum").fillna(0)
        wide = wide.loc[wide.sum(axis=1).sort_values().index]
        left = np.zeros(len(wide))
        for land_type in [t for t in LAND_TYPE_COLOURS if t in wide.columns] + [t for t in wide.columns if t not in LAND_TYPE_COLOURS]:
            bx.barh(wide.index, wide[land_type], left=left, color=land_type_colour(land_type), label=label(land_type))
            left += wide[land_type].to_numpy()
        for y, total in enumerate(left):
            bx.text(total + 1, y, f"{total:.1f} ({100 * total / area:.1f} %)", va="center", fontsize=8)
        bx.set_xlim(0, left.max() * 1.35)
    bx.set_xlabel("desirable area (10^4 ha)")
    bx.set_title("(b) Desirable area by province and land type")
    fig.suptitle(f"Fig. 2  Afforestable classes by ESV and the desirable area (scenario {result.scenario.name})", fontsize=12)
    fig.tight_layout()
    return fig


def plot_carbon(result: Any) -> Any:
    """Yearly sink by pool at each r_c: the year-0 assumption stacked by pool, the programs' paths as lines (Fig. 3)."""
    plt = _pyplot()
    carbon = result.carbon
    yearly = carbon.yearly
    rates = list(carbon.carbon_discount_rates)
    fig, axes = plt.subplots(1, len(rates), figsize=(6.5 * len(rates), 5), squeeze=False)
    for ax, rate in zip(axes[0], rates):
        data = yearly[yearly["carbon_discount_rate"] == rate]
        year0 = data[data["planting"] == "year0"]
        wide = year0.pivot(index="year", columns="pool", values="discounted_sink_mt_co2")
        wide.loc[wide.index.max() + 1] = wide.iloc[-1]  # close the last step at the horizon
        ax.stackplot(wide.index, *[wide[p] for p in _POOL_ORDER], step="post", colors=[POOL_COLOURS[p] for p in _POOL_ORDER],
                     labels=[f"{POOL_LABELS[p]} ({carbon.planted_area_10k_ha('year0'):.1f} x 10^4 ha all planted in year 0)"
                             for p in _POOL_ORDER], alpha=0.9)
        peak = float(wide.sum(axis=1).max())
        for planting in ("planned_path", "curves_path"):
            colour, style, name = PLANTING_STYLES[planting]
            line = data[data["planting"] == planting].groupby("year")["discounted_sink_mt_co2"].sum()
            if line.empty:
                continue
            line.loc[line.index.max() + 1] = line.iloc[-1]
            ax.step(line.index, line.to_numpy(), where="post", color=colour, ls=style, lw=1.6,
                    label=f"all pools, {name} ({carbon.planted_area_10k_ha(planting):.1f} x 10^4 ha)")
            peak = max(peak, float(line.max()))
        total = carbon.total_mt_co2("planned_path", rate)
        ax.set_title(f"r_c = {rate:.0%}: plan stores {total:.1f} Mt CO2 by {carbon.end_year:g}")
        ax.set_xlabel(f"year (planting from {carbon.start_year})")
        ax.set_ylabel("yearly sink (Mt CO2 / yr" + (f", discounted to {carbon.start_year})" if rate > 0 else ")"))
        ax.set_xlim(carbon.start_year, carbon.end_year)
        ax.set_ylim(0, 1.45 * peak if peak > 0 else 1.0)  # room for the legend
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(alpha=0.3)
    fig.suptitle(f"Fig. 3  Yearly carbon sink by pool (scenario {result.scenario.name})", fontsize=12)
    fig.tight_layout()
    return fig


def plot_supply_curve(result: Any) -> Any:
    """(a) area and (b) carbon against the marginal cost at each r_c, with each abatement benchmark (Fig. 4)."""
    plt = _pyplot()
    area = result.supply.plan_area_10k_ha
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.8))
    for i, (rate, curve) in enumerate(result.supply.curves.items()):
        colour, name = SERIES_COLOURS[i % len(SERIES_COLOURS)], f"r_c = {rate:.0%}"
        y = np.r_[curve["marginal_cost_yuan_per_t_co2"].to_numpy(), curve["marginal_cost_yuan_per_t_co2"].iloc[-1]]
        axes[0].step(np.r_[0.0, curve["area_end_10k_ha"].to_numpy()], y, where="post", color=colour, lw=1.8, label=name)
        axes[1].step(np.r_[0.0, curve["carbon_end_mt_co2"].to_numpy()], y, where="post", color=colour, lw=1.8, label=name)
        cut = float(np.interp(area, curve["area_end_10k_ha"], curve["carbon_end_mt_co2"]))
        axes[1].axvline(cut, color=colour, ls=":", lw=1)
    axes[0].axvline(area, color="grey", ls=":", lw=1, label=f"plan's area {area:.1f}")
    benchmarks = result.cost_effectiveness.benchmarks if result.cost_effectiveness is not None else {}
    for ax in axes:
        for option, price in benchmarks.items():
            colour, style, name = BENCHMARK_STYLES.get(option, ("grey", "--", label(option)))
            ax.axhline(price, color=colour, ls=style, lw=1.2, label=f"{name}: {price:.0f} yuan/t")
        ax.set_ylabel("marginal cost of carbon (yuan / t CO2, log scale)")
        ax.set_yscale("log")
        ax.set_yticks(_COST_TICKS_YUAN_PER_T, [f"{t:,}" for t in _COST_TICKS_YUAN_PER_T])
        ax.set_ylim(*_COST_LIMITS_YUAN_PER_T)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="lower right")
    axes[0].set_xlabel("cumulative afforested area (10^4 ha)")
    axes[0].set_title("(a) Area - marginal cost curve")
    end = f"by {result.carbon.end_year:g}" if result.carbon is not None else ""
    axes[1].set_xlabel(f"cumulative carbon sink {end} (Mt CO2; discounted at r_c)")
    axes[1].set_title("(b) Carbon supply curve (dotted: the plan's area)")
    fig.suptitle(f"Fig. 4  Marginal cost of afforestation carbon vs power-sector abatement costs and the carbon price "
                 f"(scenario {result.scenario.name})", fontsize=12)
    fig.tight_layout()
    return fig


def write_figures(
    result: Any, output_dir: str | Path, *, study_area_10k_ha: float | None = None, include_path: bool = False
) -> list[Path]:
    """Figs. 2-4 (and with ``include_path`` the planting path) as PNG files in ``output_dir``."""
    plt = _pyplot()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures = [
        ("allocation", lambda: plot_allocation(result, study_area_10k_ha)),
        ("carbon", lambda: plot_carbon(result)),
        ("supply_curve", lambda: plot_supply_curve(result)),
    ]
    if include_path:
        figures.append(("path", lambda: plot_path(result)))
    written = []
    for name, draw in figures:
        fig = draw()
        path = out / FIGURE_FILES[name]
        fig.savefig(path, dpi=_DPI)
        plt.close(fig)
        written.append(path)
    return written
