"""Light and dark themes: one palette of named colours, a Qt palette and a style sheet made from it.

``ThemeManager`` follows the system colour scheme (``QStyleHints.colorScheme``) unless the
``theme`` setting says ``light`` or ``dark``, and re-applies itself live when either changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Theme:
    """Named colours (hex strings) for one scheme."""

    name: str
    window: str
    sidebar: str
    rail: str
    surface: str
    border: str
    text: str
    muted: str
    faint: str
    accent: str
    accent_hover: str
    accent_text: str
    hover: str
    selected: str
    user_bubble: str
    code_bg: str
    code_header: str
    inline_code_bg: str
    link: str
    mark_bg: str
    error_bg: str
    error_border: str
    error_text: str
    warn_text: str
    status_ok: str
    status_error: str
    """Status dots and bars: a run completed or an agent ready; failed or in error."""
    pygments_style: str

    @property
    def is_dark(self) -> bool:
        return self.name == "dark"


LIGHT = Theme(
    name="light",
    window="#ffffff",
    sidebar="#f7f7f8",
    rail="#eeeef1",
    surface="#ffffff",
    border="#e3e3e8",
    text="#1b1b1f",
    muted="#6b6b76",
    faint="#9d9da8",
    accent="#4f46e5",
    accent_hover="#4338ca",
    accent_text="#ffffff",
    hover="#ececf0",
    selected="#e3e3ea",
    user_bubble="#eef0f7",
    code_bg="#f6f7f9",
    code_header="#eceef2",
    inline_code_bg="#eef0f3",
    link="#2f5fd0",
    mark_bg="#fde68a",
    error_bg="#fdf1f1",
    error_border="#f3c4c4",
    error_text="#a61b1b",
    warn_text="#8a5a00",
    status_ok="#16a34a",
    status_error="#dc2626",
    pygments_style="default",
)

DARK = Theme(
    name="dark",
    window="#1f2023",
    sidebar="#18191b",
    rail="#131416",
    surface="#26272b",
    border="#33353a",
    text="#e7e7ea",
    muted="#a0a1a8",
    faint="#74757d",
    accent="#7c7ff7",
    accent_hover="#9597fa",
    accent_text="#ffffff",
    hover="#2a2b30",
    selected="#323439",
    user_bubble="#2e3036",
    code_bg="#15161a",
    code_header="#23242a",
    inline_code_bg="#2f3137",
    link="#8fb1ff",
    mark_bg="#6b5310",
    error_bg="#3a2024",
    error_border="#6e2a30",
    error_text="#ffb4b4",
    warn_text="#f0c36a",
    status_ok="#4ade80",
    status_error="#f87171",
    pygments_style="github-dark",
)

THEMES = {"light": LIGHT, "dark": DARK}


def system_scheme() -> str:
    """``dark`` when the platform says so, otherwise ``light`` (also when it does not know)."""
    hints = QGuiApplication.styleHints()
    return "dark" if hints.colorScheme() == Qt.ColorScheme.Dark else "light"


def resolve(preference: str) -> Theme:
    """The theme for a ``theme`` setting value: ``system``, ``light`` or ``dark``."""
    if preference in THEMES:
        return THEMES[preference]
    return THEMES[system_scheme()]


def qt_palette(theme: Theme) -> QPalette:
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: theme.window,
        QPalette.ColorRole.WindowText: theme.text,
        QPalette.ColorRole.Base: theme.surface,
        QPalette.ColorRole.AlternateBase: theme.sidebar,
        QPalette.ColorRole.Text: theme.text,
        QPalette.ColorRole.Button: theme.surface,
        QPalette.ColorRole.ButtonText: theme.text,
        QPalette.ColorRole.Highlight: theme.accent,
        QPalette.ColorRole.HighlightedText: theme.accent_text,
        QPalette.ColorRole.ToolTipBase: theme.surface,
        QPalette.ColorRole.ToolTipText: theme.text,
        QPalette.ColorRole.PlaceholderText: theme.faint,
        QPalette.ColorRole.Link: theme.link,
        QPalette.ColorRole.Mid: theme.border,
        QPalette.ColorRole.Midlight: theme.hover,
        QPalette.ColorRole.Light: theme.surface,
        QPalette.ColorRole.Dark: theme.border,
    }
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.ButtonText,
    ):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(theme.faint))
    return pal


def style_sheet(t: Theme) -> str:
    """The application style sheet. Widgets are found by object name."""
    return f"""
QMainWindow, QDialog {{ background: {t.window}; }}
QToolTip {{ background: {t.surface}; color: {t.text}; border: 1px solid {t.border};
    padding: 4px 6px; }}
#NavRail {{ background: {t.rail}; border-right: 1px solid {t.border}; }}
#NavRail QToolButton {{ border: none; border-radius: 8px; padding: 6px; color: {t.muted}; }}
#NavRail QToolButton:hover {{ background: {t.hover}; }}
#NavRail QToolButton:checked {{ background: {t.selected}; color: {t.text}; }}
#Sidebar {{ background: {t.sidebar}; }}
#Sidebar QListWidget {{ background: transparent; border: none; outline: none; }}
#Sidebar QListWidget::item {{ color: {t.text}; padding: 6px 8px; margin: 1px 0;
    border-radius: 6px; }}
#Sidebar QListWidget::item:hover {{ background: {t.hover}; }}
#Sidebar QListWidget::item:selected {{ background: {t.selected}; color: {t.text}; }}
#Sidebar QListWidget::item:disabled {{ color: {t.faint}; background: transparent;
    padding: 12px 8px 4px 8px; }}
