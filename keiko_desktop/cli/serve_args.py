"""`keiko serve`'s arguments (no imports from core, so `keiko --help` stays fast)."""

from __future__ import annotations

import argparse
from typing import Any


def add_serve_parser(sub: argparse._SubParsersAction[Any]) -> None:
    sub.add_parser(
        "serve", help="serve Keiko's local models over an OpenAI-compatible API on 127.0.0.1"
    )
