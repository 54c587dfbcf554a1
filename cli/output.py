"""What the command line prints: JSON that is always valid (NaN and infinities become null)."""

from __future__ import annotations

import json
import sys
from typing import Any

from afforest.jsonsafe import finite, json_default

__all__ = ["print_json"]


def print_json(payload: Any) -> None:
    """One JSON document on stdout, indented."""
    print(json.dumps(finite(payload), indent=2, default=json_default, allow_nan=False), file=sys.stdout)