#SidebarButton {{ text-align: left; border: none; border-radius: 6px; padding: 7px 8px;
    color: {t.text}; background: transparent; }}
#SidebarButton:hover {{ background: {t.hover}; }}
#ChatHeader {{ border-bottom: 1px solid {t.border}; background: {t.window}; }}
#ChatTitle {{ color: {t.text}; font-weight: 600; }}
#MessageView, #MessageColumn {{ background: {t.window}; border: none; }}
#UserBubble {{ background: {t.user_bubble}; border-radius: 14px; }}
#MessageMeta {{ color: {t.faint}; }}
#StatusBadge {{ color: {t.warn_text}; }}
#ErrorBox, #InlineNotice {{ background: {t.error_bg}; border: 1px solid {t.error_border};
    border-radius: 8px; }}
#ErrorBox QLabel, #InlineNotice QLabel, #ErrorText {{ color: {t.error_text}; }}
#MessageAction, #IconButton {{ border: none; border-radius: 6px; padding: 3px;
    background: transparent; }}
#MessageAction:hover, #IconButton:hover {{ background: {t.hover}; }}
#RetryButton {{ border: 1px solid {t.border}; border-radius: 6px; padding: 3px 10px;
    background: {t.surface}; color: {t.text}; }}
#RetryButton:hover {{ background: {t.hover}; }}
#Composer {{ background: {t.surface}; border: 1px solid {t.border}; border-radius: 14px; }}
#Composer QPlainTextEdit {{ background: transparent; border: none; color: {t.text};
    selection-background-color: {t.accent}; }}
#ComposerHint {{ color: {t.faint}; }}
#EditBanner {{ color: {t.muted}; }}
#SendButton {{ background: {t.accent}; border: none; border-radius: 16px; }}
#SendButton:hover {{ background: {t.accent_hover}; }}
#SendButton:disabled {{ background: {t.selected}; }}
#StopButton {{ background: {t.text}; border: none; border-radius: 16px; }}
#EmptyTitle {{ color: {t.text}; }}
#WelcomeCard {{ background: {t.sidebar}; border: 1px solid {t.border}; border-radius: 12px; }}
#WelcomeCard QLabel {{ color: {t.text}; }}
#WelcomeHeading {{ font-weight: 600; font-size: 15px; }}
#EmptySubtitle, #PlaceholderText {{ color: {t.muted}; }}
#UndoBar {{ background: {t.text}; border-radius: 8px; }}
#UndoBar QLabel {{ color: {t.window}; }}
#UndoBar QPushButton {{ color: {t.window}; background: transparent; border: none;
    font-weight: 600; padding: 4px 8px; }}
QStatusBar {{ background: {t.sidebar}; border-top: 1px solid {t.border}; color: {t.muted}; }}
QStatusBar QLabel {{ color: {t.muted}; }}
#ModelStatus {{ padding-left: 6px; }}
QStatusBar::item {{ border: none; }}
QSplitter::handle {{ background: {t.border}; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 0; }}
QScrollBar::handle:vertical {{ background: {t.selected}; border-radius: 4px; min-height: 32px;
    margin: 2px; }}
QScrollBar::handle:vertical:hover {{ background: {t.faint}; }}
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical {{ height: 0; }}
QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical {{ background: none; }}
QLineEdit, QPlainTextEdit#SystemPrompt {{
    background: {t.surface}; color: {t.text}; border: 1px solid {t.border}; border-radius: 6px;
    padding: 5px 7px; selection-background-color: {t.accent}; }}
QLineEdit:focus, QPlainTextEdit#SystemPrompt:focus {{ border: 1px solid {t.accent}; }}
QDialog QPushButton {{ background: {t.surface}; color: {t.text}; border: 1px solid {t.border};
    border-radius: 6px; padding: 5px 16px; min-width: 64px; }}
QDialog QPushButton:hover {{ background: {t.hover}; }}
QDialog QPushButton:default {{ background: {t.accent}; color: {t.accent_text};
    border: 1px solid {t.accent}; }}
QDialog QPushButton:default:hover {{ background: {t.accent_hover}; }}
#SearchResults {{ background: {t.surface}; border: 1px solid {t.border}; border-radius: 8px; }}
#SearchResults::item {{ padding: 2px; }}
#SearchResults::item {{ border-radius: 6px; }}
#SearchResults::item:selected {{ background: {t.selected}; }}
#ProgressSpinner {{ border: none; background: {t.border}; border-radius: 2px; }}
#ProgressSpinner::chunk {{ background: {t.accent}; border-radius: 2px; }}
"""


class ThemeManager(QObject):
    """Keeps the application's palette and style sheet in step with the preference.

    Signals:
        theme_changed(Theme): the effective theme changed (after it was applied).
    """

    theme_changed = Signal(object)

    def __init__(self, app: QApplication, preference: str = "system") -> None:
        super().__init__(app)
        self._app = app
        self._preference = preference
        self._theme = resolve(preference)
        app.setStyle("Fusion")
        self._apply()
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_hints_color_scheme_changed)

    @property
    def theme(self) -> Theme:
        return self._theme

    @property
    def preference(self) -> str:
        return self._preference

    def set_preference(self, preference: str) -> None:
        self._preference = preference
        self._update()

    def _on_hints_color_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self._preference == "system":
            self._update()

    def _update(self) -> None:
        theme = resolve(self._preference)
        if theme is self._theme:
            return
        self._theme = theme
        self._apply()
        self.theme_changed.emit(theme)

    def _apply(self) -> None:
        self._app.setPalette(qt_palette(self._theme))
        self._app.setStyleSheet(style_sheet(self._theme))
