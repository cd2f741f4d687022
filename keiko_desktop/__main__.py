"""`python -m keiko_desktop` (and the bundle's `keiko`) runs the `keiko` command; the bundle's
children of Keiko itself (`keiko --run-module MODULE`, keiko_desktop/frozen.py) run first."""

import sys

from keiko_desktop.frozen import run_child_module

child = run_child_module(sys.argv)
if child is not None:
    raise SystemExit(child)

from keiko_desktop.cli import main  # noqa: E402 (after the child check: a child needs no CLI)

raise SystemExit(main())
