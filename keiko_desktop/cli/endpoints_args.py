"""`keiko endpoints`'s arguments (no imports from core, so `keiko --help` stays fast)."""

from __future__ import annotations

import argparse
from typing import Any


def add_endpoints_parser(sub: argparse._SubParsersAction[Any]) -> None:
    endpoints = sub.add_parser(
        "endpoints", help="remote OpenAI-compatible servers (Ollama, vLLM, llama.cpp, LM Studio)"
    )
    esub = endpoints.add_subparsers(dest="endpoints_command", metavar="ACTION")
    esub.add_parser("list", help="list the endpoints and their models (default)")
    add = esub.add_parser("add", help="add an endpoint, or change the one of that name")
    add.add_argument("name", help="a short name: its models are NAME/MODEL")
    add.add_argument("url", help="the base URL, e.g. http://127.0.0.1:11434/v1")
    add.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="read the API key from this environment variable and keep it in the keychain",
    )
    add.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (60)")
    remove = esub.add_parser("remove", help="forget an endpoint and its key")
    remove.add_argument("name")
    test = esub.add_parser("test", help="connect to an endpoint and list its models")
    test.add_argument("name")
