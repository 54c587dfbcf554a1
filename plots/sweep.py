"""Figures of a sweep's results table: analytic vs numerical afforested area, and sensitivities to r and r_c.

Suspect points (``status == "suspect"``) are drawn and counted, in the palette's suspect style.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from afforest.chain.sweep_output import KEPT_STATUSES
from afforest.errors import InputError
from afforest.plots.palette import SUSPECT_STYLE

__all__ = ["plot_comparison"]

_DPI = 130
_FLAT_SPREAD = 0.02
"""A sensitivity whose area varies by less than this share of its mean is drawn flat (+-1 %), not magnified."""


def plot_comparison(results: pd.DataFrame, output: str | Path) -> list[Path]:
    """Figures of a sweep: analytic vs numerical afforested area, and sensitivities to r and r_c.

    Suspect points (``status == "suspect"``) are drawn and counted, ringed by a red open triangle.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    usable = results[results["status"].isin(KEPT_STATUSES)]
    if usable.empty:
        raise InputError("no successful points to plot", field="status")
    suspect = usable[usable["status"] == "suspect"]
    tag = f", {len(suspect)} suspect" if len(suspect) else ""
    suspect_label = f"suspect ({len(suspect)} point{'' if len(suspect) == 1 else 's'})"
    written: list[Path] = []

    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    lo = float(min(usable["analytic_afforested_area_10k_ha"].min(), usable["numeric_afforested_area_10k_ha"].min()))
    hi = float(max(usable["analytic_afforested_area_10k_ha"].max(), usable["numeric_afforested_area_10k_ha"].max()))
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.6", lw=1, label="analytic = numerical")
    ax.scatter(usable["analytic_afforested_area_10k_ha"], usable["numeric_afforested_area_10k_ha"], s=18, label="curves NLP (Ipopt)")
    ax.scatter(usable["analytic_afforested_area_10k_ha"], usable["classes_afforested_area_10k_ha"], s=18, marker="x", label="classes QP (HiGHS)")
    if len(suspect):
        for column in ("numeric_afforested_area_10k_ha", "classes_afforested_area_10k_ha"):
            ax.scatter(suspect["analytic_afforested_area_10k_ha"], suspect[column], **SUSPECT_STYLE,
                       label=suspect_label if column.startswith("numeric") else None)
    ax.set_xlabel("analytic steady state, Eq. 3 (10^4 ha afforested)")
    ax.set_ylabel("dynamic program at the horizon (10^4 ha afforested)")
    ax.set_title(f"Analytic vs numerical afforested area ({len(usable)} points{tag})")
    ax.legend()
    fig.tight_layout()
    path = folder / "analytic_vs_numeric.png"
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
    written.append(path)

    for driver, label in (("financial_discount_rate", "financial discount rate r (1/yr)"), ("carbon_discount_rate", "carbon discount rate r_c (1/yr)")):
        if driver not in usable or usable[driver].nunique() < 2:
            continue
        series = usable.groupby(driver)[
            [c for c in ("analytic_afforested_area_10k_ha", "numeric_afforested_area_10k_ha", "average_carbon_cost_yuan_per_t_co2") if c in usable]
        ].mean()
        has_cost = "average_carbon_cost_yuan_per_t_co2" in series
        fig, axes = plt.subplots(1, 2 if has_cost else 1, figsize=(11 if has_cost else 6.4, 4.6), squeeze=False)
        ax = axes[0, 0]
        ax.plot(series.index, series["analytic_afforested_area_10k_ha"], marker="o", label="analytic (Eq. 3)")
        ax.plot(series.index, series["numeric_afforested_area_10k_ha"], marker="x", ls="--", label="curves NLP")
        if len(suspect):
            ax.scatter(suspect[driver], suspect["numeric_afforested_area_10k_ha"], **SUSPECT_STYLE, label=suspect_label)
        ax.set_xlabel(label)
        ax.set_ylabel("desirable area (10^4 ha)")
        ax.ticklabel_format(axis="y", useOffset=False)
        middle = float(series["analytic_afforested_area_10k_ha"].mean())
        low, high = ax.get_ylim()
        if high - low < _FLAT_SPREAD * middle:  # flat: show it flat, not as noise magnified by autoscaling
            ax.set_ylim(0.99 * middle, 1.01 * middle)
        ax.legend()
        if has_cost:
            ax = axes[0, 1]
            ax.plot(series.index, series["average_carbon_cost_yuan_per_t_co2"], marker="o", color="tab:red")
            if len(suspect):
                ax.scatter(suspect[driver], suspect["average_carbon_cost_yuan_per_t_co2"], **{**SUSPECT_STYLE, "edgecolors": "black"},
                           label=suspect_label)
                ax.legend()
            ax.set_xlabel(label)
            ax.set_ylabel("average carbon cost (yuan / t CO2)")
        others = len(usable) // max(series.shape[0], 1)
        fig.suptitle(f"Sensitivity to {label.split(' (')[0]}" + (f" (mean over {others} values of the other swept inputs)" if others > 1 else "") + tag)
        fig.tight_layout()
        path = folder / f"sensitivity_{driver}.png"
        fig.savefig(path, dpi=_DPI)
        plt.close(fig)
        written.append(path)
    return written
