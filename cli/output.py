"""What the command line prints: JSON that is always valid (NaN and infinities become null)."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

__all__ = ["print_json", "finite"]


def _json_default(value: Any) -> Any:
    """numpy scalars as Python numbers (numpy is only imported by the commands that compute them)."""
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        return _json_default(item()) if isinstance(item(), float) else item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def finite(payload: Any) -> Any:
    """``payload`` with every NaN or infinite float (numpy's too) as None: JSON has no such numbers."""
    if isinstance(payload, dict):
        return {key: finite(value) for key, value in payload.items()}
    if isinstance(payload, (list, tuple)):
        return [finite(value) for value in payload]
    if type(payload).__module__ == "numpy" and callable(getattr(payload, "item", None)):
        payload = payload.item()
    if isinstance(payload, float) and not math.isfinite(payload):
        return None
    return payload


def print_json(payload: Any) -> None:
    """One JSON document on stdout, indented."""
    print(json.dumps(finite(payload), indent=2, default=_json_default, allow_nan=False), file=sys.stdout)
