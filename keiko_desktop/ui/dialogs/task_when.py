"""WhenEditor: when a new task runs — now, or on a schedule (once at, every N minutes, daily at,
weekly on some days at, a cron expression) — with what that means in words and its next run.

The schedule is checked as it is typed (``core.tasks.schedule.check_spec``): a mistake shows
on the line under the editor, naming the part that is wrong; never a crash.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QDateTime, Qt, QTime, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QStackedWidget,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tasks.clock import utc_now
from keiko_desktop.core.tasks.records import ScheduleSpec
from keiko_desktop.core.tasks.schedule import check_spec, describe, next_run

MODES = (
    ("Now", "now"),
    ("Once at", "once"),
    ("Every N minutes", "every"),
    ("Daily at", "daily"),
    ("Weekly on days at", "weekly"),
    ("Cron expression", "cron"),
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_EVERY = 60 * 24 * 366


def next_text(moment: datetime) -> str:
    local = moment.astimezone()
    return local.strftime("%a %d %b %Y %H:%M")


class WhenEditor(QWidget):
    """The "When" part of the task dialog (see the module docs).

    Signals:
        changed(): the mode or a value changed (the preview is already updated).
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = QComboBox(self)
        for text, value in MODES:
            self.mode.addItem(text, value)
        self.mode.setAccessibleName("When")
        self.mode.setToolTip("Run it now, or on a schedule")
        self.stack = QStackedWidget(self)

        now_page = QLabel("It runs as soon as a worker is free.", self.stack)
        now_page.setObjectName("PlaceholderText")
        self.at = QDateTimeEdit(self.stack)
        self.at.setCalendarPopup(True)
        self.at.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.at.setAccessibleName("Date and time")
        self.at.setDateTime(QDateTime.currentDateTime().addSecs(3600))
        self.every = QSpinBox(self.stack)
        self.every.setRange(1, MAX_EVERY)
        self.every.setValue(60)
        self.every.setSuffix(" min")
        self.every.setAccelerated(True)
        self.every.setAccessibleName("Every how many minutes")
        self.daily_time = self._time_edit("Time of day")
        weekly_page = QWidget(self.stack)
        weekly = QHBoxLayout(weekly_page)
        weekly.setContentsMargins(0, 0, 0, 0)
        weekly.setSpacing(4)
        self.days: list[QCheckBox] = []
        for n, name in enumerate(WEEKDAYS):
            box = QCheckBox(name, weekly_page)
            box.setAccessibleName(name)
            box.setChecked(n < 5)
            self.days.append(box)
            weekly.addWidget(box)
            box.toggled.connect(self._on_value_changed)
        self.weekly_time = self._time_edit("Time on those days")
        self.weekly_time.setParent(weekly_page)
        weekly.addSpacing(8)
        weekly.addWidget(self.weekly_time)
        weekly.addStretch(1)
        self.cron = QLineEdit(self.stack)
        self.cron.setPlaceholderText("*/15 9-17 * * 1-5   (minute hour day month weekday)")
        self.cron.setAccessibleName("Cron expression")
        self.cron.setToolTip("Five fields, local time: minute, hour, day of month, month, weekday")
        for page in (now_page, self.at, self.every, self.daily_time, weekly_page, self.cron):
            self.stack.addWidget(page)

        self.preview = QLabel(self)
        self.preview.setObjectName("PlaceholderText")
        self.preview.setTextFormat(Qt.TextFormat.PlainText)
        self.preview.setWordWrap(True)
        self.error = QLabel(self)
        self.error.setObjectName("ErrorText")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.hide()

        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(self.mode)
        row.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.preview)
        layout.addWidget(self.error)
        self.setFocusProxy(self.mode)

        self.mode.currentIndexChanged.connect(self._on_mode_current_index_changed)
        self.at.dateTimeChanged.connect(self._on_value_changed)
        self.every.valueChanged.connect(self._on_value_changed)
        self.daily_time.timeChanged.connect(self._on_value_changed)
        self.weekly_time.timeChanged.connect(self._on_value_changed)
        self.cron.textChanged.connect(self._on_value_changed)
        self.refresh()

    # ------------------------------------------------------------------ queries
    @property
    def kind(self) -> str:
        return str(self.mode.currentData())

    def spec(self) -> ScheduleSpec | None:
        """The schedule as typed (None: now); not checked (``checked_spec`` does that)."""
        kind = self.kind
        if kind == "once":
            at = self.at.dateTime().toPython()
            assert isinstance(at, datetime)
            return ScheduleSpec("once", at=at.astimezone())
        if kind == "every":
            return ScheduleSpec("every", minutes=self.every.value())
        if kind == "daily":
            return ScheduleSpec("daily", time=self.daily_time.time().toString("HH:mm"))
        if kind == "weekly":
            days = tuple(n for n, box in enumerate(self.days) if box.isChecked())
            return ScheduleSpec(
                "weekly", weekdays=days, time=self.weekly_time.time().toString("HH:mm")
            )
        if kind == "cron":
            return ScheduleSpec("cron", cron=self.cron.text().strip())
        return None

    def checked_spec(self) -> ScheduleSpec | None:
        """The schedule checked and normalized (None: now); ``ScheduleError`` when wrong."""
        spec = self.spec()
        return None if spec is None else check_spec(spec)

    @property
    def focus_target(self) -> QWidget:
        page = self.stack.currentWidget()
        if self.kind == "weekly":
            return self.days[0]
        return page if page is not None and self.kind != "now" else self.mode

    # ------------------------------------------------------------------ setters
    def set_mode(self, kind: str) -> None:
        self.mode.setCurrentIndex(max(0, self.mode.findData(kind)))

    def show_error(self, text: str) -> None:
        self.error.setText(one_line(text, 400))
        self.error.show()

    def refresh(self) -> bool:
        """Check what is typed and say what it means; False (and the error shown) when wrong."""
        if self.kind == "now":
            self.preview.setText("")
            self.preview.hide()
            self.error.hide()
            return True
        try:
            spec = self.checked_spec()
            assert spec is not None
            upcoming = next_run(spec, utc_now())
            text = describe(spec)
        except KeikoError as exc:
            self.preview.hide()
            self.show_error(f"{exc.message} {exc.hint}".strip())
            return False
        self.error.hide()
        if upcoming is None:
            self.show_error("That time has passed: it would never run. Pick a later time.")
            self.preview.hide()
            return False
        self.preview.setText(f"{text} · next run {next_text(upcoming)}")
        self.preview.show()
        return True

    # ------------------------------------------------------------------ internals
    def _time_edit(self, name: str) -> QTimeEdit:
        edit = QTimeEdit(self.stack)
        edit.setDisplayFormat("HH:mm")
        edit.setTime(QTime(9, 0))
        edit.setAccessibleName(name)
        return edit

    def _on_mode_current_index_changed(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        if self.kind == "once" and self.at.dateTime() < QDateTime.currentDateTime():
            soon = QDateTime.currentDateTime().addSecs(3600)
            soon.setTime(QTime(soon.time().hour(), soon.time().minute()))
            self.at.setDateTime(soon)
        self._on_value_changed()

    def _on_value_changed(self, *_args: object) -> None:
        self.refresh()
        self.changed.emit()
