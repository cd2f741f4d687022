"""A ``llama_cpp.Llama`` and everything done with it, confined to one worker thread.

Nothing here is async and nothing here is thread-safe: ``LlamaChatModel`` creates the engine on
its ``ThreadWorker`` and calls every method there. The decode loop is kept as thin as raw
llama-cpp-python's: one flag check, one end-of-generation check, one piece decode and one
``emit`` per token.
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

from keiko_desktop.core.chat.context import fit_messages
from keiko_desktop.core.ports import ChatMessage, FinishReason, GenerationParams, GenerationStats
from keiko_desktop.llm.gguf import load_failure
from keiko_desktop.llm.prompting import ChatRenderer, StopScanner

# Prompt tokens evaluated between two looks at the cancel flag.
PREFILL_CHUNK = 64
# Share of the context a reply may claim when max_tokens asks for more than fits.
MAX_REPLY_SHARE = 0.75
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
        )
        self._last_messages: list[ChatMessage] | None = None
        self._last_tokens: list[int] = []

    @classmethod
    def open(cls, path: str, n_ctx: int, n_threads: int) -> LlamaEngine:
        """Load ``path``; llama.cpp's refusal becomes a ModelLoadError naming the file."""
        try:
            llm = llama_cpp.Llama(
                model_path=path,
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
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
        """The prompt tokens for ``messages``; the last result is kept for the next call."""
        msgs = list(messages)
        if msgs == self._last_messages:
            return self._last_tokens
        text = self.renderer.render(msgs)
        tokens: list[int] = self.llm.tokenize(
            text.encode("utf-8"), add_bos=not self.renderer.adds_bos, special=True
        )
        self._last_messages, self._last_tokens = msgs, tokens
        return tokens

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return len(self.tokenize_messages(messages))

    # ------------------------------------------------------------------ generation
    def generate(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        started: float,
        report: Callable[[GenerationStats], None],
        emit: Callable[[str], None],
        cancelled: threading.Event,
    ) -> None:
        """Stream the reply to ``messages`` through ``emit``; ``report`` its stats at the end.

        ``started`` is the ``perf_counter`` time the caller asked for the reply; the stats'
        times count from it. On an exception ``report`` is not called.
        """
        reply_room = min(params.max_tokens, int(self.n_ctx * MAX_REPLY_SHARE))
        fitted, trimmed = fit_messages(messages, self.count_tokens, self.n_ctx - reply_room)
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

        if not self._prefill(prompt, cancelled):
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
        tokens = llm.generate(
            prompt,
            top_k=_TOP_K,
            top_p=params.top_p,
            min_p=_MIN_P,
            temp=params.temperature,
            repeat_penalty=1.0,
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
                if first is None:
                    first = time.perf_counter()
                text = decode(piece_of(token))
                if leading and text:
                    text = text.lstrip()
                    leading = not text
                if scanner is not None and text:
                    text, hit = scanner.feed(text)
                    if hit:
                        if text:
                            emit(text)
                        reason, hit_stop_string = "stop", True
                        break
                if text:
                    emit(text)
                if n >= max_new:
                    break
        finally:
            tokens.close()
        if scanner is not None and not hit_stop_string:
            held = scanner.flush()  # an unfinished stop string was plain text after all
            if held:
                emit(held)
        report(stats(reason, n, first))

    def _prefill(self, prompt: list[int], cancelled: threading.Event) -> bool:
        """Evaluate a long prompt in chunks, looking at the cancel flag between them.

        The last chunk is left to ``Llama.generate``, which finds the rest cached (as it finds
        the history a chat resends each turn), so short prompts cost no extra decode call.
        Returns False if cancelled.
        """
        if cancelled.is_set():
            return False
        llm = self.llm
        end = len(prompt) - PREFILL_CHUNK
        if self._stateful or end <= 0:
            return True
        limit = min(int(llm.n_tokens), end)
        cached = llm.input_ids[:limit].tolist() if limit else []
        keep = 0
        while keep < limit and cached[keep] == prompt[keep]:
            keep += 1
        if keep >= end:
            return True
        if keep == 0:
            llm.reset()
        else:
            llm.n_tokens = keep  # eval() drops the KV cache past this point
        for i in range(keep, end, PREFILL_CHUNK):
            if cancelled.is_set():
                return False
            llm.eval(prompt[i : min(i + PREFILL_CHUNK, end)])
        return True
