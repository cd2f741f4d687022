"""`keiko models`'s arguments (no imports from core, so `keiko --help` stays fast)."""

from __future__ import annotations

import argparse
from typing import Any


def add_models_parser(sub: argparse._SubParsersAction[Any]) -> None:
    models = sub.add_parser("models", help="list models, or add a GGUF file")
    models_sub = models.add_subparsers(dest="models_command", metavar="ACTION")
    models_sub.add_parser("list", help="list known models (default)")
    add = models_sub.add_parser("add", help="add a GGUF file by path")
    add.add_argument("path")
    use = models_sub.add_parser("use", help="make a model the default")
    use.add_argument("name_or_path")
