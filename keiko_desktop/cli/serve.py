"""`keiko serve`: Keiko's local models over an OpenAI-compatible API on 127.0.0.1.

Prints ``Keiko serves N models at http://127.0.0.1:PORT/v1 (token: ...)`` once it listens and
runs until Ctrl+C or SIGTERM, then stops the server (requests still running get a moment) and
closes the Core. The token: ``--token-env VAR`` reads it from the environment; otherwise a new
one is made for this run, printed in that line and written to ``serve-token`` in the config
folder (0600). It is never logged.

Exit codes: 130 after Ctrl+C, 143 after SIGTERM, 1 when Keiko or the port fails (a port in
use says which one to try), 2 for bad input (an unknown --model, a missing or short token).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

from keiko_desktop.cli.common import error, run_async
from keiko_desktop.core.config import Paths, Settings, load_settings
from keiko_desktop.core.errors import KeikoError, ModelLoadError

BAD_INPUT = 2
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
MIN_TOKEN_CHARS = 16
MAX_TOKEN_CHARS = 512
TOKEN_FILE = "serve-token"


def run_serve(args: argparse.Namespace) -> int:
    return run_async(lambda: _serve(args))


class ServeInputError(KeikoError):
    """A flag of `keiko serve` is not usable (exit 2)."""


def token_from_env(var: str) -> str:
    """The token in the environment variable ``var``; ServeInputError when it is unset, too
    short or not printable ASCII (it travels in a header). The value is never shown."""
    value = os.environ.get(var)
    if not value:
        raise ServeInputError(f"--token-env {var}: the variable is not set or empty.")
    if not MIN_TOKEN_CHARS <= len(value) <= MAX_TOKEN_CHARS:
        raise ServeInputError(
            f"--token-env {var}: the token must have {MIN_TOKEN_CHARS} to {MAX_TOKEN_CHARS} "
            f"characters, not {len(value)}."
        )
    if not all("!" <= c <= "~" for c in value):
        raise ServeInputError(
            f"--token-env {var}: the token may hold only printable ASCII without spaces."
        )
    return value


def new_token(paths: Paths) -> tuple[str, Path]:
    """A new token, written to ``serve-token`` (0600) in the config folder."""
    from keiko_desktop.core.private_files import write_private_text

    token = secrets.token_urlsafe(32)
    path = paths.config_dir / TOKEN_FILE
    write_private_text(path, token + "\n")
    return token, path


def _settings(args: argparse.Namespace, paths: Paths) -> Settings:
    changes: dict[str, tuple[str, object]] = {}
    if args.model:
        changes["model"] = ("--model", args.model)
    if args.port is not None:
        changes["serve_port"] = ("--port", args.port)
    try:
        return load_settings(paths).with_flags(changes)
    except KeikoError as exc:
        raise ServeInputError(exc.message, exc.hint) from None


@contextlib.contextmanager
def _stop_signals(stopped: asyncio.Future[int]) -> Iterator[None]:
    """Ctrl+C and SIGTERM resolve ``stopped`` with the exit code."""
    loop = asyncio.get_running_loop()
    added = []
    for sig, code in EXIT_CODES.items():

        def stop(code: int = code) -> None:
            if not stopped.done():
                stopped.set_result(code)

        try:
            loop.add_signal_handler(sig, stop)
            added.append(sig)
        except (NotImplementedError, RuntimeError):  # Windows: Ctrl+C cancels the run
            pass
    try:
        yield
    finally:
        for sig in added:
            loop.remove_signal_handler(sig)


async def _serve(args: argparse.Namespace) -> int:
    from keiko_desktop.openai_api.server import PortInUseError, bind_local

    paths = Paths.from_env()
    try:
        settings = _settings(args, paths)
        token = token_from_env(args.token_env) if args.token_env else None
    except ServeInputError as exc:
        error(exc)
        return BAD_INPUT
    try:
        sock = bind_local(settings.serve_port)  # before anything slow: a taken port says so
    except PortInUseError as exc:
        error(exc)
        return 1
    try:
        return await _run(args, paths, settings, token, sock)
    finally:
        sock.close()


async def _run(
    args: argparse.Namespace,
    paths: Paths,
    settings: Settings,
    token: str | None,
    sock: socket.socket,
) -> int:
    from keiko_desktop.app import build_core
    from keiko_desktop.cli.chat import ModelNotices
    from keiko_desktop.core.ports import DEFAULT_BACKEND, GenerationParams
    from keiko_desktop.openai_api.app import ServeOptions, build_app
    from keiko_desktop.openai_api.server import ApiServer

    stopped: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    with _stop_signals(stopped):
        core = await build_core(paths, settings, with_tasks=False, with_voice=False)
        try:
            notices = ModelNotices(core)  # noqa: F841 - prints load failures while alive
            if core.agents is None:
                raise KeikoError("The models could not start.", "See the log (keiko doctor).")
            try:
                wanted = core.registry.resolve(settings.model).name
            except ModelLoadError as exc:
                error(f"--model: {exc}" if args.model else exc)
                return BAD_INPUT
            models, registry = core.models, core.registry

            def default_model() -> str:
                return models.info.name if models.info is not None else wanted

            def local_models() -> list[str]:
                return [m.name for m in registry.list_models() if m.backend == DEFAULT_BACKEND]

            def defaults() -> GenerationParams:
                s = core.settings
                return GenerationParams(temperature=s.temperature, max_tokens=s.max_tokens)

            token_path = None
            if token is None:
                token, token_path = new_token(paths)
            port = int(sock.getsockname()[1])
            options = ServeOptions(
                token, port, local_models, default_model, core.agents.lease, defaults
            )
            server = ApiServer(build_app(options), sock)
            await server.start()
            try:
                count = len({*local_models(), default_model()})
                shown = f"from ${args.token_env}" if token_path is None else token
                noun = "model" if count == 1 else "models"
                print(f"Keiko serves {count} {noun} at {server.url} (token: {shown})")
                if token_path is not None:
                    print(f"The token is also in {token_path}.")
                print("Stop with Ctrl+C.", flush=True)
                return await stopped
            finally:
                await server.stop()
        finally:
            await core.aclose()
