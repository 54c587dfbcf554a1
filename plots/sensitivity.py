"""Figures of a sensitivity analysis (:mod:`afforest.chain.sensitivity`), one panel per output:

* ``sensitivity_sobol.png``: first-order (S1) and total (ST) Sobol' indices of each input, with their bootstrap
  confidence intervals; ST - S1 is the share of the variance that the input causes through interactions.
* ``sensitivity_morris.png``: the Morris plane, mu* (mean absolute elementary effect, with its interval) against
  sigma (their spread): far right matters, high up acts non-linearly or through interactions.
* ``sensitivity_tornado.png``: one-at-a-time ranges, each input moved from a low to a high quantile with the
  others at their medians, sorted by swing.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from afforest.plots.palette import OTHER_COLOUR, SERIES_COLOURS, label

__all__ = ["plot_morris", "plot_sensitivity", "plot_sobol", "plot_tornado"]

_DPI = 130
_FLAT = 1e-7
"""Swings at most this share of the output are solver round-off: the panel is drawn flat (+-1 %), not magnified
(the same bound as afforest.chain.sensitivity.ROUND_OFF_SPREAD)."""


_TWO_COLUMNS_UP_TO = 8
_THREE_COLUMNS_UP_TO = 18
"""Panels per figure up to which 2 (then 3) columns are used, 4 above: issue 14's 24 outputs in 6 rows of 4 instead of
12 rows of 2 (a figure one can read on a screen)."""


_PANEL_IN = (4.3, 2.3)
"""Width and height of one panel's axes, inches."""
_MARGIN_IN = {"left": 2.8, "right": 0.25, "top": 0.8, "bottom": 0.55, "between_columns": 2.9, "between_rows": 0.9}
"""Fixed room around the panels, inches: the input names left of each panel (up to ~45 characters at 8 pt, e.g. "planting cost slope yuan per ha per 10k ha yr"), the
figure's title and the first row's panel titles on top, a panel's x label below it and the next row's title. Fixed
rather than measured (``tight_layout`` measures every text of every panel: ~1-2 s of the ~3 s a 24-panel figure takes,
paid at the end of every analysis)."""


_NOTE_CHARACTERS = 75
"""Characters per line of a panel's note (7 pt in a 4.3 in wide panel)."""


def _short(key: str) -> str:
    return label(key.rpartition(".")[2])


def _grid(n: int) -> tuple[Any, np.ndarray]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 1 if n == 1 else 2 if n <= _TWO_COLUMNS_UP_TO else 3 if n <= _THREE_COLUMNS_UP_TO else 4
    rows = math.ceil(n / cols)
    (panel_w, panel_h), m = _PANEL_IN, _MARGIN_IN
    width = m["left"] + cols * panel_w + (cols - 1) * m["between_columns"] + m["right"]
    height = m["top"] + rows * panel_h + (rows - 1) * m["between_rows"] + m["bottom"]
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False)
    fig.subplots_adjust(left=m["left"] / width, right=1 - m["right"] / width, top=1 - m["top"] / height,
                        bottom=m["bottom"] / height, wspace=m["between_columns"] / panel_w,
                        hspace=m["between_rows"] / panel_h)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
    return path


def _note(ax: Any, frame: pd.DataFrame) -> None:
    note = str(frame["note"].iloc[0]) if "note" in frame and len(frame) else ""
    if note:  # wrapped to the panel's width (~75 characters of 7 pt in 4.3 in)
        ax.text(0.01, 0.01, textwrap.fill(note, _NOTE_CHARACTERS), transform=ax.transAxes, fontsize=7,
                color=OTHER_COLOUR, va="bottom")


def plot_sobol(indices: pd.DataFrame, path: Path, title: str = "", conf_level: float = 0.95) -> Path:
    """S1 and ST of each input for every output, bars with their confidence intervals."""
    outputs = list(dict.fromkeys(indices["output"]))
    fig, axes = _grid(len(outputs))
    for ax, output in zip(axes, outputs):
        frame = indices[indices["output"] == output]
        y = np.arange(len(frame))
        for shift, (column, name, colour) in zip((-0.2, 0.2), (("S1", "first order S1", SERIES_COLOURS[0]),
                                                                  ("ST", "total ST", SERIES_COLOURS[1]))):
            ax.barh(y + shift, frame[column], height=0.38, xerr=frame[f"{column}_conf"], color=colour, label=name,
                    error_kw={"ecolor": OTHER_COLOUR, "capsize": 2})
        ax.set_yticks(y, [_short(k) for k in frame["input"]], fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0.0, color=OTHER_COLOUR, lw=0.8)
        ax.set_title(label(output), fontsize=9)
        ax.set_xlabel("share of the output's variance", fontsize=8)
        _note(ax, frame)
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Sobol' indices with {100 * conf_level:g} % bootstrap intervals" + (f" ({title})" if title else ""))
    return _save(fig, path)


