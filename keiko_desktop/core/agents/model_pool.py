"""The models agents run on, loaded on demand and kept within a RAM budget.

    pool = ModelPool(provider, manager, lambda: settings.agent_ram_budget_mb * 2**20)
    async with pool.lease(profile.model) as model:
        ...

- **The chat's model is shared.** ``""`` (an agent without a model of its own), the name or
  path of the model ``ModelManager`` has loaded, or any name that resolves to the same file,
  leases the chat's model: it is never loaded twice, and it is not the pool's to unload (nor
  does it count against the budget, which is for the agents' own models).
- **One load per file.** Models are told apart by their resolved absolute file path (symlinks
  followed); concurrent leases of a file that is loading wait for that one load.
- **Kept loaded, least recently used unloaded.** A model stays loaded after its lease ends.
  When loading another would take the pool past ``budget_bytes()`` (read at every lease, so a
  changed setting applies at once), idle models are unloaded, the least recently used first.
  When the models in use leave no room, the lease waits for one to be released, at most
  ``max_wait`` seconds, then raises ``AgentError``. A model larger than the whole budget is
  refused at once, with its estimate and the setting to raise (``agent_ram_budget_mb``).
- **Estimate.** ``estimate_bytes``: the file's size (its weights are mapped into memory) plus a
  quarter of it plus 64 MiB for what llama.cpp allocates beside the weights (the KV cache, the
  compute buffers, the worker thread). The KV cache of a 4,096-token context takes 94 MB for
  SmolLM2-135M (a 100 MB file), about 0.5 GB for an 8B model with grouped-query attention (a
  4.7 GB Q4 file) and up to 2 GB for older 7B models without it: a quarter of the file covers
  the common cases without refusing models that would fit. A model without a local file (an
  endpoint's, ``size_bytes`` 0) takes no RAM here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from keiko_desktop.core.agents.errors import AgentError
from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.ports import DEFAULT_BACKEND, ChatModel, ModelInfo, ModelProvider

log = logging.getLogger(__name__)

MIB = 1 << 20
OVERHEAD_BYTES = 64 * MIB
OVERHEAD_SHARE = 0.25
DEFAULT_MAX_WAIT = 300.0
"""Seconds a lease waits for room in the budget (models in use are released)."""
_BUDGET_HINT = (
    "Raise agent_ram_budget_mb (Settings > Agents), or give these agents the same or "
    "smaller models."
)


def estimate_bytes(info: ModelInfo) -> int:
    """RAM a loaded ``info`` takes, estimated (see the module docs)."""
    if info.size_bytes <= 0:
        return 0
    return info.size_bytes + int(info.size_bytes * OVERHEAD_SHARE) + OVERHEAD_BYTES


def model_key(info: ModelInfo) -> str:
    """What tells two models apart: a llama.cpp model's real absolute path, another
    backend's model id."""
    if info.backend == DEFAULT_BACKEND:
        return os.path.normcase(os.path.realpath(os.path.expanduser(info.path)))
    return f"{info.backend}:{info.path}"


def _mb(n: int) -> str:
    return f"{n / MIB:,.0f} MB"


@dataclass
class _Entry:
    info: ModelInfo
    estimate: int
    load: asyncio.Task[ChatModel]
    users: int = 0
    last_used: float = field(default_factory=time.monotonic)

    @property
    def ready(self) -> ChatModel | None:
        if self.load.done() and not self.load.cancelled() and self.load.exception() is None:
            return self.load.result()
        return None


