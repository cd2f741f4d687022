"""MCP resources and prompts in the window, by keyboard: the slash-command list of the
composer (``/docs.review`` picked, an argument completed, run and sent as the user's message
with its embedded resource attached), argument checks, Esc; the "Attach from server" picker
(Ctrl+Shift+R, filter, Enter; a template filled with a completed value), a subscribed
resource refreshed, an unreadable binary refused like a dropped file, and server text
escaped. The server is the real resources test server over stdio, in the pool's default mode.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from keiko_desktop.app import Core, build_files
from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.tools.resources import PromptArgument, PromptInfo
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.mcp_tools.config import StdioServerConfig
from keiko_desktop.mcp_tools.connection import PoolOptions
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.resources import McpResources
from keiko_desktop.mcp_tools.transport import ClientFactory
from keiko_desktop.ui.dialogs.resource_picker import ResourcePicker
from keiko_desktop.ui.widgets.slash_commands import SlashCommands
from tests.helpers.fake_model import FakeChatModel
from tests.helpers.mcp_servers.resources_server import EVIL_TITLE, configure
from tests.qt.conftest import IGNORED_QT_MESSAGES, Harness, make_fake_core

SERVER = Path(__file__).parents[1] / "helpers" / "mcp_servers" / "resources_server.py"
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def rh(
    make_harness: Callable[..., Harness], paths: Paths, fake_model: FakeChatModel
) -> Iterator[Harness]:
    holder: dict[str, ServerPool] = {}

    async def core_with_docs() -> Core:
        core = await make_fake_core(paths, fake_model, Settings(max_tokens=48))
        core.files = build_files(core)
        core.chat.set_files(core.files)
        pool = ServerPool(
            core.bus, ClientFactory(log_dir=paths.log_dir), PoolOptions(call_timeout=10)
        )
        holder["pool"] = pool
        service = ToolService(pool, core.bus)
        service.content = McpResources(pool)
        pool.add(StdioServerConfig("docs", sys.executable, (str(SERVER),)))
        assert await pool.wait_settled(time_limit=30)
        core.tools = service
        return core

    harness = make_harness(core_with_docs)
    yield harness
    harness.run(harness.core.chat.stop_all())
    harness.run(holder["pool"].aclose(), timeout=20)


def commands(h: Harness) -> SlashCommands:
    return h.controller.chat.files.prompts.commands  # type: ignore[no-any-return]


def rows(commands_: SlashCommands) -> list[str]:
    popup = commands_.popup
    return [popup.item(i).text() for i in range(popup.count())]


def chip_names(h: Harness) -> list[str]:
    chips = h.panel.composer.chips
    return [c.state.name for c in (chips.chip(t) for t in chips.tokens()) if c is not None]


def user_texts(h: Harness) -> list[str]:
    view = h.panel.view
    widgets = (view.widget_for(m) for m in view.message_ids())
    return [w.text for w in widgets if w is not None and w.message.role == "user"]


def test_a_prompt_is_picked_completed_and_sent_by_keyboard(rh: Harness) -> None:
    editor = rh.panel.composer.editor
    editor.setFocus()
    slash = commands(rh)
    QTest.keyClicks(editor, "/")
    rh.wait(lambda: slash.is_open() and any("/docs.review" in r for r in rows(slash)))
    assert "/docs.review  —  Review a topic" in rows(slash)
    assert slash.popup.accessibleName() == "Commands"
    QTest.keyClicks(editor, "docs.rev")
    QTest.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "/docs.review "
    assert rows(slash)[0] == "/docs.review topic=… [style=…]"
    QTest.keyClicks(editor, "s")
    rh.wait(lambda: rows(slash)[1:] == ["security", "speed", "style"])
    QTest.keyClick(editor, Qt.Key.Key_Down)
    QTest.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "/docs.review speed "
    QTest.keyClicks(editor, "style=calm")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    rh.wait(lambda: len(user_texts(rh)) == 1, timeout=20)
    [text] = user_texts(rh)
    assert text.startswith("Please review speed in a calm way.")
    assert "I will look at the read-me first." in text  # the assistant part, as context
    files = rh.core.files
    assert files is not None
    conversation = rh.controller.chat.conversation_id
    assert conversation is not None
    attached = rh.run(files.for_conversation(conversation))
    assert [a.name for a in attached] == ["docs:docs://pages/intro"]


def test_missing_argument_and_esc(rh: Harness) -> None:
    editor = rh.panel.composer.editor
    editor.setFocus()
    slash = commands(rh)
    QTest.keyClicks(editor, "/")
    rh.wait(slash.is_open)
    QTest.keyClick(editor, Qt.Key.Key_Escape)
    assert not slash.is_open()
    assert editor.toPlainText() == "/"
    QTest.keyClicks(editor, "docs.review ")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    notice = rh.panel.notice
    rh.wait(lambda: "needs topic" in notice.label.text())
    assert user_texts(rh) == []
    editor.clear()
    QTest.keyClicks(editor, "/etc/hosts is a file")  # not a command: an ordinary message
    QTest.keyClick(editor, Qt.Key.Key_Return)
    rh.wait(lambda: user_texts(rh) == ["/etc/hosts is a file"], timeout=20)


# The completer's list grabs the keyboard, which the offscreen plugin cannot (and says so).
@pytest.mark.qt_log_ignore(*IGNORED_QT_MESSAGES, "This plugin does not support grabbing")
def test_resources_are_attached_from_the_picker_by_keyboard(rh: Harness) -> None:
    editor = rh.panel.composer.editor
    editor.setFocus()
    QTest.keyClick(editor, Qt.Key.Key_R, CTRL_SHIFT)
    picker = rh.controller.chat.files.resources.picker
    assert isinstance(picker, ResourcePicker)
    rh.wait(lambda: picker.list.count() >= 5)
    labels = [picker.list.item(i).text() for i in range(picker.list.count())]
    assert any("Read me" in label for label in labels)
    assert not any(EVIL_TITLE in label for label in labels)
    assert any("\\x1b]0;pwned" in label for label in labels)  # escaped, shown
    QTest.keyClicks(picker.filter, "readme")
    QTest.keyClick(picker.filter, Qt.Key.Key_Return)
    rh.wait(lambda: "docs:docs://readme" in chip_names(rh))
    chips = rh.panel.composer.chips
    rh.wait(lambda: not chips.busy())
    assert [chips.status(t) for t in chips.tokens()] == ["ready"]

    QTest.keyClick(editor, Qt.Key.Key_R, CTRL_SHIFT)
    rh.wait(lambda: picker.list.count() >= 5)
    picker.filter.clear()
    QTest.keyClicks(picker.filter, "template")
    QTest.keyClick(picker.filter, Qt.Key.Key_Tab)  # to the list
    QTest.keyClick(picker.list, Qt.Key.Key_Return)  # a template: to its field
    field = picker.field("page")
    assert field is not None
    assert field.accessibleName() == "Value of page"
    QTest.keyClicks(field, "us")
    completer = field.completer()
    assert completer is not None
    rh.wait(lambda: completer.model().rowCount() == 1)
    assert completer.model().index(0, 0).data() == "usage"
    field.setText("usage")
    QTest.keyClick(field, Qt.Key.Key_Return)
    rh.wait(lambda: "docs:docs://pages/usage" in chip_names(rh))
    rh.wait(lambda: not chips.busy())
    assert all(chips.status(t) == "ready" for t in chips.tokens())


def test_binary_refused_and_subscribed_resource_refreshed(rh: Harness) -> None:
    resources = rh.controller.chat.files.resources
    chips = rh.panel.composer.chips
    resources.attach("docs", "docs://blob.bin")
    rh.wait(lambda: any(chips.status(t) == "failed" for t in chips.tokens()))
    [token] = chips.tokens()
    assert "binary" in chips.message(token).lower()
    chips.remove(token)
    resources.attach("docs", "docs://live")
    rh.wait(lambda: any(chips.status(t) == "ready" for t in chips.tokens()))
    [token] = chips.tokens()
    first = chips.info(token)
    assert first is not None
    attacher = resources._attacher
    assert attacher is not None
    rh.wait(lambda: attacher.watching("docs", "docs://live"))
    QTest.qWait(500)  # the subscription is open before the change
    pool = rh.core.tools.provider  # type: ignore[union-attr]
    rh.run(pool.call_tool("docs", "bump", {"text": "version 2 of the live note"}))
    rh.wait(lambda: (chips.info(token) or first).id != first.id, timeout=20)
    files = rh.core.files
    assert files is not None
    info = chips.info(token)
    assert info is not None
    [page] = rh.run(files.pages(info.id))
    assert page.text == "version 2 of the live note"


def test_slash_list_escapes_and_checks(qtbot: object) -> None:
    """The widget alone: a hostile title is one escaped line; the hint lists arguments."""
    from PySide6.QtWidgets import QPlainTextEdit, QWidget

    host = QWidget()
    qtbot.addWidget(host)  # type: ignore[attr-defined]
    editor = QPlainTextEdit(host)
    slash = SlashCommands(editor, host)
    evil = PromptInfo(
        "srv",
        "x",
        title="<b>bold</b>\x1b[2J\u202e",
        arguments=(PromptArgument("a", required=True), PromptArgument("b")),
    )
    slash.set_prompts([evil])
    editor.setPlainText("/")
    [row] = rows(slash)
    assert "\x1b" not in row
    assert "\u202e" not in row
    assert "<b>bold</b>" in row  # a list item is plain text: shown, not rendered
    editor.setPlainText("/srv.x ")
    assert rows(slash) == ["/srv.x a=… [b=…]"]
    typed = slash.typed()
    assert typed is not None
    assert typed.argument == "a"


def test_a_sent_resource_comes_back_refreshed_for_the_next_message(rh: Harness) -> None:
    resources = rh.controller.chat.files.resources
    chips = rh.panel.composer.chips
    resources.attach("docs", "docs://live")
    rh.wait(lambda: any(chips.status(t) == "ready" for t in chips.tokens()))
    attacher = resources._attacher
    assert attacher is not None
    rh.wait(lambda: attacher.watching("docs", "docs://live"))
    editor = rh.panel.composer.editor
    editor.setFocus()
    QTest.keyClicks(editor, "What does it say?")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    rh.wait(lambda: len(user_texts(rh)) == 1 and not chips.tokens(), timeout=20)
    QTest.qWait(500)
    pool = rh.core.tools.provider  # type: ignore[union-attr]
    rh.run(pool.call_tool("docs", "bump", {"text": "version 3 of the live note"}))
    rh.wait(lambda: any(chips.status(t) == "ready" for t in chips.tokens()), timeout=20)
    [token] = chips.tokens()
    info = chips.info(token)
    assert info is not None
    assert info.name == "docs:docs://live"
    files = rh.core.files
    assert files is not None
    [page] = rh.run(files.pages(info.id))
    assert page.text == "version 3 of the live note"
    toasts = rh.window.toasts
    rh.wait(lambda: "was refreshed" in toasts.label.text())


@pytest.fixture
def idle(make_harness: Callable[..., Harness], paths: Paths, fake_model: FakeChatModel) -> Harness:
    """The window with attachments and the resources server in mcp.json, its tools never
    started (as with tools in chat off and Settings > Tools not opened)."""
    configure(paths.config_dir.parent)  # mcp.json: the resources server as "docs"

    async def core_with_files() -> Core:
        core = await make_fake_core(paths, fake_model, Settings(max_tokens=48))
        core.files = build_files(core)
        core.chat.set_files(core.files)
        return core

    return make_harness(core_with_files)


def test_the_first_use_starts_the_servers(idle: Harness) -> None:
    """Attach from server and "/" start the configured servers, and list what they offer."""
    harness = idle
    assert harness.core.tools is None
    editor = harness.panel.composer.editor
    editor.setFocus()
    button = harness.panel.composer.resource_button
    assert button.accessibleName() == "Attach from server"
    QTest.keyClick(editor, Qt.Key.Key_R, CTRL_SHIFT)
    picker = harness.controller.chat.files.resources.picker
    assert isinstance(picker, ResourcePicker)
    harness.wait(lambda: picker.list.count() > 0, timeout=60)
    labels = [picker.list.item(i).text() for i in range(picker.list.count())]
    assert any("docs://readme" in label for label in labels)
    assert harness.core.tools is not None
    assert not harness.core.settings.tools_in_chat  # the model still calls no tools
    QTest.keyClick(picker.filter, Qt.Key.Key_Escape)
    harness.wait(lambda: not picker.isVisible())
    editor.setFocus()
    QTest.keyClicks(editor, "/")
    prompts = harness.controller.chat.files.prompts.commands
    harness.wait(lambda: prompts.is_open() and any("/docs.review" in r for r in rows(prompts)))
    QTest.keyClick(editor, Qt.Key.Key_Escape)
