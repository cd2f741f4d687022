"""Keep llama.cpp quiet without touching the process's stdout and stderr.

With ``verbose=False``, llama-cpp-python wraps model loading in ``suppress_stdout_stderr``,
which swaps ``sys.stdout``/``sys.stderr`` and dup2()s file descriptors 1 and 2 to /dev/null for
the whole process. Keiko loads models on a worker thread while the loop thread keeps printing
(the CLI's answer) and logging, so that swap silently ate the CLI's output. Instead we leave the
descriptors alone and send llama.cpp's own log lines to Python logging (the rotating log file).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
from typing import Any

log = logging.getLogger("llama.cpp")

_installed: list[Any] = []  # keeps the ctypes callback alive for the life of the process


class _NoRedirect(contextlib.nullcontext[None]):
    """Stands in for llama-cpp-python's fd-swapping context manager."""

    def __init__(self, disable: bool = True) -> None:
        super().__init__()


def quiet_llama() -> None:
    """Install once: no fd redirection; llama.cpp's log lines go to ``logging``."""
    if _installed:
        return
    import importlib

    import llama_cpp

    for name in ("llama_cpp.llama", "llama_cpp._internals", "llama_cpp.llama_chat_format"):
        module = importlib.import_module(name)
        if hasattr(module, "suppress_stdout_stderr"):
            setattr(module, "suppress_stdout_stderr", _NoRedirect)  # noqa: B010

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def _to_logging(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        # ggml's level numbers changed across versions; the words are a steadier signal.
        message = text.decode("utf-8", errors="replace").rstrip()
        if not message:
            return
        lowered = message.lower()
        loud = "error" in lowered or "failed" in lowered
        log.log(logging.WARNING if loud else logging.DEBUG, "%s", message)

    llama_cpp.llama_log_set(_to_logging, ctypes.c_void_p(0))
    _installed.append(_to_logging)
