"""LlamaChatModel with the real bundled model (SmolLM2-135M) at temperature 0."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from keiko_desktop.core.errors import GenerationError, ModelLoadError
from keiko_desktop.core.ports import ChatMessage, ChatModel, GenerationParams, tool_calling
from keiko_desktop.llm.llama_backend import LlamaChatModel, LlamaGeneration

from .conftest import SMALL_CTX, THREADS

pytestmark = pytest.mark.model

GREEDY = GenerationParams(temperature=0.0, max_tokens=40, seed=7)
POEM = [
    ChatMessage("system", "You are a helpful assistant."),
    ChatMessage("user", "Write a short poem about the sea."),
]


async def collect(gen: LlamaGeneration) -> list[str]:
    return [piece async for piece in gen]


async def test_is_a_chat_model_with_the_files_own_template(smol: LlamaChatModel) -> None:
    assert isinstance(smol, ChatModel)
    assert tool_calling(smol) is smol  # a ToolCallingModel: grammar-constrained call_tools
    assert smol.context_length == SMALL_CTX
    assert smol.uses_chatml_fallback is False
    # The template in this GGUF adds its own default system prompt when there is none, so the
    # count of a bare user message includes more than the message itself.
    bare = await smol.count_tokens([ChatMessage("user", "Hi")])
    assert bare > 10


async def test_streams_several_pieces_and_fills_stats(smol: LlamaChatModel) -> None:
    gen = smol.generate(POEM, GREEDY)
    pieces = await collect(gen)
    assert len(pieces) >= 5
    assert "".join(pieces).strip()
    stats = gen.stats
    assert stats.finish_reason in ("stop", "length")
    assert 0 < stats.completion_tokens <= GREEDY.max_tokens
    assert stats.prompt_tokens > 10
    assert stats.time_to_first_token is not None
    assert 0 < stats.time_to_first_token <= stats.total_time
    assert stats.trimmed_messages == 0


async def test_same_prompt_at_temperature_zero_gives_same_text(smol: LlamaChatModel) -> None:
    first = "".join(await collect(smol.generate(POEM, GREEDY)))
    # Something else in between, so the second run does not just replay a cached state.
    await collect(smol.generate([ChatMessage("user", "Name three colours.")], GREEDY))
    second = "".join(await collect(smol.generate(POEM, GREEDY)))
    assert first
    assert first == second


async def test_max_tokens_ends_with_length(smol: LlamaChatModel) -> None:
    gen = smol.generate(POEM, GenerationParams(temperature=0.0, max_tokens=5))
    await collect(gen)
    assert gen.stats.finish_reason == "length"
    assert gen.stats.completion_tokens == 5


async def test_cancel_mid_stream_stops_within_100ms(smol: LlamaChatModel) -> None:
    params = GenerationParams(temperature=0.0, max_tokens=400)
    story = [ChatMessage("user", "Tell me a very long story about a dragon and a knight.")]
    gen = smol.generate(story, params)
    count = 0
    cancelled_at = 0.0
    async for _ in gen:
        count += 1
        if count == 5:
            cancelled_at = time.perf_counter()
            gen.cancel()
    latency = time.perf_counter() - cancelled_at
    assert count >= 5
    assert latency < 0.1, f"cancel took {latency * 1000:.0f} ms"
    assert gen.stats.finish_reason == "cancelled"
    assert gen.stats.completion_tokens < 50


async def test_cancel_before_iterating_yields_nothing(smol: LlamaChatModel) -> None:
    gen = smol.generate(POEM, GREEDY)
    gen.cancel()
    assert await collect(gen) == []
    assert gen.stats.finish_reason == "cancelled"


async def test_history_far_longer_than_context_still_replies(smol: LlamaChatModel) -> None:
    history = [ChatMessage("system", "You are a helpful assistant.")]
    for i in range(60):
        history.append(ChatMessage("user", f"Tell me fact number {i} about the ocean, in detail."))
        history.append(ChatMessage("assistant", f"Fact {i}: the ocean is deep and wide. " * 3))
    history.append(ChatMessage("user", "What is the capital of France?"))
    assert await smol.count_tokens(history) > 4 * SMALL_CTX

    gen = smol.generate(history, GenerationParams(temperature=0.0, max_tokens=30))
    text = "".join(await collect(gen))
    assert text.strip()
    assert gen.stats.trimmed_messages > 0
    assert gen.stats.prompt_tokens + gen.stats.completion_tokens <= SMALL_CTX


async def test_one_huge_message_is_shortened_to_fit(smol: LlamaChatModel) -> None:
    huge = "The quick brown fox jumps over the lazy dog. " * 400 + "What animal jumps?"
    gen = smol.generate([ChatMessage("user", huge)], GenerationParams(temperature=0, max_tokens=8))
    text = "".join(await collect(gen))
    assert text.strip()
    assert gen.stats.trimmed_messages == 1
    assert gen.stats.prompt_tokens <= SMALL_CTX - 8


async def test_max_tokens_beyond_the_context_is_capped(smol: LlamaChatModel) -> None:
    gen = smol.generate(POEM, GenerationParams(temperature=0.0, max_tokens=10 * SMALL_CTX))
    gen.cancel()  # only checking it starts without an error
    await collect(gen)
    gen = smol.generate(
        [ChatMessage("user", "Count from one to one thousand in words.")],
        GenerationParams(temperature=0.0, max_tokens=10 * SMALL_CTX),
    )
    await collect(gen)
    assert gen.stats.prompt_tokens + gen.stats.completion_tokens <= SMALL_CTX


async def test_stop_string_ends_the_reply_before_it(smol: LlamaChatModel) -> None:
    full = "".join(await collect(smol.generate(POEM, GREEDY)))
    words = full.split()
    assert len(words) > 4
    stop = words[3]
    expected = full[: full.index(stop)]
    gen = smol.generate(POEM, GenerationParams(temperature=0.0, max_tokens=40, stop=(stop,)))
    text = "".join(await collect(gen))
    assert text == expected
    assert stop not in text
    assert gen.stats.finish_reason == "stop"


async def test_streaming_does_not_block_the_event_loop(smol: LlamaChatModel) -> None:
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    long_prompt = [ChatMessage("user", "Describe the sea. " * 60)]
    await collect(smol.generate(long_prompt, GenerationParams(temperature=0.0, max_tokens=30)))
    done.set()
    await task
    assert len(gaps) > 10
    assert max(gaps) < 0.05, f"the loop stalled for {max(gaps) * 1000:.0f} ms"


async def test_leaving_the_loop_early_stops_the_worker(smol: LlamaChatModel) -> None:
    params = GenerationParams(temperature=0.0, max_tokens=400)
    story = [ChatMessage("user", "Tell me a very long story about a dragon.")]
    async for _ in smol.generate(story, params):
        break
    # If the abandoned reply kept going, this one would wait behind ~400 tokens.
    start = time.perf_counter()
    gen = smol.generate(POEM, GenerationParams(temperature=0.0, max_tokens=3))
    await collect(gen)
    assert time.perf_counter() - start < 1.5


async def test_worker_errors_come_out_as_generation_error(
    smol: LlamaChatModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = smol._engine
    assert engine is not None

    def broken(*_args: object) -> list[int]:
        raise RuntimeError("llama_decode returned -3")

    monkeypatch.setattr(engine, "tokenize_messages", broken)
    gen = smol.generate(POEM, GREEDY)
    with pytest.raises(GenerationError, match=r"smol.*llama_decode returned -3") as info:
        await collect(gen)
    assert info.value.hint
    assert gen.stats.finish_reason == "error"


async def test_a_generation_is_read_once(smol: LlamaChatModel) -> None:
    gen = smol.generate(POEM, GenerationParams(temperature=0.0, max_tokens=2))
    await collect(gen)
    with pytest.raises(GenerationError):
        await collect(gen)


async def test_multi_turn_chat_reuses_the_cache_and_answers(smol: LlamaChatModel) -> None:
    chat = [ChatMessage("user", "Hello! What is your name?")]
    reply = "".join(await collect(smol.generate(chat, GREEDY)))
    chat += [ChatMessage("assistant", reply), ChatMessage("user", "And what can you do?")]
    gen = smol.generate(chat, GREEDY)
    assert "".join(await collect(gen)).strip()
    assert gen.stats.prompt_tokens > 20


async def test_aclose_frees_the_model(bundled_gguf: Path) -> None:
    model = await LlamaChatModel.load(bundled_gguf, "temp", n_ctx=256, n_threads=THREADS)
    await collect(model.generate(POEM, GenerationParams(temperature=0.0, max_tokens=2)))
    await model.aclose()
    await model.aclose()  # twice is fine
    with pytest.raises(GenerationError, match="closed"):
        await collect(model.generate(POEM, GREEDY))


async def test_aclose_cuts_off_a_running_reply(bundled_gguf: Path) -> None:
    model = await LlamaChatModel.load(bundled_gguf, "temp", n_ctx=512, n_threads=THREADS)
    gen = model.generate(POEM, GenerationParams(temperature=0.0, max_tokens=400))
    iterator = aiter(gen)
    await anext(iterator)
    start = time.perf_counter()
    await model.aclose()
    assert time.perf_counter() - start < 0.5
    async for _ in iterator:
        pass
    assert gen.stats.finish_reason == "cancelled"


async def test_loading_a_truncated_file_names_it(truncated_gguf: Path) -> None:
    with pytest.raises(ModelLoadError) as info:
        await LlamaChatModel.load(truncated_gguf, n_ctx=256, n_threads=THREADS)
    assert str(truncated_gguf) in info.value.message
    assert "Settings" in info.value.hint


async def test_loading_a_missing_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(ModelLoadError, match="nowhere"):
        await LlamaChatModel.load(missing)
