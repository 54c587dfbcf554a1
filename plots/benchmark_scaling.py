"""The figure of the cell-level benchmark (``afforest bench scale --plot``): time and memory against cells."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["plot_scaling"]


def plot_scaling(table: pd.DataFrame, path: str, paths: Sequence[str] | None = None) -> None:
    """Log-log figure of total time and peak memory against the number of cells, one line per solution path
    (``paths``, default :data:`afforest.chain.benchmark.PATHS` order as they appear in ``table``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(paths) if paths is not None else list(dict.fromkeys(table["path"]))
    fig, (ax_time, ax_memory) = plt.subplots(1, 2, figsize=(10, 4))
    for name in names:
        rows = table[(table["path"] == name) & table["total_s"].notna()]
        if rows.empty:
            continue
        ax_time.loglog(rows["n_cells"], rows["total_s"], marker="o", label=name)
        ax_memory.loglog(rows["n_cells"], rows["peak_rss_mb"], marker="o", label=name)
    ax_time.set(xlabel="cells (40 one-year periods)", ylabel="build + load + solve, s (median)", title="time")
    ax_memory.set(xlabel="cells (40 one-year periods)", ylabel="peak RSS of the process, MB", title="memory")
    for ax in (ax_time, ax_memory):
        ax.grid(True, which="both", alpha=0.3)
    ax_time.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
