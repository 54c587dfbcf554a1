"""Benchmark: cell-level planning problems of 10^2 to 10^5 cells x 40 years, four solution paths.

Run: `make bench-scale` or `.venv/bin/python bench/scale.py [--sizes 100,1000,10000,100000] [--csv]`
(the same options as `afforest bench scale --help`). Prints, per size and path (Pyomo builder, fast array
path, the highspy floor, price decomposition), variables, build / load / solve times, peak memory, the
certified objective and the ratios to the floor; each figure a median of runs in fresh processes.
About 45 minutes on 2 cores, most of it the Pyomo path at 10^4 cells; see docs/performance.md.
"""

from __future__ import annotations

import sys

from afforest.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "scale", *(sys.argv[1:] or ["--sizes", "100,1000,10000,100000"])]))
