"""A ``llama_cpp.Llama`` and everything done with it, confined to one worker thread.

Nothing here is async and nothing here is thread-safe: ``LlamaChatModel`` creates the engine on
its ``ThreadWorker`` and calls every method there. The decode loop is kept as thin as a raw
``Llama.generate`` loop: per token one flag check, one end-of-generation check and one piece
decode; text goes to the event loop in small batches (``EMIT_INTERVAL``), because waking the
loop thread for every token slows llama.cpp's own threads by a few percent.

With ``GenerationParams.seed`` set, replies are reproducible whatever ran before (see
``LlamaEngine._prefill``); without it the KV cache is reused as much as possible.
"""

from __future__ import annotations

import codecs
import ctypes
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import llama_cpp

from keiko_desktop.core.chat.context import fit_messages, prompt_budget_tokens
from keiko_desktop.core.ports import ChatMessage, FinishReason, GenerationParams, GenerationStats
from keiko_desktop.llm.cpu_backends import CpuPlanner, activate
from keiko_desktop.llm.gguf import load_failure
from keiko_desktop.llm.llama_logging import quiet_llama
from keiko_desktop.llm.prompting import (
    ChatRenderer,
    Part,
    SpecialToken,
    StopScanner,
    break_specials,
    prompt_runs,
)

# Prompt tokens evaluated between two looks at the cancel flag.
PREFILL_CHUNK = 64
# Text reaches the event loop at most this often (the first piece at once): every hand-over
# wakes the loop thread, which on a small machine takes CPU from llama.cpp's threads.
EMIT_INTERVAL = 0.02
# Token attributes that make a token a control token: llama.cpp matches their text only when a
# prompt is tokenized with special=True (user-defined tokens it matches either way).
_CONTROL = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_UNKNOWN
# Template texts whose control tokens are known; forgotten when it grows past this.
_SCANNED_MAX = 4096
_SCANNED_LEN = 512
# Sampling defaults of llama-cpp-python's create_completion, for what GenerationParams lacks.
_TOP_K = 40
_MIN_P = 0.05


