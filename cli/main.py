"""The ``afforest`` command: a parser whose subcommands are registered by light modules of this package.

Every subcommand module (``afforest.cli.<name>``) defines ``register(subparsers)``; its handlers import the chain,
the solvers, rasters and plotting only when they run, so ``afforest --help`` imports none of them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence

import afforest
from afforest.errors import InputError, ReportError, SolverError

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

_DESCRIPTION = """\
afforest: is planting trees a cost-effective carbon sink, where, how fast and at what price?
Reproduces and generalises Wang et al. (2024) for Northwest China.

Start with `afforest solve` (the study's baseline): it prints the analytic steady state of Eq. 3,
the long-run afforested area of the dynamic program in both representations (fitted ESV curves,
solved by Ipopt; merit-order land classes, solved by HiGHS), the planting path and where the
desirable area lies by province and land type."""



COMMAND_MODULES: tuple[str, ...] = (
    "afforest.cli.landuse",
    "afforest.cli.sweep",
    "afforest.cli.prepare",
    "afforest.cli.reproduce",
    "afforest.cli.carbon",
    "afforest.cli.report",
    "afforest.cli.cells",
    "afforest.cli.curves",
    "afforest.cli.sensitivity",
    "afforest.cli.supply_curve",
)
"""Modules that add subcommands, in the order of ``afforest --help``; one line here per module."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="afforest", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"afforest {afforest.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


class _StderrHandler(logging.StreamHandler):
    """Log records to whatever ``sys.stderr`` is when they are emitted (redirections and captures apply)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(levelname)s (%(name)s): %(message)s"))

    @property  # type: ignore[override]
    def stream(self):  # noqa: D401 - logging reads and sets this attribute
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _route_logs_to_stderr() -> None:
    """Every library's log records go to stderr, never stdout (so ``--json`` output stays parseable).

    Pyomo logs through its own handler on ``sys.stdout``, which stands aside as soon as the root logger has a
    handler; one root handler on stderr therefore catches Pyomo's warnings and everybody else's.
    """
    root = logging.getLogger()
    if not any(isinstance(handler, _StderrHandler) for handler in root.handlers):
        root.addHandler(_StderrHandler())


def _silence_stdout() -> None:
    """Point stdout at the null device, so Python's final flush of what is left cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _exit_on_broken_pipe() -> int:
    """The reader of stdout has gone (``afforest reproduce | head -1``): stop quietly, as Unix tools do."""
    _silence_stdout()
    return 128 + signal.SIGPIPE


def main(argv: Sequence[str] | None = None) -> int:
    _route_logs_to_stderr()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        try:
            code = int(args.func(args))
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
            return code
        except (InputError, SolverError) as exc:
            print(f"afforest: error: {exc}", file=sys.stderr)
            return 2
        except ReportError as exc:
            print(f"afforest: internal error in the report: {exc}", file=sys.stderr)
            return 1
    except BrokenPipeError:
        return _exit_on_broken_pipe()
    except KeyboardInterrupt:
        print("afforest: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except OSError as exc:
        # last line of defence for outputs: permission denied, a path below a regular file, a full disk
        try:
            sys.stdout.flush()
        except (OSError, ValueError):  # stdout itself failed (e.g. > /dev/full): do not fail again at exit
            _silence_stdout()
        if exc.filename is not None:
            message = f"{exc.filename}: {exc.strerror or exc}"
        else:  # a write to an open file (the path is not known here) or to standard output
            message = f"{exc.strerror or exc} (while writing the outputs or standard output)"
        print(f"afforest: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
