"""`keiko ask` and `keiko chat`: stream replies in the terminal.

Ctrl+C during a reply stops it cleanly: what was written is kept, marked interrupted.
`keiko ask --attach FILE` ingests each file (``core.files``) before the question is sent: a
file that cannot be attached is its message and hint on stderr, exit 2, and nothing of the
question stored (what was ingested for it is discarded again). The passages the reply drew
on are printed after it (``Sources: [notes.txt] [report.pdf, p. 3]``; ``sources`` in --json).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from keiko_desktop.app import Core, build_core
from keiko_desktop.cli.common import error, run_async, show
from keiko_desktop.core.chat.service import Reply, ReplyResult
from keiko_desktop.core.config import load_settings
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import ModelStateChanged
from keiko_desktop.core.safe_text import printable

TOOLS_SETTLE_SECONDS = 20.0


def run_ask(args: argparse.Namespace) -> int:
    files = [Path(f).expanduser().absolute() for f in getattr(args, "attach", None) or ()]
    return run_async(lambda: _ask(args, files))


def run_chat(args: argparse.Namespace) -> int:
    return run_async(lambda: _chat(args))


async def _open(args: argparse.Namespace) -> Core:
    from keiko_desktop.core.config import Paths

    paths = Paths.from_env()
    settings = load_settings(paths)
    changes: dict[str, tuple[str, object]] = {}  # key -> (the flag it came from, value)
    if getattr(args, "model", None):
        changes["model"] = ("--model", args.model)
    if getattr(args, "temperature", None) is not None:
        changes["temperature"] = ("--temperature", args.temperature)
    if getattr(args, "max_tokens", None) is not None:
        changes["max_tokens"] = ("--max-tokens", args.max_tokens)
    if getattr(args, "tools", False):
        changes["tools_in_chat"] = ("--tools", True)
    if changes:
        settings = settings.with_flags(changes)  # a bad value's error names its flag
    core = await build_core(
        paths,
        settings,
        start_tools=bool(getattr(args, "tools", False)),
        with_tasks=False,
        with_voice=False,
    )
    if getattr(args, "tools", False):
        if getattr(args, "command", None) == "ask":  # `chat` reads stdin itself: no approver,
            from keiko_desktop.cli.approvals import TerminalApprover  # so Ask is denied
            from keiko_desktop.cli.elicitation import TerminalElicitor

            core.set_approver(TerminalApprover(getattr(args, "yes", False)))
            core.set_elicitor(TerminalElicitor(getattr(args, "yes", False)))
            from keiko_desktop.cli.mcp_sampling import TerminalSamplingApprover

            core.set_sampling_approver(TerminalSamplingApprover(getattr(args, "yes", False)))
        if await core.wait_tools(settle=TOOLS_SETTLE_SECONDS) is None:
            error("the tools could not start; see the log. Answering without them.")
    return core


class ModelNotices:
    """Prints model load failures (the app then falls back to the bundled model)."""

    def __init__(self, core: Core) -> None:
        core.bus.subscribe(ModelStateChanged, self._on_bus_model_state_changed)
        if core.models.last_error is not None:  # failed while the store was opening
            error(core.models.last_error)

    def _on_bus_model_state_changed(self, event: ModelStateChanged) -> None:
        if event.state == "error":
            error(event.detail)
        elif event.state == "ready" and event.detail == "fallback":
            error(f"using the bundled model {event.model_name} instead")


@contextlib.contextmanager
def _ctrl_c_stops(reply: Reply) -> Iterator[None]:
    """While a reply streams, Ctrl+C cancels it instead of killing the process."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, reply.cancel)
    except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


async def _stream(reply: Reply, echo: bool) -> ReplyResult:
    with _ctrl_c_stops(reply):
        async for piece in reply:
            if echo:
                sys.stdout.write(printable(piece))  # the model's text is not Keiko's
                sys.stdout.flush()
        result = await reply.result()
    if echo:
        sys.stdout.write("\n")
        sys.stdout.flush()
    if result.status == "interrupted":
        error("stopped; what was written is kept")
    elif result.status == "error":
        error(result.error)
    return result


def question_text(words: list[str]) -> str:
    """The question from argv. Python turns bytes that are not UTF-8 into lone surrogates
    (``surrogateescape``); such a question is refused, naming the bytes, rather than sent with
    guessed characters: the user sees at once that the terminal's encoding is wrong."""
    text = " ".join(words)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        escaped = sorted({ord(c) - 0xDC00 for c in text if 0xDC80 <= ord(c) <= 0xDCFF})
        shown = ", ".join(f"\\x{b:02x}" for b in escaped) or f"character {exc.start + 1}"
        raise KeikoError(
            f"The question is not valid UTF-8 text: it contains {shown}, which UTF-8 cannot"
            " decode.",
            "Pass the question as UTF-8: check the terminal's encoding (LANG=C.UTF-8) and that"
            " of any file it came from.",
        ) from exc
    return text


class AttachFailedError(Exception):
    """A file given with --attach could not be attached (already reported)."""


