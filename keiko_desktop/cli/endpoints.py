"""`keiko endpoints`: remote OpenAI-compatible servers, their keys and their models.

    keiko endpoints add ollama http://127.0.0.1:11434/v1
    keiko endpoints add openai https://api.openai.com/v1 --api-key-env OPENAI_API_KEY
    keiko endpoints test ollama          # connect and list its models
    keiko ask --model ollama/llama3 "…"  # use one

The key is read from the named environment variable (never from the command line, where it
would stay in the shell's history and the process list) and kept in the system keychain.
Exit codes: 0 done, 1 the endpoint failed its test or cannot be saved, 2 bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import TYPE_CHECKING

from keiko_desktop.cli.common import error
from keiko_desktop.core.config import Paths, load_settings
from keiko_desktop.core.endpoints import Endpoint, EndpointStatus, check_name, check_url
from keiko_desktop.core.errors import KeikoError, SettingsError
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.safe_text import printable

if TYPE_CHECKING:
    from keiko_desktop.llm.endpoint_manager import EndpointService


def run_endpoints(args: argparse.Namespace) -> int:
    action = args.endpoints_command or "list"
    if action == "add":
        try:
            check_name(args.name)
            check_url(args.url)
            key = _key_from_env(args.api_key_env)
        except KeikoError as exc:
            error(exc)
            return 2
        return asyncio.run(_add(args, key))
    return asyncio.run(_run(action, args))


def _key_from_env(var: str | None) -> str | None:
    if var is None:
        return None
    value = os.environ.get(var)
    if not value:
        raise SettingsError(
            f"The environment variable {var} is not set (or empty).",
            f"Set it first, e.g. `read -rs {var} && export {var}`, then run this again.",
        )
    return value.strip()


async def _service() -> EndpointService:
    from keiko_desktop.llm.endpoint_manager import EndpointService
    from keiko_desktop.llm.registry import ModelRegistry

    paths = Paths.from_env()
    bus = EventBus(asyncio.get_running_loop())
    service = EndpointService(paths.config_dir, ModelRegistry(load_settings(paths)), bus)
    await service.load()
    if service.load_error is not None:
        raise service.load_error
    return service


async def _add(args: argparse.Namespace, key: str | None) -> int:
    try:
        service = await _service()
    except KeikoError as exc:
        error(exc)
        return 1
    try:
        status = await service.save(Endpoint(args.name, args.url, timeout=args.timeout), key)
        print(f"Saved {args.name} ({check_url(args.url)}).")
        _print_status(status)
        return 0 if status.state == "online" else 1
    except KeikoError as exc:
        error(exc)
        return 2 if isinstance(exc, SettingsError) else 1
    finally:
        await service.aclose()


async def _run(action: str, args: argparse.Namespace) -> int:
    try:
        service = await _service()
    except KeikoError as exc:
        error(exc)
        return 1
    try:
        if action == "remove":
            await service.remove(args.name)
            print(f"Removed {args.name} and its key.")
            return 0
        if action == "test":
            status = await service.check(args.name)
            _print_status(status)
            for model in status.models:
                print(f"  {args.name}/{printable(model)}")
            return 0 if status.state == "online" else 1
        endpoints = service.endpoints()
        if not endpoints:
            print("No endpoints. Add one: keiko endpoints add NAME URL [--api-key-env VAR]")
        for endpoint in endpoints:
            key = "key in keychain" if endpoint.api_key else "no key"
            print(
                f"{endpoint.name:<16} {endpoint.base_url}  ({key}, timeout {endpoint.timeout:g} s)"
            )
        return 0
    except KeikoError as exc:
        error(exc)
        return 2 if isinstance(exc, SettingsError) else 1
    finally:
        await service.aclose()


def _print_status(status: EndpointStatus) -> None:
    detail = f": {printable(status.detail)}" if status.detail else ""
    count = f" ({len(status.models)} models)" if status.state == "online" else ""
    stream = sys.stdout if status.state == "online" else sys.stderr
    print(f"{status.name} is {status.state}{count}{detail}", file=stream)