class ModelPool:
    """Leases models to agents (see the module docs)."""

    def __init__(
        self,
        provider: ModelProvider,
        manager: ModelManager,
        budget_bytes: Callable[[], int],
        *,
        estimate: Callable[[ModelInfo], int] = estimate_bytes,
        max_wait: float = DEFAULT_MAX_WAIT,
    ) -> None:
        self._provider = provider
        self._manager = manager
        self._budget = budget_bytes
        self._estimate = estimate
        self.max_wait = max_wait
        self._entries: dict[str, _Entry] = {}
        self._changed = asyncio.Event()
        self._closed = False

    # ------------------------------------------------------------------ leasing
    @contextlib.asynccontextmanager
    async def lease(
        self, name_or_path: str, max_wait: float | None = None
    ) -> AsyncIterator[ChatModel]:
        """The model ``name_or_path`` for the block (see the module docs). ``AgentError`` when
        it does not fit the budget (at all, or within ``max_wait`` seconds);
        ``ModelLoadError`` when it cannot be found or loaded."""
        chat = await self._chat_model(name_or_path)
        if chat is not None:
            yield chat
            return
        entry = await self._acquire(name_or_path, self.max_wait if max_wait is None else max_wait)
        try:
            model = await asyncio.shield(entry.load)
        except BaseException:
            self._release(entry)
            raise
        try:
            yield model
        finally:
            self._release(entry)

    async def _chat_model(self, name_or_path: str) -> ChatModel | None:
        """The chat's model when ``name_or_path`` means it, else None."""
        wanted = name_or_path.strip()
        if self._closed:
            raise AgentError("The agents' models are closed.", "Start Keiko again.")
        if not wanted:
            return await self._manager.get()
        if self._manager.state == "loading":
            await self._manager.get()  # so that a name of the model it loads is seen as its
        current, info = self._manager.current, self._manager.info
        if current is None or info is None:
            return None
        if wanted in (info.name, info.path):
            return current
        resolved = self._provider.resolve(wanted)
        if model_key(resolved) == model_key(info):
            return current
        return None

    async def _acquire(self, name_or_path: str, max_wait: float) -> _Entry:
        info = self._provider.resolve(name_or_path)
        key = model_key(info)
        estimate = self._estimate(info)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while True:
            if self._closed:
                raise AgentError("The agents' models are closed.", "Start Keiko again.")
            entry = self._entries.get(key)
            if entry is not None:
                entry.users += 1
                return entry
            budget = self._budget()
            if estimate > budget:
                raise AgentError(
                    f"The model {info.name} needs about {_mb(estimate)} of RAM, more than the "
                    f"agents' whole RAM budget (agent_ram_budget_mb = {budget // MIB}).",
                    "Raise agent_ram_budget_mb in Settings > Agents, or give the agent a "
                    "smaller model.",
                )
            victims = self._make_room(estimate, budget)
            if victims is not None:
                entry = _Entry(info, estimate, loop.create_task(self._load(info, victims)))
                entry.users = 1
                self._entries[key] = entry
                return entry
            changed = self._changed
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                busy = ", ".join(f"{e.info.name} ({_mb(e.estimate)})" for e in self._in_use())
                raise AgentError(
                    f"The agents' RAM budget ({_mb(budget)}) is too small for these agents' "
                    f"models together: {info.name} (about {_mb(estimate)}) waited "
                    f"{max_wait:g} s for room while {busy or 'other models'} stayed in use.",
                    _BUDGET_HINT,
                ) from None

    def _make_room(self, estimate: int, budget: int) -> list[ChatModel] | None:
        """The idle models to unload (least recently used first) so that ``estimate`` more
        fits ``budget``, taken out of the pool; None, and nothing taken, if they are not
        enough."""
        used = sum(e.estimate for e in self._entries.values())
        if used + estimate <= budget:
            return []
        idle = sorted(
            (e for e in self._entries.values() if e.users == 0 and e.load.done()),
            key=lambda e: e.last_used,
        )
        chosen: list[_Entry] = []
        for entry in idle:
            if used + estimate <= budget:
                break
            chosen.append(entry)
            used -= entry.estimate
        if used + estimate > budget:
            return None
        victims = []
        for entry in chosen:
            del self._entries[model_key(entry.info)]
            model = entry.ready
            if model is not None:
                log.info("unloading %s to make room in the agents' RAM budget", entry.info.name)
                victims.append(model)
        return victims

    async def _load(self, info: ModelInfo, victims: list[ChatModel]) -> ChatModel:
        """Unload ``victims`` first (their RAM is wanted), then load ``info``; a failed load
        leaves the pool."""
        try:
            for model in victims:
                await model.aclose()
            log.info("loading %s for an agent", info.name)
            return await self._provider.load(info)
        except BaseException:
            entry = self._entries.get(model_key(info))
            if entry is not None and entry.info == info:
                del self._entries[model_key(info)]
            self._notify()
            raise

    def _release(self, entry: _Entry) -> None:
        entry.users -= 1
        entry.last_used = time.monotonic()
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _in_use(self) -> list[_Entry]:
        return [e for e in self._entries.values() if e.users > 0]

    # ------------------------------------------------------------------ state
    def loaded(self) -> list[tuple[str, int, bool]]:
        """The models the pool has loaded: (name, estimated bytes, in use), least recently
        used first. The chat's model is not among them."""
        entries = sorted(self._entries.values(), key=lambda e: e.last_used)
        return [(e.info.name, e.estimate, e.users > 0) for e in entries if e.ready is not None]

    async def aclose(self) -> None:
        """Unload every model the pool loaded, leased or not (waiting for loads in progress;
        a reply still running on one is cut off). The chat's model is left alone."""
        self._closed = True
        entries, self._entries = list(self._entries.values()), {}
        self._notify()
        for entry in entries:
            with contextlib.suppress(Exception):
                await asyncio.shield(entry.load)
            model = entry.ready
            if model is not None:
                try:
                    await model.aclose()
                except Exception:
                    log.exception("could not unload %s", entry.info.name)
