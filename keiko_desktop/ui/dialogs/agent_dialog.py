"""AgentDialog: edit one agent profile, every field with an editor bounded like the profile.

Three tabs: Profile (name, icon, description, tags, model, system prompt), Tools (the allowlist:
a checkable tree of the running tool servers and their tools, a whole server when all of it is
checked; without running tools, a text list, one ``server`` or ``server.tool`` a line) and
Limits (temperature, answer length, step limit, per-step timeout, retries and their wait).

Passive: ``set_profile`` fills it; OK checks the fields (``profile_from_dict``) and emits
``save_requested`` with the profile; the presenter saves it and closes the dialog, or calls
``show_error``, which shows the message and focuses the field an ``AgentProfileError`` names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.agents.errors import AgentProfileError
from keiko_desktop.core.agents.profiles import (
    BOUNDS,
    ICONS,
    AgentProfile,
    profile_from_dict,
)
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import printable
from keiko_desktop.ui.dialogs.agent_fields import (
    FIELD_HELP,
    FIELD_TAB,
    double_box,
    field_label,
    field_of,
    spin_box,
)
from keiko_desktop.ui.dialogs.agent_tools import ToolChoice, ToolTree
from keiko_desktop.ui.icons import icon
from keiko_desktop.ui.theme import LIGHT, Theme


@dataclass
class _Field:
    widget: QWidget
    get: Callable[[], Any]
    put: Callable[[Any], None]


class AgentDialog(QDialog):
    """Edits one AgentProfile (see the module docs).

    Signals:
        save_requested(object): OK with this checked ``AgentProfile`` (its ``id`` kept: None
            for a new agent).
    """

    save_requested = Signal(object)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New agent")
        self.setMinimumSize(QSize(600, 540))
        self._base = AgentProfile(name="")
        self.tabs = QTabWidget(self)
        profile_page = QWidget(self.tabs)
        tools_page = QWidget(self.tabs)
        limits_page = QWidget(self.tabs)
        self.tabs.addTab(profile_page, "Profile")
        self.tabs.addTab(tools_page, "Tools")
        self.tabs.addTab(limits_page, "Limits")

        self.name = QLineEdit(profile_page)
        self.name.setMaxLength(int(BOUNDS["name"][2]))
        self.name.setPlaceholderText("e.g. Travel planner")
        self.icon = QComboBox(profile_page)
        self.icon.setIconSize(QSize(18, 18))
        for name in ICONS:
            self.icon.addItem(icon(name, theme.text), name.capitalize(), name)
        self.description = QLineEdit(profile_page)
        self.description.setMaxLength(int(BOUNDS["description"][2]))
        self.description.setPlaceholderText("What is this agent for?")
        self.tags = QLineEdit(profile_page)
        self.tags.setPlaceholderText("research, files")
        self.model = QComboBox(profile_page)
        self.fallbacks = QLineEdit(profile_page)
        self.fallbacks.setPlaceholderText("smollm2-135m-instruct")
        self.system_prompt = QPlainTextEdit(profile_page)
        self.system_prompt.setObjectName("SystemPrompt")
        self.system_prompt.setTabChangesFocus(True)
        self.system_prompt.setPlaceholderText("You are …")
        form = QFormLayout(profile_page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(10)
        for key, widget in (
            ("name", self.name),
            ("icon", self.icon),
            ("description", self.description),
            ("tags", self.tags),
            ("model", self.model),
            ("fallbacks", self.fallbacks),
            ("system_prompt", self.system_prompt),
        ):
            form.addRow(field_label(key, profile_page, widget), widget)

        self.tool_tree = ToolTree(tools_page)
        self.tool_text = QPlainTextEdit(tools_page)
        self.tool_text.setTabChangesFocus(True)
        self.tool_text.setPlaceholderText("files.read_file\nnotes")
        self.tool_stack = QStackedWidget(tools_page)
        self.tool_stack.addWidget(self.tool_text)
        self.tool_stack.addWidget(self.tool_tree)
        self.tools_note = QLabel(tools_page)
        self.tools_note.setObjectName("PlaceholderText")
        self.tools_note.setWordWrap(True)
        tools_label = field_label("tools", tools_page, self.tool_tree)
        self.tool_text.setAccessibleName("Allowed tools, one a line")
        self.tool_text.setToolTip(FIELD_HELP["tools"])
        tools_layout = QVBoxLayout(tools_page)
        tools_layout.addWidget(tools_label)
        tools_layout.addWidget(self.tools_note)
        tools_layout.addWidget(self.tool_stack, 1)

        self.temperature = double_box("temperature", limits_page, 0.1, 2, "")
        self.max_tokens = spin_box("max_tokens", limits_page, " tokens")
        self.max_tokens.setSingleStep(64)
        self.max_steps = spin_box("max_steps", limits_page, " tool calls")
        self.step_timeout = double_box("step_timeout", limits_page, 10.0, 0, " s")
        self.retries = spin_box("retries", limits_page)
        self.retry_backoff = double_box("retry_backoff", limits_page, 0.5, 1, " s")
        limits = QFormLayout(limits_page)
        limits.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        limits.setVerticalSpacing(10)
        limit: QWidget
        for key, limit in (
            ("temperature", self.temperature),
            ("max_tokens", self.max_tokens),
            ("max_steps", self.max_steps),
            ("step_timeout", self.step_timeout),
            ("retries", self.retries),
            ("retry_backoff", self.retry_backoff),
        ):
            limit.setMinimumWidth(180)
            limits.addRow(field_label(key, limits_page, limit), limit)

        self.fields: dict[str, _Field] = {
            "name": _Field(self.name, self.name.text, self.name.setText),
            "icon": _Field(self.icon, lambda: str(self.icon.currentData()), self._put_icon),
            "description": _Field(
                self.description, self.description.text, self.description.setText
            ),
            "tags": _Field(self.tags, self._tags_value, self._put_tags),
            "model": _Field(
                self.model, lambda: str(self.model.currentData() or ""), self._put_model
            ),
            "fallbacks": _Field(self.fallbacks, self._fallbacks_value, self._put_fallbacks),
            "system_prompt": _Field(
                self.system_prompt, self.system_prompt.toPlainText, self.system_prompt.setPlainText
            ),
            "tools": _Field(self.tool_stack, self._tools_value, self._put_tools),
        }
        for key, box in (
            ("temperature", self.temperature),
            ("max_tokens", self.max_tokens),
            ("max_steps", self.max_steps),
            ("step_timeout", self.step_timeout),
            ("retries", self.retries),
            ("retry_backoff", self.retry_backoff),
        ):
            self.fields[key] = _Field(box, box.value, box.setValue)

        self.error = QLabel(self)
        self.error.setObjectName("ErrorText")
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        for button in self.buttons.buttons():
            button.setIcon(QIcon())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 14)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        self.set_models([])
        self.set_tool_choices(None)
        self.set_profile(self._base)

    # ------------------------------------------------------------------ setters
    def set_models(self, models: Sequence[tuple[str, str]]) -> None:
        """The models to offer, as (label, name); "the chat's model" comes first."""
        current = str(self.model.currentData() or "") if self.model.count() else ""
        self.model.clear()
        self.model.addItem("The chat's model", "")
        for label, name in models:
            self.model.addItem(label, name)
        self._put_model(current)

    def set_tool_choices(self, choices: Sequence[ToolChoice] | None) -> None:
        """The running servers and their tools (a tree), or None: a text list."""
        current = self._tools_value()
        if choices is None:
            self.tool_stack.setCurrentWidget(self.tool_text)
            self.tools_note.setText(
                "The tool servers are not running, so type the allowed tools, one a line: a "
                "server name (all of its tools) or server.tool (one tool)."
            )
        else:
            self.tool_tree.set_choices(choices)
            self.tool_stack.setCurrentWidget(self.tool_tree)
            self.tools_note.setText(
                "Check a server to allow all of its tools (also ones it adds later), or "
                "single tools. Space checks the selected line."
            )
        self._put_tools(current)

    def set_profile(self, profile: AgentProfile) -> None:
        """Edit ``profile`` (a new agent: ``id`` None)."""
        self._base = profile
        self.setWindowTitle(f"Edit {profile.name}" if profile.id is not None else "New agent")
        for key, f in self.fields.items():
            f.put(getattr(profile, key))
        self.description.setCursorPosition(0)
        self.error.hide()
        self.tabs.setCurrentIndex(0)
        self.name.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_error(self, error: KeikoError) -> None:
        """Show ``error``; an AgentProfileError's field is brought into view and focused."""
        self.error.setText(printable(f"{error.message} {error.hint}".strip()))
        self.error.show()
        if isinstance(error, AgentProfileError):
            self.focus_field(error.field)

    def focus_field(self, error_field: str) -> None:
        key, index = field_of(error_field)
        if key not in self.fields:
            return
        self.tabs.setCurrentIndex(FIELD_TAB[key])
        widget = self.fields[key].widget
        if key == "tools":
            entries = self._tools_value()
            if self.tool_stack.currentWidget() is self.tool_tree:
                widget = self.tool_tree
                if index is not None and index < len(entries):
                    self.tool_tree.select_entry(entries[index])
            else:
                widget = self.tool_text
                if index is not None:
                    self._select_line(index)
        widget.setFocus(Qt.FocusReason.OtherFocusReason)
        if isinstance(widget, QLineEdit):
            widget.selectAll()

    # ------------------------------------------------------------------ queries
    @property
    def base(self) -> AgentProfile:
        return self._base

    def values(self) -> dict[str, Any]:
        """The fields as JSON data, for ``profile_from_dict``."""
        data = {key: f.get() for key, f in self.fields.items()}
        data["builtin"] = self._base.builtin
        return data

    def profile(self) -> AgentProfile:
        """The profile as shown; AgentProfileError naming the first bad field."""
        return replace(profile_from_dict(self.values()), id=self._base.id)

    # ------------------------------------------------------------------ internals
    def _tags_value(self) -> list[str]:
        return [t.strip() for t in self.tags.text().split(",") if t.strip()]

    def _put_tags(self, tags: Sequence[str]) -> None:
        self.tags.setText(", ".join(tags))

    def _fallbacks_value(self) -> list[str]:
        return [m.strip() for m in self.fallbacks.text().split(",") if m.strip()]

    def _put_fallbacks(self, models: Sequence[str]) -> None:
        self.fallbacks.setText(", ".join(models))

    def _put_icon(self, name: str) -> None:
        self.icon.setCurrentIndex(max(0, self.icon.findData(name)))

    def _put_model(self, name: str) -> None:
        index = self.model.findData(name)
        if index < 0:  # a model this machine does not list (any more): keep it, selectable
            self.model.addItem(name, name)
            index = self.model.count() - 1
        self.model.setCurrentIndex(index)

    def _tools_value(self) -> list[str]:
        if self.tool_stack.currentWidget() is self.tool_tree:
            return self.tool_tree.entries()
        lines = (line.strip() for line in self.tool_text.toPlainText().splitlines())
        return [line for line in lines if line]

    def _put_tools(self, entries: Sequence[str]) -> None:
        self.tool_text.setPlainText("\n".join(entries))
        self.tool_tree.set_entries(entries)

    def _select_line(self, entry: int) -> None:
        """Select the ``entry``-th allowed tool (blank lines are not entries)."""
        block = self.tool_text.document().firstBlock()
        while block.isValid() and (not block.text().strip() or entry > 0):
            entry -= 1 if block.text().strip() else 0
            block = block.next()
        if block.isValid():
            cursor = self.tool_text.textCursor()
            cursor.setPosition(block.position())
            cursor.setPosition(block.position() + block.length() - 1, cursor.MoveMode.KeepAnchor)
            self.tool_text.setTextCursor(cursor)

    def _on_buttons_accepted(self) -> None:
        try:
            profile = self.profile()
        except AgentProfileError as exc:
            self.show_error(exc)
            return
        self.error.hide()
        self.save_requested.emit(profile)
