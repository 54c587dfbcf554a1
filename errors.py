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


def check_output_dir(path: str | Path, *, option: str = "--output") -> Path:
    """Refuse, before any work and without creating anything, an output folder that cannot be used: an
    existing regular file, a path below a regular file, or a folder that cannot be created or written to.

    Raises :class:`InputError` naming ``option`` and the path; returns the absolute path.
    """
    import os

    out = Path(path).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise InputError("is an existing file, not a folder; choose a folder for the outputs (it is created if "
                         "missing)", field=option, value=str(out))
    existing = next(p for p in (out, *out.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        raise InputError(f"cannot be created: {existing} is a file, not a folder", field=option, value=str(out))
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "the folder is not writable" if existing == out else f"{existing} is not writable"
        raise InputError(f"{what}; choose a folder you can write to", field=option, value=str(out))
    return out


def prepare_output_dir(path: str | Path, *, option: str = "--output") -> Path:
    """:func:`check_output_dir`, then create the folder and write a probe file into it (as root, permission bits
    say nothing, and a read-only or virtual file system shows only on writing). Commands call it first, so a bad
    ``--output`` fails in milliseconds instead of after the computation. Raises :class:`InputError` naming
    ``option`` and the path.
    """
    import os

    out = check_output_dir(path, option=option)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder ({exc.strerror or exc})", field=option, value=str(out)) from None
    probe = out / f".afforest-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write into the folder ({exc.strerror or exc})", field=option, value=str(out)) from None
    return out
