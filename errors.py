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


class ReportError(RuntimeError):
    """The reproduction report is inconsistent (a gap above the threshold without an explanation, a figure
    named twice): a defect of the report, never of the user's input. The message names the figures."""


def prepare_output_dir(path: str | Path, *, option: str = "--output") -> Path:
    """Check (and create) the output folder ``path`` before any work is done; return it as a :class:`Path`.

    Refuses, with an :class:`InputError` that names ``option`` and the path: a path below a regular file,
    an existing regular file, a folder that cannot be created (permission denied, read-only or virtual file
    system) and a folder that exists but is not writable. Commands call it first, so a bad ``--output`` fails
    in milliseconds instead of after the computation.
    """
    import os

    out = Path(path).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError("is an existing file, not a folder; choose a folder for the outputs",
                         file=out, field=option)
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"cannot be created: {parent} is a file, not a folder", file=out, field=option)
            break
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder ({exc.strerror or exc})", file=out, field=option) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError("the folder is not writable", file=out, field=option)
    probe = out / f".afforest-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write into the folder ({exc.strerror or exc})", file=out, field=option) from None
    return out
