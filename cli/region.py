"""``--region DIR``: the option every command that reads inputs takes (docs/regions.md).

Light at import (``afforest --help`` imports no data or solver module): the region is read when a command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_region_option", "region_of", "scenario_with_region"]

REGION_HELP = ("the region whose data to read: a folder holding region.toml, or a bundled region's name "
               "(northwest_china, the study's and the default; example_basin, synthetic); see docs/regions.md. "
               "Overrides the scenario's inputs.region")


def add_region_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--region DIR`` to ``parser``."""
    parser.add_argument("--region", metavar="DIR", default=None, help=REGION_HELP)


def region_of(args: argparse.Namespace) -> str | None:
    """The ``--region`` given (None: not given)."""
    return getattr(args, "region", None)


def scenario_with_region(scenario: str | Path, args: argparse.Namespace) -> Any:
    """The scenario ``scenario`` (a shipped name or a path) reading ``--region``'s data when it is given."""
    from afforest.scenarios import load_scenario

    return load_scenario(scenario).with_region(region_of(args))
