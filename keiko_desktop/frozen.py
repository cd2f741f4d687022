"""Running Keiko's own modules in a child process, from source and from a frozen bundle.

From source a child is ``python -m MODULE ARGS``. A PyInstaller bundle has no ``python`` and
its executable takes no ``-m``: the same child is ``keiko --run-module MODULE ARGS``, which the
entry point (``__main__.py``) runs before the command line is parsed. Only the modules in
``CHILD_MODULES`` may run so; anything else is refused.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Sequence

RUN_MODULE = "--run-module"
CHILD_MODULES = frozenset({"keiko_desktop.llm.cpu_probe"})
"""The modules Keiko starts as children of itself (the llama.cpp CPU probe)."""


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def module_command(module: str, *args: str) -> list[str]:
    """The command line of a child that runs ``module`` with ``args``."""
    if module not in CHILD_MODULES:
        raise ValueError(f"{module} is not a module Keiko runs as a child")
    if is_frozen():
        return [sys.executable, RUN_MODULE, module, *args]
    return [sys.executable, "-m", module, *args]


def run_child_module(argv: Sequence[str]) -> int | None:
    """With ``argv`` ``[prog, "--run-module", MODULE, *ARGS]``, run MODULE as ``__main__``
    and return its exit status; None for any other command line (the normal ``keiko``)."""
    if len(argv) < 3 or argv[1] != RUN_MODULE:
        return None
    module = argv[2]
    if module not in CHILD_MODULES:
        sys.stderr.write(f"keiko: {module} cannot be run with {RUN_MODULE}\n")
        return 2
    sys.argv = [module, *argv[3:]]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
