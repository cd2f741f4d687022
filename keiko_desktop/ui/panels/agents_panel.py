"""AgentsPanel: the Agents page — the agents on the left, and on the right two tabs: Run (ask
the selected agent, or plan toward a goal and run the plan) and Runs (every run kept, with its
timeline and result).

Passive, like every panel: its children emit what the user wants, the ``AgentsPresenter``
does it. The panel itself only asks the user first where that is its job: which file to import
or export (non-native file dialogs), whether to delete an agent, whether an import may replace
agents of the same names. Trouble shows in a dismissable notice at the top.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.safe_text import one_line, printable
from keiko_desktop.ui.dialogs.question import question_box
from keiko_desktop.ui.panels.agent_run_page import RunPage
from keiko_desktop.ui.panels.agent_runs_page import RunsPage
from keiko_desktop.ui.panels.chat_panel import InlineNotice
from keiko_desktop.ui.theme import LIGHT, Theme
from keiko_desktop.ui.widgets.agent_list import AgentList

JSON_FILTER = "Keiko agents (*.json);;All files (*)"
NOTE_MS = 8000


def panel_style(t: Theme) -> str:
    """The page's own look (buttons, section titles), scoped to it."""
    return f"""
#AgentsPanel QPushButton {{ background: {t.surface}; color: {t.text};
    border: 1px solid {t.border}; border-radius: 6px; padding: 5px 14px; }}
#AgentsPanel QPushButton:hover {{ background: {t.hover}; }}
#AgentsPanel QPushButton:focus {{ border: 1px solid {t.accent}; }}
#AgentsPanel QPushButton:disabled {{ color: {t.faint}; background: {t.window}; }}
#AgentsPanel QPushButton#PrimaryButton {{ background: {t.accent}; color: {t.accent_text};
    border: 1px solid {t.accent}; font-weight: 600; }}
#AgentsPanel QPushButton#PrimaryButton:hover {{ background: {t.accent_hover}; }}
#AgentsPanel QPushButton#PrimaryButton:disabled {{ background: {t.selected};
    color: {t.faint}; border: 1px solid {t.selected}; }}
#AgentsPanel #AgentList {{ background: {t.sidebar}; border-right: 1px solid {t.border}; }}
#AgentsPanel QSplitter::handle:vertical {{ background: transparent; }}
#AgentsPanel QScrollArea#AgentsScroll {{ background: {t.window}; border: none; }}
#AgentsPanel #SectionTitle {{ color: {t.muted}; font-weight: 600; }}
#AgentsPanel #ErrorText {{ color: {t.error_text}; }}
#AgentsPanel QPlainTextEdit, #AgentsPanel QTableView {{
    background: {t.surface}; color: {t.text}; border: 1px solid {t.border};
    border-radius: 6px; selection-background-color: {t.accent}; }}
#AgentsPanel QTableView {{ gridline-color: {t.border}; selection-background-color: {t.selected};
    selection-color: {t.text}; }}
#AgentsPanel QTableView QLineEdit, #AgentsPanel QTableView QComboBox {{ border-radius: 0; }}
#AgentsPanel #AgentIcon {{ background: {t.user_bubble}; border-radius: 10px; }}
#AgentsPanel QPlainTextEdit:focus, #AgentsPanel QTableView:focus {{
    border: 1px solid {t.accent}; }}
#AgentsPanel QHeaderView {{ background: {t.surface}; border: none; }}
#AgentsPanel QHeaderView::section {{ background: {t.sidebar}; color: {t.muted};
    border: none; border-bottom: 1px solid {t.border}; padding: 4px 6px; }}
#AgentsPanel QTabWidget::pane {{ border: none; border-top: 1px solid {t.border}; }}
#AgentsPanel QTabBar::tab {{ background: transparent; color: {t.muted}; padding: 7px 16px;
    border: none; border-bottom: 2px solid transparent; }}
#AgentsPanel QTabBar::tab:selected {{ color: {t.text}; border-bottom: 2px solid {t.accent}; }}
#AgentsPanel QTabBar::tab:hover {{ color: {t.text}; }}
#AgentsPanel QTabBar::tab:focus {{ color: {t.accent}; }}
"""


