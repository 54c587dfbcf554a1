"""Command line of afforest: ``afforest --help`` lists the commands (:mod:`afforest.cli.main`)."""

from __future__ import annotations

from afforest.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
