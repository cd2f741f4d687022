"""SlashCommands: MCP server prompts as ``/<server>.<prompt>`` commands in the composer.

Typing ``/`` in the message box opens a list above it of the prompts whose command matches
(their titles and descriptions escaped, one line each). Up/Down move, Tab or Enter completes
the command, Esc closes the list. After the command, the list shows how it is written (its
arguments, required ones without brackets) and, where the server completes arguments, the
values it suggests for the word being typed (asked ``COMPLETE_DELAY_MS`` after the last key,
so typing never waits on a server); Tab or Enter puts the chosen value in. Enter on a known
command with its arguments emits ``run_requested``; any other text starting with ``/`` (a
path, say) is sent as a message as before. The keys are taken by an event filter on the text
box, so the focus never leaves it. Passive: the presenter (``presenters/chat_prompts.py``)
feeds it prompts and completions and runs what it asks for.
"""

from __future__ import annotations

import html
import shlex
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QPlainTextEdit, QWidget

from keiko_desktop.core.safe_text import one_line, printable
from keiko_desktop.core.tools.resources import PromptInfo, usage

MAX_SHOWN = 50
MAX_ROWS = 8
COMPLETE_DELAY_MS = 250
KIND_ROLE = Qt.ItemDataRole.UserRole
VALUE_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class Typed:
    """Where the cursor is in a command being written."""

    prompt: PromptInfo
    words: tuple[str, ...]
    argument: str | None
    """The argument the last word fills (None: no argument left)."""
    value: str
    named: bool


def split_words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an open quote while typing
        return text.split()


