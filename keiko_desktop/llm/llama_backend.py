"""``LlamaChatModel``: a GGUF model run by llama.cpp on its own worker thread.

Loading, tokenizing and generating all happen on the model's ``ThreadWorker``; the event loop
only receives text pieces, in small batches through ``call_soon_threadsafe``, and iterates
them one piece per token. ``llama_cpp`` is imported when the first model loads, so importing
this module costs nothing.

    model = await LlamaChatModel.load(path, "my-model", n_ctx=4096, n_threads=4)
    gen = model.generate(messages, GenerationParams(temperature=0))
    async for piece in gen:
        ...
    gen.stats.finish_reason  # "stop" | "length" | "cancelled" | "error"
    await model.aclose()
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from keiko_desktop.core.errors import GenerationError, KeikoError, ModelLoadError
from keiko_desktop.core.ports import (
    ChatMessage,
    GenerationParams,
    GenerationStats,
    ModelInfo,
    ToolTurn,
)
from keiko_desktop.llm.context_budget import ContextPlan, available_memory, plan_context
from keiko_desktop.llm.gguf import (
    Metadata,
    context_failure,
    is_context_failure,
    load_failure,
    read_metadata,
    validate_gguf,
)
from keiko_desktop.workers.thread_worker import StreamHandle, ThreadWorker

if TYPE_CHECKING:
    from keiko_desktop.core.config import Settings
    from keiko_desktop.core.downloads import ModelOptions
    from keiko_desktop.core.tools.models import ToolSpec
    from keiko_desktop.llm.cpu_backends import CpuPlanner
    from keiko_desktop.llm.llama_engine import LlamaEngine

log = logging.getLogger(__name__)

_RETRY_HINT = "Try again; if it keeps failing, pick another model in Settings."


def plan_for(path: str, requested: int, available_ram: int | None = None) -> ContextPlan:
    """The context ``path`` gets for a ``requested`` size (blocking: reads the file's metadata
    and, unless ``available_ram`` is given, the free RAM). Metadata that cannot be read leaves
    only the RAM bound, on the file's size; llama.cpp then says what is wrong with the file."""
    try:
        metadata: Metadata = read_metadata(path)
    except ModelLoadError as exc:
        log.warning("no context bound from %s's metadata: %s", path, exc.message)
        metadata = {}
    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0
    ram = available_memory() if available_ram is None else available_ram
    return plan_context(requested, metadata, size, ram)


_GPU_OFFLOAD: bool | None = None


def gpu_offload_supported() -> bool:
    """Whether this llama.cpp was built with a GPU backend (imports llama_cpp; cached)."""
    global _GPU_OFFLOAD
    if _GPU_OFFLOAD is None:
        try:
            import llama_cpp

            _GPU_OFFLOAD = bool(llama_cpp.llama_supports_gpu_offload())
        except (ImportError, AttributeError, OSError):
            _GPU_OFFLOAD = False
    return _GPU_OFFLOAD


def _use_template(engine: LlamaEngine, template: str) -> None:
    """Render prompts with ``template`` instead of the file's own (on the model's worker).
    A template that does not compile keeps the file's own, with a warning."""
    from keiko_desktop.llm.prompting import ChatRenderer

    llm = engine.llm
    renderer = ChatRenderer(
        template,
        bos_token=engine._special_text(llm.token_bos()),
        eos_token=engine._special_text(llm.token_eos()),
        neutralize=engine._neutralize,
    )
    if renderer.uses_chatml:
        log.warning("%s: the chat template override does not compile; not used", engine.path)
        return
    engine.renderer = renderer


def _open_engine(
    path: str,
    n_ctx: int,
    n_threads: int,
    cpu: CpuPlanner | None,
    available_ram: int | None,
    n_gpu_layers: int = 0,
    chat_template: str | None = None,
) -> tuple[LlamaEngine, ContextPlan]:
    """On the model's worker: reading the metadata and importing llama_cpp (a third of a
    second) happen off the loop. The context is the setting bounded by ``plan_for``."""
    from keiko_desktop.llm.llama_engine import LlamaEngine

    plan = plan_for(path, n_ctx, available_ram)
    if plan.lowered:
        log.info("%s: %s", Path(path).name, plan.reason)
    # gpu layers reach llama.cpp only through LlamaEngine.open's n_gpu_layers (kept off the
    # call when 0, so a CPU build loads exactly as before).
    gpu = {"n_gpu_layers": n_gpu_layers} if n_gpu_layers > 0 else {}
    try:
        engine = LlamaEngine.open(path, plan.n_ctx, n_threads, cpu, **gpu)
    except ModelLoadError as exc:  # the weights loaded but the context (KV cache) did not
        cause = exc.__cause__
        if cause is not None and is_context_failure(cause):
            raise context_failure(path, plan.n_ctx, cause) from cause
        raise
    if chat_template:
        _use_template(engine, chat_template)
    return engine, plan


