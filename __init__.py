"""afforest: is planting trees a cost-effective way to remove carbon, where, how fast and at what price.

The package reproduces and generalises Wang et al. (2024) for Northwest China. Data flows one way:
``afforest.data`` (tables of the study) -> ``afforest.model`` (suitability overlay, ESV, steady state, Pyomo
dynamic programs, carbon, supply curve) -> ``afforest.solvers`` (Ipopt, HiGHS) -> ``afforest.chain`` (the
stages in order, sweeps, reports; results as pandas tables) -> ``afforest.plots`` (figures, one palette) and
``afforest.cli`` (the ``afforest`` command, whose subcommands import the heavy stacks only when they run).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("afforest")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