class SlashCommands(QObject):
    """The command list of one composer text box (see the module docs).

    Signals:
        run_requested(object, list): Enter on a known command: its ``PromptInfo`` and words.
        completion_wanted(object, str, str, dict): values for an argument of a prompt are
            wanted: the prompt, the argument's name, what is typed of it, the other values.
        opened(): the user typed ``/`` (the presenter refreshes the prompts).
    """

    run_requested = Signal(object, list)
    completion_wanted = Signal(object, str, str, dict)
    opened = Signal()

    def __init__(self, editor: QPlainTextEdit, host: QWidget) -> None:
        super().__init__(editor)
        self.editor = editor
        self.host = host
        self._prompts: dict[str, PromptInfo] = {}
        self._completing: set[str] = set()
        self._values: tuple[str, tuple[str, ...]] = ("", ())
        self.popup = QListWidget(host)
        self.popup.setObjectName("SlashCommands")
        self.popup.setAccessibleName("Commands")
        self.popup.setAccessibleDescription(
            "Server prompts: Up and Down choose, Tab or Enter picks, Esc closes"
        )
        self.popup.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.popup.setUniformItemSizes(True)
        self.popup.hide()
        self.popup.itemClicked.connect(self._on_popup_item_clicked)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COMPLETE_DELAY_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        editor.installEventFilter(self)
        editor.textChanged.connect(self._on_editor_text_changed)

    # ------------------------------------------------------------------ setters
    def set_prompts(self, prompts: list[PromptInfo], completing: set[str] | None = None) -> None:
        """The prompts offered; ``completing``: servers that complete arguments."""
        self._prompts = {p.command: p for p in prompts}
        self._completing = set(completing or ())
        if self.popup.isVisible() or self.editor.toPlainText().startswith("/"):
            self._refresh()

    def set_completions(self, prompt: PromptInfo, argument: str, values: list[str]) -> None:
        """Values the server suggests for ``argument`` (shown if still being typed)."""
        typed = self.typed()
        if typed is None or typed.prompt != prompt or typed.argument != argument:
            return
        self._values = (f"{prompt.command}.{argument}", tuple(values[:MAX_SHOWN]))
        self._refresh()

    # ------------------------------------------------------------------ queries
    def prompts(self) -> list[PromptInfo]:
        return list(self._prompts.values())

    def typed(self) -> Typed | None:
        """The known command in the box and the argument being typed, or None."""
        text = self.editor.toPlainText()
        if not text.startswith("/"):
            return None
        head, sep, rest = text[1:].partition(" ")
        prompt = self._prompts.get(head)
        if prompt is None or not sep:
            return None
        words = split_words(rest)
        if rest.endswith(" ") or not words:
            words.append("")
        names = [a.name for a in prompt.arguments]
        last = words[-1]
        key, eq, value = last.partition("=")
        if eq and key in names:
            return Typed(prompt, tuple(words), key, value, True)
        given = {w.partition("=")[0] for w in words[:-1] if "=" in w}
        positional = sum(1 for w in words[:-1] if "=" not in w)
        free = [n for n in names if n not in given]
        argument = free[positional] if positional < len(free) else None
        return Typed(prompt, tuple(words), argument, last, False)

    def is_open(self) -> bool:
        return self.popup.isVisible()

    # ------------------------------------------------------------------ the list
    def _refresh(self) -> None:
        text = self.editor.toPlainText()
        if not text.startswith("/") or not self._prompts or "\n" in text:
            self._hide()
            return
        head, sep, _rest = text[1:].partition(" ")
        self.popup.clear()
        if not sep:
            matches = [p for c, p in self._prompts.items() if c.startswith(head)]
            matches += [p for c, p in self._prompts.items() if head in c and p not in matches]
            for prompt in matches[:MAX_SHOWN]:
                about = prompt.title or prompt.description
                label = f"/{prompt.command}" + (f"  —  {about}" if about else "")
                self._add(one_line(label, 160), "command", prompt.command, prompt.description)
        else:
            typed = self.typed()
            if typed is None:
                self._hide()
                return
            self._add(usage(typed.prompt), "hint", "", _arguments_help(typed.prompt))
            key, values = self._values
            if typed.argument is not None and key == f"{typed.prompt.command}.{typed.argument}":
                for value in values:
                    if value.startswith(typed.value) and value != typed.value:
                        self._add(one_line(value, 160), "value", value, "")
        if self.popup.count() == 0:
            self._hide()
            return
        first = next(
            (i for i in range(self.popup.count()) if self._kind(i) != "hint"),
            -1,
        )
        self.popup.setCurrentRow(first)
        self._place()
        self.popup.show()
        self.popup.raise_()

    def _add(self, text: str, kind: str, value: str, tip: str) -> None:
        item = QListWidgetItem(text)
        item.setData(KIND_ROLE, kind)
        item.setData(VALUE_ROLE, value)
        if tip:
            item.setToolTip(plain_tip(tip))
        if kind == "hint":
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.popup.addItem(item)

    def _kind(self, row: int) -> str:
        item = self.popup.item(row)
        return str(item.data(KIND_ROLE)) if item is not None else ""

    def _place(self) -> None:
        rows = min(MAX_ROWS, self.popup.count())
        height = rows * max(18, self.popup.sizeHintForRow(0)) + 6
        top_left = self.editor.mapTo(self.host, QPoint(0, 0))
        width = max(240, self.editor.width())
        self.popup.setGeometry(top_left.x(), max(0, top_left.y() - height - 4), width, height)

    def _hide(self) -> None:
        self.popup.hide()
        self._timer.stop()

    def _move(self, step: int) -> None:
        count = self.popup.count()
        selectable = [i for i in range(count) if self._kind(i) != "hint"]
        if not selectable:
            return
        row = self.popup.currentRow()
        at = selectable.index(row) if row in selectable else -1
        self.popup.setCurrentRow(selectable[(at + step) % len(selectable)])

    def _pick(self, item: QListWidgetItem | None) -> bool:
        """Put the chosen command or value in the box; False when nothing was chosen."""
        if item is None:
            return False
        kind = str(item.data(KIND_ROLE))
        value = str(item.data(VALUE_ROLE))
        if kind == "command":
            self._set_text(f"/{value} ")
            return True
        if kind == "value":
            typed = self.typed()
            if typed is None or typed.argument is None:
                return False
            word = f"{typed.argument}={value}" if typed.named else value
            if any(c.isspace() for c in word):
                word = shlex.quote(word)
            text = self.editor.toPlainText()
            cut = len(text) - len(text.split(" ")[-1]) if not text.endswith(" ") else len(text)
            self._set_text(text[:cut] + word + " ")
            return True
        return False

    def _set_text(self, text: str) -> None:
        self.editor.setPlainText(text)
        self.editor.moveCursor(self.editor.textCursor().MoveOperation.End)

    # ------------------------------------------------------------------ keys
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is not self.editor or not isinstance(event, QKeyEvent):
            return False
        if event.type() == QEvent.Type.ShortcutOverride:
            if event.key() == Qt.Key.Key_Escape and self.popup.isVisible():
                event.accept()  # ours: Esc closes the list before it stops a reply
                return True
            return False
        if event.type() != QEvent.Type.KeyPress:
            return False
        return self._key(event)

    def _key(self, event: QKeyEvent) -> bool:
        key = event.key()
        plain = not (event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        enter = key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and plain
        if self.popup.isVisible():
            if key == Qt.Key.Key_Escape:
                self._hide()
                return True
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                self._move(1 if key == Qt.Key.Key_Down else -1)
                return True
            if key == Qt.Key.Key_Tab or enter:
                row = self.popup.currentRow()
                if row >= 0 and self._kind(row) != "hint":
                    return self._pick(self.popup.item(row))
                if key == Qt.Key.Key_Tab:
                    return True
        if enter:
            return self._run()
        return False

    def _run(self) -> bool:
        text = self.editor.toPlainText()
        if not text.startswith("/"):
            return False
        head, _sep, rest = text[1:].partition(" ")
        prompt = self._prompts.get(head.strip())
        if prompt is None:
            return False  # not a command: sent as a message
        self._hide()
        self.run_requested.emit(prompt, split_words(rest))
        return True

    # ------------------------------------------------------------------ slots
    def _on_editor_text_changed(self) -> None:
        text = self.editor.toPlainText()
        if text == "/":
            self.opened.emit()
        self._refresh()
        typed = self.typed()
        if typed is not None and typed.argument and typed.prompt.server in self._completing:
            self._timer.start()
        else:
            self._timer.stop()

    def _on_timer_timeout(self) -> None:
        typed = self.typed()
        if typed is None or typed.argument is None:
            return
        context: dict[str, str] = {}
        for word in typed.words[:-1]:
            key, eq, value = word.partition("=")
            if eq:
                context[key] = value
        self.completion_wanted.emit(typed.prompt, typed.argument, typed.value, context)

    def _on_popup_item_clicked(self, item: QListWidgetItem) -> None:
        self._pick(item)
        self.editor.setFocus()


def plain_tip(text: str) -> str:
    """A tooltip showing ``text`` (a server's) as text: Qt would render HTML in a plain
    tooltip string, so it is escaped into rich text of its own."""
    lines = [html.escape(printable(line, newlines=False)) for line in text.splitlines()[:20]]
    return "<qt>" + "<br>".join(line[:500] for line in lines) + "</qt>"


def _arguments_help(prompt: PromptInfo) -> str:
    lines = [prompt.description] if prompt.description else []
    for arg in prompt.arguments:
        about = arg.description or arg.title
        need = "required" if arg.required else "optional"
        lines.append(f"{arg.name} ({need})" + (f": {about}" if about else ""))
    return "\n".join(lines)