class LlamaGeneration:
    """One reply being produced. Iterate it once; ``cancel()`` stops it at the next token."""

    def __init__(
        self, model: LlamaChatModel, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> None:
        self._model = model
        self._messages = list(messages)
        self._params = params
        self._stats = GenerationStats()
        self._handle: StreamHandle[list[str]] | None = None
        self._cancel_requested = False
        self._iterated = False

    @property
    def stats(self) -> GenerationStats:
        """What the reply cost; complete once iteration has ended."""
        return self._stats

    def cancel(self) -> None:
        self._cancel_requested = True
        if self._handle is not None:
            self._handle.cancel()

    def _set_stats(self, stats: GenerationStats) -> None:  # called on the worker thread
        self._stats = stats

    def __aiter__(self) -> AsyncIterator[str]:
        if self._iterated:
            raise GenerationError("This reply has already been read.", "Call generate() again.")
        self._iterated = True
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str]:
        model = self._model
        started = time.perf_counter()
        if self._cancel_requested:
            self._stats = GenerationStats(finish_reason="cancelled")
            return
        engine = model._engine
        if engine is None:
            self._stats = GenerationStats(finish_reason="error")
            raise GenerationError(
                f"The model {model.name} has been closed.", "Load the model again."
            )
        self._handle = handle = model._worker.stream(
            partial(engine.generate, self._messages, self._params, started, self._set_stats)
        )
        model._active.add(self)
        ended = False
        try:
            async for batch in handle:
                for piece in batch:
                    yield piece
            ended = True
        except KeikoError as exc:
            self._failed(started)
            raise GenerationError(exc.message, exc.hint or _RETRY_HINT) from exc
        except Exception as exc:
            self._failed(started)
            raise GenerationError(
                f"The model {model.name} failed while writing a reply: "
                f"{exc.__class__.__name__}: {exc}",
                _RETRY_HINT,
            ) from exc
        finally:
            model._active.discard(self)
            if not ended:  # the consumer stopped reading or failed: stop the worker too
                handle.cancel()

    def _failed(self, started: float) -> None:
        self._stats = replace(
            self._stats, finish_reason="error", total_time=time.perf_counter() - started
        )


