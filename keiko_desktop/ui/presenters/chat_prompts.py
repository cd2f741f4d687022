"""ChatPrompts: server prompts run from the composer as ``/<server>.<prompt>``.

It feeds the ``SlashCommands`` list with the prompts of the ready servers (asked again when
the user types ``/``, at most every ``REFRESH_SECONDS``), answers its completion requests
through ``completion/complete`` (only for servers that offer it), and runs a prompt: the
arguments are checked (``core.tools.resources.parse_arguments``: unknown names, too many,
missing required ones are a message in the chat), ``prompts/get`` is asked, the resources the
messages embed become chips (``ChatResources``), and the messages go in as the user's
message: the user-role text as written, the assistant-role text after it as context, labelled
as what the prompt's assistant part said. Nothing becomes a system message, and the text is
the server's: it is sent as data, like anything typed, and shown escaped.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.tools.resources import (
    CompletionRef,
    McpContent,
    McpContentError,
    PromptInfo,
    PromptResult,
    parse_arguments,
)
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.presenters.tools_on_demand import running_tools
from keiko_desktop.ui.task_runner import TaskRunner
from keiko_desktop.ui.widgets.slash_commands import SlashCommands

if TYPE_CHECKING:
    from keiko_desktop.ui.panels.chat_panel import ChatPanel
    from keiko_desktop.ui.presenters.chat_resources import ChatResources

REFRESH_SECONDS = 10.0
CONTEXT_LABEL = "Context the prompt gives (its assistant part):"
SETTLE_SECONDS = 60.0


def message_text(result: PromptResult) -> str:
    """What is sent as the user's message for a run prompt."""
    text = result.user_text()
    context = result.context_text()
    if context:
        text = f"{text}\n\n{CONTEXT_LABEL}\n{context}" if text else f"{CONTEXT_LABEL}\n{context}"
    return text


class ChatPrompts(QObject):
    """Slash commands of the chat (see the module docs); ``ChatFiles`` owns one."""

    def __init__(
        self,
        panel: ChatPanel,
        core: CoreHandle,
        resources: ChatResources,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._panel = panel
        self._core = core
        self._resources = resources
        self._loaded_at = 0.0
        self.tasks = TaskRunner(self._on_user_error)
        self.commands = SlashCommands(panel.composer.editor, panel)
        self.commands.opened.connect(self._on_commands_opened)
        self.commands.run_requested.connect(self._on_commands_run_requested)
        self.commands.completion_wanted.connect(self._on_commands_completion_wanted)

    def refresh(self) -> asyncio.Task[object]:
        return self.tasks.spawn(self._load(), "list prompts")

    def close(self) -> None:
        self.tasks.close()

    # ------------------------------------------------------------------ work
    async def _content(self) -> McpContent | None:
        tools = await running_tools(await self._core.get())  # "/" starts the servers
        return tools.content if tools is not None else None

    async def _load(self) -> None:
        content = await self._content()
        if content is None:
            return
        prompts: list[PromptInfo] = []
        completing: set[str] = set()
        for server in content.servers():
            caps = content.capabilities(server)
            if not caps.prompts:
                continue
            try:
                prompts.extend((await content.list_prompts(server)).items)
            except KeikoError:
                continue  # one server's failure leaves the others' prompts
            if caps.completions:
                completing.add(server)
        if prompts:  # none yet (servers starting): ask again at the next "/"
            self._loaded_at = time.monotonic()
        self.commands.set_prompts(prompts, completing)

    async def run(self, prompt: PromptInfo, words: list[str]) -> None:
        """Check the arguments, get the prompt, attach what it embeds, send its text."""
        values = parse_arguments(prompt, words)
        content = await self._content()
        if content is None:
            raise McpContentError(
                "The MCP servers could not be started.", "See Settings > Tools (Ctrl+,) for why."
            )
        result = await content.get_prompt(prompt.server, prompt.name, values)
        attaching = [self._resources.attach_contents(prompt.server, r) for r in result.resources()]
        composer = self._panel.composer
        if any(isinstance(a, asyncio.Task) for a in attaching):
            async with asyncio.timeout(SETTLE_SECONDS):
                await asyncio.gather(*(a for a in attaching if isinstance(a, asyncio.Task)))
        text = message_text(result)
        if not text.strip():
            raise McpContentError(
                f"/{prompt.command} gave no text to send.", "Its resources are attached."
            )
        composer.set_text(text)
        composer.submit()

    async def _complete(
        self, prompt: PromptInfo, argument: str, typed: str, others: dict[str, str]
    ) -> None:
        content = await self._content()
        if content is None:
            return
        try:
            values = await content.complete(
                prompt.server, CompletionRef("prompt", prompt.name), argument, typed, others
            )
        except McpContentError:
            return
        self.commands.set_completions(prompt, argument, list(values))

    # ------------------------------------------------------------------ slots
    def _on_commands_opened(self) -> None:
        if time.monotonic() - self._loaded_at > REFRESH_SECONDS:
            self.refresh()

    def _on_commands_run_requested(self, prompt: object, words: list[str]) -> None:
        if isinstance(prompt, PromptInfo):
            self.tasks.spawn(self.run(prompt, [str(w) for w in words]), "run a prompt")

    def _on_commands_completion_wanted(
        self, prompt: object, argument: str, typed: str, others: dict[str, str]
    ) -> None:
        if isinstance(prompt, PromptInfo):
            self.tasks.spawn(self._complete(prompt, argument, typed, others), "complete")

    def _on_user_error(self, error: KeikoError) -> None:
        self._panel.show_error(error.message, error.hint)