async def _ingest_all(core: Core, files: list[Path]) -> list[int]:
    """Ingest ``files`` in order; on the first that fails, report it, discard the ones before
    it (those no message links to) and raise ``AttachFailedError``."""
    from keiko_desktop.core.files.types import AttachmentError

    if core.files is None:
        error("files cannot be attached here")
        raise AttachFailedError
    ids: list[int] = []
    try:
        for path in files:
            try:
                ids.append((await core.files.ingest(path)).id)
            except AttachmentError as exc:
                error(exc.message)
                if exc.hint:
                    error(exc.hint)
                raise AttachFailedError from exc
    except BaseException:
        await _discard(core, ids)
        raise
    return ids


async def _discard(core: Core, ids: list[int]) -> None:
    if core.files is None:
        return
    for attachment_id in ids:
        with contextlib.suppress(Exception):
            await asyncio.shield(core.files.discard(attachment_id))


async def _sources(core: Core, message_id: int | None) -> list[dict[str, Any]]:
    """The passages the reply ``message_id`` drew on, one per chunk, in the stored order."""
    if core.files is None or message_id is None:
        return []
    return [
        {
            "label": p.label,
            "name": p.name,
            "page": p.chunk.page,
            "attachment_id": p.chunk.attachment_id,
            "chunk_id": p.chunk.id,
        }
        for p in await core.files.sources(message_id)
    ]


def _print_sources(sources: list[dict[str, Any]]) -> None:
    labels = list(dict.fromkeys(str(s["label"]) for s in sources))  # each passage's label once
    if labels:
        show("Sources: " + " ".join(labels))  # file names are not Keiko's text


async def _ask(args: argparse.Namespace, files: list[Path]) -> int:
    question = question_text(args.question)  # before the core: a bad question writes nothing
    core = await _open(args)
    notices = ModelNotices(core)
    try:
        try:
            attachments = await _ingest_all(core, files)
        except AttachFailedError:
            return 2
        try:
            reply = await core.chat.send(args.conversation, question, attachments=attachments)
        except BaseException:
            await _discard(core, attachments)
            raise
        result = await _stream(reply, echo=not args.json)
        sources = await _sources(core, result.message_id)
        if not args.json:
            _print_sources(sources)
        if args.json:
            stats = result.stats
            print(
                json.dumps(
                    {
                        "text": result.text,
                        "status": result.status,
                        "model": result.model,
                        "conversation_id": reply.conversation_id,
                        "message_id": result.message_id,
                        "prompt_tokens": stats.prompt_tokens,
                        "completion_tokens": stats.completion_tokens,
                        "time_to_first_token": stats.time_to_first_token,
                        "tokens_per_second": stats.tokens_per_second,
                        "total_time": stats.total_time,
                        "error": result.error,
                        "sources": sources,
                    }
                )
            )
        return {"complete": 0, "interrupted": 130}.get(result.status, 1)
    finally:
        del notices
        await core.aclose()


class _LineReader:
    """Reads stdin lines on a daemon thread so the loop never blocks and exit never hangs."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=self._read, name="keiko-stdin", daemon=True).start()

    def _read(self) -> None:
        # Bytes that are not text (invalid UTF-8) arrive as lone surrogates, which the chat
        # refuses with a clear message, instead of killing this thread with a decode error.
        encoding = sys.stdin.encoding or "utf-8"
        for raw in sys.stdin.buffer:
            line = raw.decode(encoding, "surrogateescape").rstrip("\r\n")
            self._loop.call_soon_threadsafe(self._queue.put_nowait, line)
        self._loop.call_soon_threadsafe(self._queue.put_nowait, None)

    async def readline(self, prompt: str) -> str | None:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        return await self._queue.get()


_CHAT_HELP = "Type a message and press Enter. /new starts a new chat, /exit (or Ctrl+D) quits."


async def _chat(args: argparse.Namespace) -> int:
    core = await _open(args)
    notices = ModelNotices(core)
    conversation_id: int | None = args.conversation
    try:
        if conversation_id is not None:
            if await core.conversations.get_conversation(conversation_id) is None:
                error(f"there is no conversation {conversation_id}; see `keiko history`")
                return 1
            for m in await core.conversations.list_messages(conversation_id):
                mark = "" if m.status == "complete" else f" [{m.status}]"
                show(f"{m.role}{mark}> {m.content}")
        print(_CHAT_HELP)
        reader = _LineReader()
        while True:
            line = await reader.readline("you> ")
            if line is None or line.strip() in ("/exit", "/quit"):
                print()
                return 0
            if line.strip() == "/new":
                conversation_id = None
                print("(new chat)")
                continue
            if line.strip() in ("/help", "?"):
                print(_CHAT_HELP)
                continue
            if not line.strip():
                continue
            try:
                reply = await core.chat.send(conversation_id, line)
            except KeikoError as exc:
                error(exc)
                continue
            conversation_id = reply.conversation_id
            sys.stdout.write("keiko> ")
            await _stream(reply, echo=True)
    finally:
        del notices
        await core.aclose()
