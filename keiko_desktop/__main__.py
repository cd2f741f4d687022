"""`python -m keiko_desktop` runs the `keiko` command."""

from keiko_desktop.cli import main

raise SystemExit(main())
