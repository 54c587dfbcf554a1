"""Plain JSON from the package's results: NaN and infinities become null, numpy scalars Python numbers.

One helper for every writer of JSON (the command line's output, ``afforest report``'s report.json, ``solve
--output``'s summary.json). It imports nothing heavy, so the light commands can use it.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["finite", "json_default"]


def finite(payload: Any) -> Any:
    """``payload`` with every NaN or infinite float (numpy's too) as None and every mapping key as text: JSON has
    no such numbers, and its keys are strings."""
    if isinstance(payload, dict):
        return {key if isinstance(key, str) else str(key): finite(value) for key, value in payload.items()}
    if isinstance(payload, (list, tuple)):
        return [finite(value) for value in payload]
    if type(payload).__module__ == "numpy" and callable(getattr(payload, "item", None)):
        payload = payload.item()
    if isinstance(payload, float) and not math.isfinite(payload):
        return None
    return payload


def json_default(value: Any) -> Any:
    """``json.dumps(default=...)`` for what :func:`finite` leaves: numpy arrays' scalars as numbers, else text
    (paths, enums, timestamps)."""
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        return finite(item())
    return str(value)