def plot_morris(indices: pd.DataFrame, path: Path, title: str = "") -> Path:
    """mu* against sigma for every output; the dotted lines are sigma / mu* = 0.1, 0.5 and 1."""
    outputs = list(dict.fromkeys(indices["output"]))
    fig, axes = _grid(len(outputs))
    for ax, output in zip(axes, outputs):
        frame = indices[indices["output"] == output]
        ax.errorbar(frame["mu_star"], frame["sigma"], xerr=frame["mu_star_conf"], fmt="o", color=SERIES_COLOURS[0],
                    ecolor=OTHER_COLOUR, capsize=2, ms=4)
        for row in frame.itertuples():
            if np.isfinite(row.mu_star):
                ax.annotate(_short(row.input), (row.mu_star, row.sigma), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")
        top = float(np.nanmax(np.r_[frame["mu_star"] + frame["mu_star_conf"].fillna(0), 0.0])) or 1.0
        grid = np.linspace(0.0, 1.05 * top, 2)
        for ratio in (0.1, 0.5, 1.0):
            ax.plot(grid, ratio * grid, ls=":", lw=0.8, color=OTHER_COLOUR)
        ax.set_xlim(0.0, 1.05 * top)
        ax.set_ylim(bottom=0.0)
        ax.set_xlabel("mu* (output units per unit of input quantile)", fontsize=8)
        ax.set_ylabel("sigma", fontsize=8)
        ax.set_title(label(output), fontsize=9)
        _note(ax, frame)
    fig.suptitle("Morris screening: mu* against sigma" + (f" ({title})" if title else ""))
    return _save(fig, path)


def plot_tornado(oat: pd.DataFrame, path: Path, title: str = "", quantiles: tuple[float, float] = (0.05, 0.95)) -> Path:
    """One-at-a-time swings around the all-medians run, widest on top."""
    outputs = list(dict.fromkeys(oat["output"]))
    fig, axes = _grid(len(outputs))
    lo, hi = quantiles
    for ax, output in zip(axes, outputs):
        frame = oat[oat["output"] == output].sort_values("swing", ascending=True, na_position="first")
        centre = float(frame["y_centre"].iloc[0]) if len(frame) else math.nan
        y = np.arange(len(frame))
        ax.barh(y, frame["y_low"] - centre, left=centre, color=SERIES_COLOURS[2], label=f"input at its {lo:.0%} quantile")
        ax.barh(y, frame["y_high"] - centre, left=centre, color=SERIES_COLOURS[3], label=f"input at its {hi:.0%} quantile")
        ax.set_yticks(y, [_short(k) for k in frame["input"]], fontsize=8)
        if np.isfinite(centre):
            ax.axvline(centre, color=OTHER_COLOUR, lw=0.8)
            if float(np.nanmax(np.r_[frame["swing"].to_numpy(float), 0.0])) <= _FLAT * abs(centre):
                half = 0.01 * abs(centre) or 1.0  # round-off swings drawn flat at +-1 %, not magnified
                ax.set_xlim(centre - half, centre + half)
                ax.text(0.01, 0.01, "flat: no input moves it beyond solver round-off", transform=ax.transAxes,
                        fontsize=7, color=OTHER_COLOUR, va="bottom")
        ax.set_title(label(output), fontsize=9)
        ax.set_xlabel("output (the line: every input at its median)", fontsize=8)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle("One-at-a-time ranges" + (f" ({title})" if title else ""))
    return _save(fig, path)


def plot_sensitivity(result: Any, folder: str | Path, title: str = "") -> list[Path]:
    """The figures of a :class:`~afforest.chain.sensitivity.SensitivityResult`, written into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if result.design.method == "sobol":
        written.append(plot_sobol(result.indices, folder / "sensitivity_sobol.png", title, result.conf_level))
    else:
        written.append(plot_morris(result.indices, folder / "sensitivity_morris.png", title))
    written.append(plot_tornado(result.oat, folder / "sensitivity_tornado.png", title, result.design.oat_quantiles))
    return written
