"""Exceptions of afforest: each names where the problem is, so nothing has to be guessed."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class InputError(ValueError):
    """Bad input data or scenario: names the file, the row (if any), the field and the value."""

    def __init__(
        self,
        reason: str,
        *,
        file: str | Path | None = None,
        field: str | None = None,
        value: Any = None,
        row: int | None = None,
    ) -> None:
        self.reason = reason
        self.file = str(file) if file is not None else None
        self.field = field
        self.value = value
        self.row = row
        where = []
        if self.file is not None:
            where.append(self.file)
        if row is not None:
            where.append(f"line {row}")
        if field is not None:
            where.append(f"field {field!r}")
        if value is not None:
            where.append(f"value {value!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {reason}" if prefix else reason)


class SolverError(RuntimeError):
    """A solver is missing, failed, or stopped without a usable optimum."""