class AgentsPanel(QWidget):
    """The Agents page (see the module docs).

    Signals:
        first_shown(): the page is on screen for the first time (the presenter loads then).
        delete_confirmed(str): the user confirmed deleting this agent.
        import_chosen(str, bool): import the agents of this file (True: replace agents of
            the same names).
        export_chosen(str, object): save these agents (names; empty: all) to this file.
        folder_chosen(str, str, str): run the agent (name) with this instruction on every text
            file of this folder.
        (The children's signals: ``agent_list``, ``run_page``, ``runs_page``.)
    """

    first_shown = Signal()
    delete_confirmed = Signal(str)
    import_chosen = Signal(str, bool)
    export_chosen = Signal(str, object)
    folder_chosen = Signal(str, str, str)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AgentsPanel")
        self._shown = False
        self.theme = theme
        self.file_dialog: QFileDialog | None = None
        self.confirm: QMessageBox | None = None
        self._export_names: tuple[str, ...] = ()
        self._pending_import = ""

        self.agent_list = AgentList(theme, self)
        self.agent_list.setMinimumWidth(230)
        self.run_page = RunPage(theme, self)
        self.run_page.folder_requested.connect(self._on_run_page_folder_requested)
        self._folder_job = ("", "")
        self.runs_page = RunsPage(theme, self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("AgentTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.run_page, "Run")
        self.tabs.addTab(self.runs_page, "Runs")
        self.tabs.setTabToolTip(0, "Ask the selected agent, or plan toward a goal (Ctrl+Tab)")
        self.tabs.setTabToolTip(1, "Every run, with its timeline and result (Ctrl+Tab)")
        self.tabs.tabBar().setAccessibleName("Agent pages")
        self.notice = InlineNotice(theme, self)
        self.notice.label.setTextFormat(Qt.TextFormat.PlainText)  # messages may quote a file
        self.note = QLabel(self)
        self.note.setObjectName("PlaceholderText")
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.hide()

        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(0)
        self.notices = QWidget(right)
        notices = QVBoxLayout(self.notices)
        notices.setContentsMargins(16, 8, 16, 4)
        notices.addWidget(self.notice)
        notices.addWidget(self.note)
        self.notices.hide()
        right_layout.addWidget(self.notices)
        right_layout.addWidget(self.tabs, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setHandleWidth(1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.agent_list)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 760])
        # Scrolls only in a window narrower than the page needs: the page's own minimum
        # never widens the window (the stack of pages takes the widest one's).
        self.scroller = QScrollArea(self)
        self.scroller.setObjectName("AgentsScroll")
        self.scroller.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroller.setWidgetResizable(True)
        self.scroller.setWidget(self.splitter)
        self.scroller.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroller)

        self.notice.close_button.clicked.connect(self.clear_error)
        self.agent_list.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.agent_list.delete_requested.connect(self._on_agent_list_delete_requested)
        self.agent_list.import_requested.connect(self._on_agent_list_import_requested)
        self.agent_list.export_requested.connect(self._on_agent_list_export_requested)
        self.set_theme(theme)

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setStyleSheet(panel_style(theme))
        self.agent_list.set_theme(theme)
        self.run_page.set_theme(theme)
        self.runs_page.set_theme(theme)
        self.notice.set_theme(theme)

    def show_error(self, message: str, hint: str = "") -> None:
        self.note.hide()
        self.notice.show_message(printable(message), printable(hint))
        self.notices.show()

    def clear_error(self) -> None:
        self.notice.hide()
        self.notices.setVisible(not self.note.isHidden())

    def show_note(self, text: str) -> None:
        """A line of good news (exported, imported), until the next one or an error."""
        self.notice.hide()
        self.note.setText(one_line(text, 300))
        self.note.show()
        self.notices.show()

    def clear_note(self) -> None:
        self.note.hide()
        self.notices.setVisible(not self.notice.isHidden())

    @property
    def error_text(self) -> str:
        """The notice's text ("" when none is shown)."""
        return self.notice.label.text() if not self.notice.isHidden() else ""

    def show_runs(self) -> None:
        self.tabs.setCurrentWidget(self.runs_page)

    def show_run_tab(self) -> None:
        self.tabs.setCurrentWidget(self.run_page)

    def ask_replace(self, path: str, names: Sequence[str]) -> None:
        """An import would replace agents of these names: ask, and import again if so."""
        shown = ", ".join(f"“{one_line(n, 40)}”" for n in names[:5])
        self._pending_import = path
        self._confirm(
            "Replace agents?",
            f"The file has agents you have already: {shown}. Replace them with the file's?",
            "Replace",
            self._on_replace_confirm_finished,
        )

    # ------------------------------------------------------------------ events
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._shown:
            self._shown = True
            self.first_shown.emit()

    # ------------------------------------------------------------------ slots
    def _on_agent_list_delete_requested(self, name: str) -> None:
        shown = one_line(name, 64)
        self._confirm(
            "Delete agent?",
            f"Delete the agent “{shown}”? Its past runs are kept.",
            "Delete",
            lambda result: self._on_delete_confirm_finished(result, name),
        )

    def _on_delete_confirm_finished(self, result: int, name: str) -> None:
        self._close_confirm()
        if result == QMessageBox.StandardButton.Yes.value:
            self.delete_confirmed.emit(name)

    def _on_replace_confirm_finished(self, result: int) -> None:
        self._close_confirm()
        if result == QMessageBox.StandardButton.Yes.value and self._pending_import:
            self.import_chosen.emit(self._pending_import, True)
        self._pending_import = ""

    def _on_agent_list_import_requested(self) -> None:
        dialog = self._file_dialog("Import agents", QFileDialog.AcceptMode.AcceptOpen)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self._on_import_dialog_file_selected)
        dialog.open()

    def _on_import_dialog_file_selected(self, path: str) -> None:
        if path:
            self.import_chosen.emit(path, False)

    def _on_agent_list_export_requested(self, names: tuple[str, ...]) -> None:
        self._export_names = tuple(names)
        dialog = self._file_dialog("Export agents", QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("json")
        base = names[0] if len(names) == 1 else "keiko-agents"
        safe = "".join(c if c.isalnum() or c in "-_ " else "-" for c in base).strip() or "agents"
        dialog.selectFile(f"{safe}.json")
        dialog.fileSelected.connect(self._on_export_dialog_file_selected)
        dialog.open()

    def _on_export_dialog_file_selected(self, path: str) -> None:
        if path:
            self.export_chosen.emit(path, self._export_names)

    def _on_run_page_folder_requested(self, name: str, instruction: str) -> None:
        self._folder_job = (name, instruction)
        dialog = self._file_dialog(
            f"Run {name} on each file of a folder", QFileDialog.AcceptMode.AcceptOpen
        )
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.setNameFilter("")
        dialog.fileSelected.connect(self._on_folder_dialog_file_selected)
        dialog.open()

    def _on_folder_dialog_file_selected(self, path: str) -> None:
        name, instruction = self._folder_job
        if path and name:
            self.folder_chosen.emit(name, instruction, path)

    # ------------------------------------------------------------------ internals
    def _file_dialog(self, title: str, mode: QFileDialog.AcceptMode) -> QFileDialog:
        if self.file_dialog is not None:
            self.file_dialog.deleteLater()
        dialog = QFileDialog(self, title)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setAcceptMode(mode)
        dialog.setNameFilter(JSON_FILTER)
        self.file_dialog = dialog
        return dialog

    def _confirm(self, title: str, text: str, yes: str, done: Callable[[int], None]) -> None:
        self._close_confirm()
        self.confirm = question_box(self, title, text, yes, done)

    def _close_confirm(self) -> None:
        box, self.confirm = self.confirm, None
        if box is not None:
            box.deleteLater()