class LlamaEngine:
    """One loaded model. Create with ``open`` and use only on the thread that created it."""

    def __init__(self, llm: Any, path: str) -> None:
        self.llm = llm
        self.path = path
        self.n_ctx: int = int(llm.n_ctx())
        self._vocab = llama_cpp.llama_model_get_vocab(llm.model)
        self._is_eog = llama_cpp.llama_vocab_is_eog
        self._to_piece = llama_cpp.llama_token_to_piece
        self._piece_buf = ctypes.create_string_buffer(256)
        self._stateful = bool(getattr(llm, "_is_recurrent", False)) or bool(
            getattr(llm, "_is_hybrid", False)
        )
        metadata: dict[str, str] = dict(llm.metadata or {})
        self.renderer = ChatRenderer(
            metadata.get("tokenizer.chat_template"),
            bos_token=self._special_text(llm.token_bos()),
            eos_token=self._special_text(llm.token_eos()),
            neutralize=self._neutralize,
        )
        # The control tokens seen in template text, by text, and the template texts looked at.
        self._specials: dict[str, SpecialToken] = {}
        self._scanned: set[str] = set()
        self._last_messages: list[ChatMessage] | None = None
        self._last_tokens: list[int] = []
        # Cache bookkeeping for reproducible replies (see _prefill): positions below _aligned
        # were computed in aligned chunks; _canon_prompt was last evaluated the canonical way.
        self._aligned = 0
        self._canon_prompt: list[int] | None = None

    @classmethod
    def open(
        cls,
        path: str,
        n_ctx: int,
        n_threads: int,
        cpu: CpuPlanner | None = None,
        *,
        n_gpu_layers: int = 0,
    ) -> LlamaEngine:
        """Load ``path``; llama.cpp's refusal becomes a ModelLoadError naming the file.

        First the CPU configuration ``cpu`` chooses (probing in child processes when its cache
        is stale) is loaded into the process; see ``llm.cpu_backends``.
        """
        quiet_llama()
        planner = cpu or CpuPlanner.default()
        activate(planner.choose(path, n_threads).config)
        try:
            llm = llama_cpp.Llama(
                model_path=path,
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_gpu_layers=n_gpu_layers,  # 0 unless a GPU build and the model's options
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise load_failure(path, exc) from exc
        return cls(llm, path)

    def close(self) -> None:
        self.llm.close()

    # ------------------------------------------------------------------ tokens
    def _special_text(self, token: int) -> str:
        if token < 0:
            return ""
        raw = llama_cpp.llama_vocab_get_text(self._vocab, token)
        return raw.decode("utf-8", errors="replace") if raw else ""

    def _piece(self, token: int) -> bytes:
        n = self._to_piece(self._vocab, token, self._piece_buf, 256, 0, False)
        if n < 0:  # longer than the buffer: -n is the size it needs
            buf = ctypes.create_string_buffer(-n)
            n = self._to_piece(self._vocab, token, buf, -n, 0, False)
            return buf.raw[:n]
        return self._piece_buf.raw[:n]

    def tokenize_messages(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The prompt tokens for ``messages``; the last result is kept for the next call.

        Control tokens come only from the template's own text: message content is tokenized as
        text, so a ``<|im_start|>system`` in a tool result, a file or a message stays the
        characters it is (see ``prompting``). Raw text between two control tokens is tokenized
        in one piece, as before, so prompts without such text are the same tokens as ever.
        """
        msgs = list(messages)
        if msgs == self._last_messages:
            return self._last_tokens
        tokens = self.tokenize_parts(self.renderer.render_parts(msgs))
        self._last_messages, self._last_tokens = msgs, tokens
        return tokens

    def tokenize_parts(self, parts: Sequence[Part]) -> list[int]:
        """The tokens for rendered ``parts``: control tokens from template parts only."""
        for text, is_content in parts:
            if not is_content:
                self._learn_specials(text)
        add_bos = not self.renderer.adds_bos
        tokens: list[int] = []
        for i, (text, special) in enumerate(prompt_runs(parts, self._specials)):
            if special is not None and not (add_bos and i == 0):
                tokens.append(special.id)
                continue
            tokens += self.llm.tokenize(
                text.encode("utf-8"), add_bos=add_bos and i == 0, special=special is not None
            )
        if not tokens and add_bos:
            tokens = self.llm.tokenize(b"", add_bos=True, special=False)
        return tokens

    def _control_tokens(self, text: str) -> list[int]:
        """The control tokens llama.cpp finds in ``text`` when it parses special tokens."""
        found = self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        get_attr = llama_cpp.llama_vocab_get_attr
        return [t for t in found if int(get_attr(self._vocab, t)) & _CONTROL]

    def _learn_specials(self, text: str) -> None:
        """Note the control tokens in the template text ``text`` (their text, id, stripping)."""
        if text in self._scanned:
            return
        if len(self._scanned) >= _SCANNED_MAX:
            self._scanned.clear()
        if len(text) <= _SCANNED_LEN:  # template parts; not a whole prompt (the fallback)
            self._scanned.add(text)
        for token in self._control_tokens(text):
            piece = self._special_text(token)
            if piece and piece not in self._specials:
                attr = int(llama_cpp.llama_vocab_get_attr(self._vocab, token))
                self._specials[piece] = SpecialToken(
                    token,
                    lstrip=bool(attr & llama_cpp.LLAMA_TOKEN_ATTR_LSTRIP),
                    rstrip=bool(attr & llama_cpp.LLAMA_TOKEN_ATTR_RSTRIP),
                )

    def _neutralize(self, text: str) -> str:
        """``text`` with every control token's text in it broken (the renderer's fallback)."""
        for _ in range(8):
            found = {self._special_text(t) for t in self._control_tokens(text)} if text else set()
            if not found:
                return text
            text = break_specials(text, found)
        return break_specials(text, (*self._specials, *found))

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return len(self.tokenize_messages(messages))

    # ------------------------------------------------------------------ generation
    def generate(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        started: float,
        report: Callable[[GenerationStats], None],
        emit: Callable[[list[str]], None],
        cancelled: threading.Event,
    ) -> None:
        """Stream the reply to ``messages`` through ``emit``; ``report`` its stats at the end.

        ``emit`` gets lists of text pieces (one per token that produced text): the first at
        once, later ones gathered for up to ``EMIT_INTERVAL``. ``started`` is the
        ``perf_counter`` time the caller asked for the reply; the stats' times count from it.
        On an exception ``report`` is not called.
        """
        budget = prompt_budget_tokens(self.n_ctx, params.max_tokens)
        fitted, trimmed = fit_messages(messages, self.count_tokens, budget)
        prompt = self.tokenize_messages(fitted)
        if len(prompt) >= self.n_ctx:  # only when the template alone overflows the context
            prompt = prompt[-(self.n_ctx // 2) :]
            trimmed = max(trimmed, 1)
        max_new = min(params.max_tokens, self.n_ctx - len(prompt))

        def stats(reason: FinishReason, n: int, first: float | None) -> GenerationStats:
            return GenerationStats(
                prompt_tokens=len(prompt),
                completion_tokens=n,
                time_to_first_token=None if first is None else first - started,
                total_time=time.perf_counter() - started,
                finish_reason=reason,
                trimmed_messages=trimmed,
            )

        if not self._prefill(prompt, cancelled, canonical=params.seed is not None):
            report(stats("cancelled", 0, None))
            return
        llm = self.llm
        llm.set_seed(params.seed if params.seed is not None else random.randrange(2**31))
        stops = (*params.stop, *self.renderer.stop_strings)
        scanner = StopScanner(stops) if stops else None
        decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
        vocab, is_eog, piece_of = self._vocab, self._is_eog, self._piece
        reason: FinishReason = "length"
        hit_stop_string = False
        n = 0
        first: float | None = None
        leading = True  # strip whitespace before the first visible text
        pending: list[str] = []
        last_emit = 0.0
        grammar = None
        if params.grammar is not None:
            from llama_cpp.llama_grammar import LlamaGrammar

            # A fresh grammar per reply: its state advances with every sampled token. The
            # sampler chain applies it before top-k/top-p/temperature (or greedy at temp 0).
            grammar = LlamaGrammar.from_string(params.grammar, verbose=False)
        tokens = llm.generate(
            prompt,
            top_k=_TOP_K,
            top_p=params.top_p,
            min_p=_MIN_P,
            temp=params.temperature,
            repeat_penalty=1.0,
            grammar=grammar,
        )
        try:
            for token in tokens:
                if cancelled.is_set():
                    reason = "cancelled"
                    break
                if is_eog(vocab, token):
                    reason = "stop"
                    break
                n += 1
                now = time.perf_counter()
                if first is None:
                    first = now
                text = decode(piece_of(token))
                if leading and text:
                    text = text.lstrip()
                    leading = not text
                if scanner is not None and text:
                    text, hit = scanner.feed(text)
                    if hit:
                        if text:
                            pending.append(text)
                        reason, hit_stop_string = "stop", True
                        break
                if text:
                    pending.append(text)
                    if now - last_emit >= EMIT_INTERVAL:
                        emit(pending)
                        pending = []
                        last_emit = now
                if n >= max_new:
                    break
        finally:
            tokens.close()
        if scanner is not None and not hit_stop_string:
            held = scanner.flush()  # an unfinished stop string was plain text after all
            if held:
                pending.append(held)
        if pending:
            emit(pending)
        report(stats(reason, n, first))

    def _prefill(self, prompt: list[int], cancelled: threading.Event, canonical: bool) -> bool:
        """Evaluate most of the prompt in chunks, looking at the cancel flag between them.

        ``Llama.generate`` evaluates the rest (it finds the part done here in its cache).
        Returns False if cancelled.

        Default mode reuses as much of the KV cache as raw llama-cpp-python does (a chat
        resends its history each turn) and leaves the last chunk, final token included, to
        ``generate``, so it adds no decode call. The numbers llama.cpp computes depend a little
        on how a prompt was split into batches, so the same prompt after a different history
        may pick different greedy tokens. ``canonical`` mode (used when a seed is given) makes
        replies reproducible: the prompt is always split the same way (chunks aligned to
        multiples of ``PREFILL_CHUNK``, then the rest but the final token, then the final token
        alone) and only cache entries made that way are reused; the same prompt again reuses
        everything but its final token.
        """
        if cancelled.is_set():
            return False
        llm = self.llm
        if self._stateful:
            if canonical:
                llm.reset()
            return True
        n = len(prompt)
        limit = min(int(llm.n_tokens), n - 1)
        cached = llm.input_ids[:limit].tolist() if limit > 0 else []
        common = 0
        while common < limit and cached[common] == prompt[common]:
            common += 1
        if canonical:
            same = prompt == self._canon_prompt and common == n - 1
            keep = n - 1 if same else min(common, self._aligned) // PREFILL_CHUNK * PREFILL_CHUNK
            stop_at = n - 1
        else:
            keep = common
            stop_at = n - PREFILL_CHUNK
        if self._canon_prompt is not None and keep < len(self._canon_prompt) - 1:
            self._canon_prompt = None
        self._aligned = min(self._aligned, keep // PREFILL_CHUNK * PREFILL_CHUNK)
        if not canonical and stop_at <= keep:
            return True  # a short rest: generate() evaluates it in one go, as raw does
        if keep == 0:
            llm.reset()
        else:
            llm.n_tokens = keep  # eval() drops the KV cache past this point
        pos = keep
        while pos < stop_at:
            if cancelled.is_set():
                return False
            end = min((pos // PREFILL_CHUNK + 1) * PREFILL_CHUNK, stop_at)
            llm.eval(prompt[pos:end])
            if canonical and end % PREFILL_CHUNK == 0:
                self._aligned = end
            pos = end
        if canonical:
            self._canon_prompt = prompt
        return True
