"""`keiko serve`'s arguments (no imports from core, so `keiko --help` stays fast)."""

from __future__ import annotations

import argparse
from typing import Any


def add_serve_parser(sub: argparse._SubParsersAction[Any]) -> None:
    serve = sub.add_parser(
        "serve",
        help="serve Keiko's local models over an OpenAI-compatible API on 127.0.0.1",
        description="Serves Keiko's local models (the bundled one and the files added) at "
        "http://127.0.0.1:PORT/v1 (GET /v1/models, POST /v1/chat/completions). Every request "
        "needs 'Authorization: Bearer TOKEN'. Without --token-env a new token is made, "
        "printed and saved to serve-token in Keiko's config folder. Runs until Ctrl+C.",
    )
    serve.add_argument(
        "--port", type=int, default=None, help="the port (default: the serve_port setting, 8741)"
    )
    serve.add_argument(
        "--token-env",
        metavar="VAR",
        default=None,
        help="read the bearer token from this environment variable (at least 16 characters)",
    )
    serve.add_argument(
        "--model",
        default=None,
        help='the model served for requests with model "" (default: the model setting)',
    )
