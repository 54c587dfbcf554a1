"""``python -m afforest`` runs the command-line interface."""

from afforest.cli import main

raise SystemExit(main())
