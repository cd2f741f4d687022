"""Sampling on the terminal: `keiko mcp call` reviews a server's request to use Keiko's model,
and `keiko mcp sampling SERVER [always|ask|never]` shows or sets a server's sampling policy.

``TerminalSamplingApprover`` shows the request (every message in full, escaped), and reads
``y`` (allow once), ``a`` (always for this server), ``e`` (edit each message's text and the
token limit, then asked again) or anything else (deny). ``--yes`` allows once up front;
without a terminal on stdin the request is denied with a hint. ``LazyChatModel`` loads the
chat model (``Settings.model``) only when a server first asks, so a call that never samples
never pays for it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys

from keiko_desktop.cli.approvals import _read_line
from keiko_desktop.cli.common import error, show
from keiko_desktop.core.config import Paths, load_settings
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import ChatModel
from keiko_desktop.core.tools.sampling import (
    SamplingAnswer,
    SamplingInvalidError,
    SamplingPolicy,
    SamplingRequest,
    SamplingReview,
    describe_request,
)

_ANSWERS = {
    "y": SamplingAnswer.ALLOW_ONCE,
    "yes": SamplingAnswer.ALLOW_ONCE,
    "a": SamplingAnswer.ALWAYS_ALLOW,
    "always": SamplingAnswer.ALWAYS_ALLOW,
}


class TerminalSamplingApprover:
    """Implements ``core.tools.sampling.SamplingApprover`` on stdin/stderr."""

    def __init__(self, assume_yes: bool) -> None:
        self.assume_yes = assume_yes

    async def review(self, request: SamplingRequest) -> SamplingReview:
        if self.assume_yes:
            return SamplingReview(SamplingAnswer.ALLOW_ONCE, request)
        if not sys.stdin.isatty():
            error(
                f"the server '{request.server}' asks to use Keiko's model (its sampling policy "
                "is Ask), and stdin is not a terminal.\n  → Pass --yes to allow it."
            )
            return SamplingReview(SamplingAnswer.DENY, request)
        while True:
            question = (
                f"{describe_request(request)}  [y] yes, once   [a] always for this server   "
                f"[e] edit   [N] no ({int(request.remaining())} s): "
            )
            try:
                reply = (await _read_line(question)).strip().lower()
            except asyncio.CancelledError:
                sys.stderr.write("\n(no answer in time: not allowed)\n")
                raise
            if reply in ("e", "edit"):
                request = await _edit(request)
                continue
            return SamplingReview(_ANSWERS.get(reply, SamplingAnswer.DENY), request)


async def _edit(request: SamplingRequest) -> SamplingRequest:
    """Each message's new text (Enter keeps it), then the token limit."""
    texts = []
    for number, message in enumerate(request.messages, 1):
        typed = await _read_line(f"message {number} ({message.role}), Enter keeps it: ")
        texts.append(typed if typed.strip() else message.text)
    typed = (await _read_line(f"at most how many tokens [{request.max_tokens}]: ")).strip()
    try:
        return request.edited(texts, int(typed) if typed else request.max_tokens)
    except (ValueError, SamplingInvalidError) as exc:
        error(f"not changed: {exc}")
        return request


class LazyChatModel:
    """The chat model (``Settings.model``), loaded on the first ``get()``; ``aclose`` unloads."""

    def __init__(self, paths: Paths) -> None:
        self._paths = paths
        self._manager: object | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> ChatModel:
        from keiko_desktop.core.chat.models import ModelManager

        async with self._lock:
            if self._manager is None:
                # llama_cpp and the registry import for a while: off the loop.
                await asyncio.to_thread(importlib.import_module, "keiko_desktop.llm.registry")
                self._manager = self._build()
        assert isinstance(self._manager, ModelManager)
        return await self._manager.get()

    def _build(self) -> object:
        from keiko_desktop.app import llama_cpu
        from keiko_desktop.core.chat.models import ModelManager
        from keiko_desktop.llm.llama_backend import LlamaCppBackend
        from keiko_desktop.llm.model_options import ModelOptionsStore
        from keiko_desktop.llm.registry import ModelRegistry

        settings = load_settings(self._paths)
        options = ModelOptionsStore(self._paths.config_dir)
        llama = LlamaCppBackend(
            llama_cpu(self._paths, lambda: settings),
            options=lambda info: options.get(info.name, info.path),
        )
        bus = EventBus(asyncio.get_running_loop())
        registry = ModelRegistry(settings, bus=bus, backends=[llama])
        return ModelManager(registry, bus, chosen=lambda: settings.model)

    async def __aenter__(self) -> LazyChatModel:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        from keiko_desktop.core.chat.models import ModelManager

        if isinstance(self._manager, ModelManager):
            await self._manager.aclose()


async def run_sampling_policy(args: argparse.Namespace) -> int:
    """`keiko mcp sampling SERVER [always|ask|never]`: show or set, bound to the server as
    ``mcp.json`` has it now (an Always given to it does not hold for another program)."""
    from keiko_desktop.cli.mcp import tool_system

    async with tool_system([args.server]) as system:
        if args.server not in system.pool.names() or system.sampling is None:
            error(f"there is no server named '{args.server}'.\n  → See `keiko mcp list`.")
            return 2
        reset = await system.sampling.policies.reconcile(args.server)
        if reset is not None:
            error(reset.text)
        if args.policy is not None:
            await system.sampling.set_policy(args.server, SamplingPolicy(args.policy))
        show(f"{args.server}: sampling {system.sampling.policy_for(args.server).value}")
        return 0
