"""Start-up time of the light commands: how long `afforest --help`, `afforest scenarios` and `afforest steady-state`
take in a fresh process, against `python -c pass` measured in the same run, and which heavy modules each imports.

Each command runs ``--runs`` times as its own process (the console script ``afforest`` next to this Python, or
``python -m afforest``), interleaved with the baseline so that a change in the machine's load shows in both; the
table gives the median and the minimum wall time and the median minus the baseline's median (the cost of
afforest itself). A second, untimed run of each command in a probe reports which of the heavy modules it left
in ``sys.modules`` (tests/test_architecture.py holds pyomo, dask, rasterio, xarray and matplotlib at zero).

    python bench/startup.py              # 9 runs of each
    python bench/startup.py --runs 21 --json
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS: tuple[tuple[str, ...], ...] = (("--help",), ("scenarios",), ("steady-state",))
"""The commands that should answer at once."""
HEAVY_MODULES: tuple[str, ...] = (
    "pyomo", "dask", "rasterio", "xarray", "matplotlib", "scipy", "pandas", "numpy", "pydantic",
)
"""Modules reported when a command imports them (the first five are forbidden to the light commands)."""
DEFAULT_RUNS = 9
TIMEOUT_S = 300

PROBE = """
import contextlib, io, json, sys
from afforest.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        code = main(json.loads(sys.argv[1]))
    except SystemExit as stop:
        code = stop.code
print(json.dumps({"code": code, "modules": len(sys.modules),
                  "heavy": [m for m in json.loads(sys.argv[2]) if m in sys.modules]}))
"""


def command_line(argv: tuple[str, ...]) -> list[str]:
    """How a user starts ``afforest argv``: the console script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("afforest")
    if script.exists():
        return [str(script), *argv]
    found = shutil.which("afforest")
    return [found, *argv] if found else [sys.executable, "-m", "afforest", *argv]


def wall_time_s(cmd: list[str]) -> float:
    """Wall time of one fresh process (output discarded); a failing command stops the benchmark."""
    start = time.perf_counter()
    run = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=TIMEOUT_S)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited with {run.returncode}: {run.stderr.strip()}")
    return elapsed


def imported(argv: tuple[str, ...]) -> dict:
    """Which heavy modules ``afforest argv`` leaves in ``sys.modules``, and how many modules in all."""
    run = subprocess.run([sys.executable, "-c", PROBE, json.dumps(list(argv)), json.dumps(HEAVY_MODULES)],
                         capture_output=True, text=True, timeout=TIMEOUT_S)
    if run.returncode != 0:
        raise SystemExit(f"probe of afforest {' '.join(argv)} failed: {run.stderr.strip()}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def measure(runs: int) -> list[dict]:
    """Rows of the table: the baseline first, then each command."""
    cases = {"python -c pass": [sys.executable, "-c", "pass"]}
    cases |= {"afforest " + " ".join(argv): command_line(argv) for argv in COMMANDS}
    times: dict[str, list[float]] = {name: [] for name in cases}
    for name, cmd in cases.items():  # warm the file cache once, untimed
        wall_time_s(cmd)
    for _ in range(runs):
        for name, cmd in cases.items():
            times[name].append(wall_time_s(cmd))
    base = statistics.median(times["python -c pass"])
    rows = []
    for (name, samples), argv in zip(times.items(), (None, *COMMANDS)):
        probe = imported(argv) if argv else {"heavy": [], "modules": None}
        rows.append({
            "command": name,
            "median_s": statistics.median(samples),
            "min_s": min(samples),
            "over_python_s": statistics.median(samples) - base,
            "modules": probe["modules"],
            "heavy_modules": probe["heavy"],
            "runs": len(samples),
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help=f"processes per command (default {DEFAULT_RUNS})")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    rows = measure(args.runs)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"start-up wall time, {args.runs} fresh processes each ({sys.executable})\n")
    print(f"{'command':<26}{'median s':>10}{'min s':>8}{'over pass s':>13}{'modules':>9}  heavy modules imported")
    for row in rows:
        modules = "" if row["modules"] is None else str(row["modules"])
        print(f"{row['command']:<26}{row['median_s']:>10.3f}{row['min_s']:>8.3f}{row['over_python_s']:>13.3f}"
              f"{modules:>9}  {', '.join(row['heavy_modules']) or '-'}")


if __name__ == "__main__":
    main()
