"""`keiko models`'s arguments (no imports from core, so `keiko --help` stays fast)."""

from __future__ import annotations

import argparse
from typing import Any


def add_models_parser(sub: argparse._SubParsersAction[Any]) -> None:
    models = sub.add_parser("models", help="list, add, download or remove models; pick the default")
    models_sub = models.add_subparsers(dest="models_command", metavar="ACTION")
    models_sub.add_parser("list", help="list local models and the recommended ones (default)")
    add = models_sub.add_parser("add", help="add a GGUF file by path")
    add.add_argument("path")
    download = models_sub.add_parser(
        "download",
        help="download a recommended model (Ctrl+C pauses; run it again to resume)",
    )
    download.add_argument("name", help="its name in `keiko models list`")
    remove = models_sub.add_parser(
        "remove",
        help="delete a downloaded model, or forget an added file (the file stays)",
    )
    remove.add_argument("name_or_path")
    use = models_sub.add_parser("use", help="make a model the default")
    use.add_argument("name_or_path")