class LlamaChatModel:
    """A loaded GGUF model (implements ``core.ports.ToolCallingModel``)."""

    supports_tools = True

    def __init__(
        self,
        name: str,
        path: str,
        worker: ThreadWorker,
        engine: LlamaEngine,
        plan: ContextPlan | None = None,
    ) -> None:
        """Use ``await LlamaChatModel.load(...)``; this only wires up what it made."""
        self.name = name
        self.path = path
        self.context_length: int = engine.n_ctx
        self.context_plan = plan or ContextPlan(engine.n_ctx, requested=engine.n_ctx)
        """The context asked for, the one used, and why they differ."""
        self.load_note: str = self.context_plan.reason
        """What the user should know about how the model was loaded ("" if nothing)."""
        self._worker = worker
        self._engine: LlamaEngine | None = engine
        self._active: set[LlamaGeneration] = set()

    @classmethod
    async def load(
        cls,
        path: str | os.PathLike[str],
        name: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        cpu: CpuPlanner | None = None,
        available_ram: int | None = None,
        *,
        n_gpu_layers: int = 0,
        chat_template: str | None = None,
    ) -> LlamaChatModel:
        """Check and load a GGUF file on a new worker thread.

        ``n_ctx`` is what is asked for: the model gets at most its trained context and what
        free RAM (``available_ram`` bytes, default: measured now) holds for the KV cache; see
        ``context_plan`` and ``load_note``. ``n_threads`` is capped at the machine's cores.
        ``cpu`` chooses llama.cpp's CPU configuration (default: ``CpuPlanner.default()``).
        ``n_gpu_layers`` layers go to the GPU (a GPU build only); ``chat_template`` replaces
        the file's own template.

        Raises ``ModelLoadError`` naming the file when it is missing, not GGUF, truncated or
        otherwise refused by llama.cpp.
        """
        shown = str(path)
        validate_gguf(shown)
        cores = os.cpu_count() or 1
        threads = min(n_threads, cores) if n_threads else max(1, min(8, cores))
        worker = ThreadWorker(f"llm-{name or Path(shown).stem}")
        try:
            engine, plan = await worker.run(
                _open_engine,
                shown,
                n_ctx,
                threads,
                cpu,
                available_ram,
                n_gpu_layers,
                chat_template,
            )
        except ModelLoadError:
            worker.shutdown(wait=False)
            raise
        except (ImportError, OSError, RuntimeError, ValueError) as exc:
            worker.shutdown(wait=False)
            if isinstance(exc, ImportError):
                raise ModelLoadError(
                    f"Cannot load {shown}: llama-cpp-python is not installed ({exc}).",
                    "Run `make setup`, or `pip install llama-cpp-python`.",
                ) from exc
            raise load_failure(shown, exc) from exc
        return cls(name or Path(shown).stem, shown, worker, engine, plan)

    def generate(
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> LlamaGeneration:
        """Start a reply to ``messages``; nothing runs until it is iterated."""
        return LlamaGeneration(self, messages, params)

    async def call_tools(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        params: GenerationParams,
        *,
        require: bool = False,
    ) -> ToolTurn:
        """One turn with ``tools`` offered: a greedy reply constrained by a GBNF grammar built
        from their schemas (``llm.tool_grammar``) to one JSON object, a call or the answer.

        The model is told the format (``tool_instructions``); ``require`` leaves the answer out
        of the grammar. A call is read whole. An answer is handed over as soon as it begins and
        streams on from this same generation (``ToolTurn.answer``), decoded from its JSON
        string. Runs on the model's worker like any reply; cancelling the caller stops it.
        """
        from keiko_desktop.core.tools.reply_format import read_json_turn, with_tool_instructions
        from keiko_desktop.llm.tool_grammar import tool_call_gbnf

        # Building a grammar from many schemas takes a moment the first time (then it is
        # cached): off the loop, so the window stays responsive.
        grammar = await asyncio.to_thread(tool_call_gbnf, tools, allow_answer=not require)
        constrained = GenerationParams(
            temperature=0.0, max_tokens=params.max_tokens, top_p=params.top_p, grammar=grammar
        )
        generation = self.generate(with_tool_instructions(messages, tools), constrained)
        return await read_json_turn(generation)

    async def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Prompt tokens ``messages`` take with this model's chat template."""
        engine = self._require_engine()
        return await self._worker.run(engine.count_tokens, list(messages))

    @property
    def uses_chatml_fallback(self) -> bool:
        """True when the file has no usable chat template and ChatML is used instead."""
        return self._engine is not None and self._engine.renderer.uses_chatml

    def _require_engine(self) -> LlamaEngine:
        if self._engine is None:
            raise GenerationError(f"The model {self.name} has been closed.", "Load it again.")
        return self._engine

    async def aclose(self) -> None:
        """Free the model and stop its thread. Replies still running are cut off first."""
        engine, self._engine = self._engine, None
        if engine is None:
            return
        for generation in list(self._active):
            generation.cancel()
        try:
            await self._worker.run(engine.close)
        finally:
            self._worker.shutdown(wait=False)

    def __repr__(self) -> str:
        return (
            f"LlamaChatModel(name={self.name!r}, path={self.path!r}, n_ctx={self.context_length})"
        )


class LlamaCppBackend:
    """The ``llama.cpp`` model backend: loads GGUF files (``ModelInfo.path``) in-process."""

    name = "llama.cpp"

    def __init__(
        self,
        cpu: CpuPlanner | None = None,
        available_ram: Callable[[], int | None] | None = None,
        options: Callable[[ModelInfo], ModelOptions] | None = None,
    ) -> None:
        self.cpu = cpu
        """Chooses llama.cpp's CPU configuration (None: ``CpuPlanner.default()``)."""
        self.available_ram = available_ram
        """Bytes of free RAM a load may plan with (None: measured at each load)."""
        self.options = options
        """A model's own settings (``models.toml``); None: the general settings only."""

    @staticmethod
    def prepare() -> None:
        """Import llama_cpp now (blocking; a third of a second). A no-op once imported, and
        when it is not installed (loading then says so)."""
        with contextlib.suppress(ImportError):
            importlib.import_module("llama_cpp")

    def list_models(self) -> list[ModelInfo]:
        return []  # its models are the files the registry knows (bundled, added by path)

    def resolve(self, model_id: str) -> ModelInfo | None:
        return None  # GGUF files are found by path, not by id

    async def load(self, info: ModelInfo, settings: Settings) -> LlamaChatModel:
        """Load ``info`` with the context size (bounded: see ``LlamaChatModel.load``) and
        threads from ``settings``, or from the model's own options where they are set
        (context length, threads, chat template; GPU layers on a GPU build only)."""
        opts = self.options(info) if self.options is not None else None
        gpu_layers = opts.gpu_layers if opts is not None else 0
        return await LlamaChatModel.load(
            info.path,
            info.name,
            n_ctx=(opts.context_length if opts else 0) or settings.context_size,
            n_threads=(opts.threads if opts else 0) or settings.effective_threads(),
            cpu=self.cpu,
            available_ram=self.available_ram() if self.available_ram is not None else None,
            n_gpu_layers=gpu_layers if gpu_layers and gpu_offload_supported() else 0,
            chat_template=(opts.chat_template if opts else "") or None,
        )
