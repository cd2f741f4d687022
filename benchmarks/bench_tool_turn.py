"""Time to the model's first tool call in a chat turn, with the bundled model and built-in tools.

The whole product path: ``build_core(start_tools=True)`` with ``tools_in_chat`` on, the built-in
servers (files, notes, clock) started, then a question that wants the clock. Measured from
``ChatService.send`` to the stored ``tool`` message (the call made and its result written), and
to the end of the reply (one tool step allowed). Compared with a plain reply to the same
question with tools off, in the same run.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from benchmarks.common import summary, write_results
from keiko_desktop.app import build_core
from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.events import MessageCreated

QUESTION = "What time is it in UTC? Use the clock."
ROUNDS = 3


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = Paths(Path(tmp) / "c", Path(tmp) / "d", Path(tmp) / "x")
        settings = Settings(
            temperature=0.0, max_tokens=96, tool_max_steps=1, tools_in_chat=True, threads=2
        )
        core = await build_core(paths, settings, start_tools=True)
        await core.models.get()
        await core.wait_tools(settle=30)
        tool_at: list[float] = []

        def on_created(event: MessageCreated) -> None:
            if event.role == "tool":
                tool_at.append(time.perf_counter())

        core.bus.subscribe(MessageCreated, on_created)
        first_call, with_tools, plain = [], [], []
        for _ in range(ROUNDS):
            core.settings = settings
            tool_at.clear()
            start = time.perf_counter()
            reply = await core.chat.send(None, QUESTION)
            await reply.result()
            with_tools.append(time.perf_counter() - start)
            if tool_at:
                first_call.append(tool_at[0] - start)
            core.settings = settings.with_changes(tools_in_chat=False)
            start = time.perf_counter()
            reply = await core.chat.send(None, QUESTION)
            await reply.result()
            plain.append(time.perf_counter() - start)
        await core.aclose()
    write_results(
        "tool_turn",
        {
            "headline": {
                "first_tool_call_s_median": summary(first_call)["median"] if first_call else None,
                "reply_with_one_tool_step_s_median": summary(with_tools)["median"],
                "plain_reply_s_median": summary(plain)["median"],
                "tool_calls_made": f"{len(first_call)}/{ROUNDS}",
            },
            "first_tool_call_s": first_call,
            "reply_with_tools_s": with_tools,
            "plain_reply_s": plain,
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
