"""Build PyNumero's ASL library (needed by Pyomo's ``cyipopt`` interface), once.

``python -m afforest.solvers.pynumero_build`` does nothing when the library already loads, and otherwise
compiles it against the AMPL Solver Library headers of Debian's ``libamplsolver-dev`` into
``~/.pyomo/lib``. The Makefile runs it after installing that package.

Pyomo caches a failed look-up of the library inside a process, so whether the freshly built library loads
is checked in a new Python process (:func:`asl_loads_in_new_process`), never in this one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

DEFAULT_INCLUDE = Path("/usr/include/ampl-netlib-solvers")


def asl_available() -> bool:
    from pyomo.contrib.pynumero.asl import AmplInterface

    return bool(AmplInterface.available())


def asl_loads_in_new_process(timeout_s: float = 120.0) -> tuple[bool, str]:
    """Whether PyNumero's ASL library loads in a fresh interpreter (this one may hold a cached failure)."""
    probe = "from pyomo.contrib.pynumero.asl import AmplInterface as A; raise SystemExit(0 if A.available() else 1)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=timeout_s)
    return done.returncode == 0, (done.stderr or done.stdout).strip()


def _find_library(include: Path) -> Path | None:
    for folder in (Path("/usr/lib") / sub for sub in ("x86_64-linux-gnu", "aarch64-linux-gnu", ".")):
        candidate = folder / "libamplsolver.so"
        if candidate.exists():
            return candidate
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--include", type=Path, default=DEFAULT_INCLUDE, help="folder holding asl.h")
    parser.add_argument("--library", type=Path, default=None, help="path of libamplsolver.so")
    args = parser.parse_args(argv)
    if asl_available():
        print("PyNumero ASL library: present")
        return 0
    library = args.library or _find_library(args.include)
    if not (args.include / "asl.h").exists() or library is None:
        print(
            f"PyNumero ASL library: cannot build, no asl.h in {args.include} or no libamplsolver.so; "
            "install Debian's libamplsolver-dev (apt-get install libamplsolver-dev cmake g++)",
            file=sys.stderr,
        )
        return 1
    from pyomo.contrib.pynumero.build import build_pynumero

    build_pynumero([f"-DASL_INCLUDE_DIR={args.include}", f"-DASL_LIBRARY={library}"])
    loads, detail = asl_loads_in_new_process()
    if not loads:
        print(f"PyNumero ASL library: built but does not load in a new process: {detail}", file=sys.stderr)
        return 1
    print("PyNumero ASL library: built")
    return 0


if __name__ == "__main__":
    sys.exit(main())
