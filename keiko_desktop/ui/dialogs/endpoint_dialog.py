"""Add or edit an OpenAI-compatible endpoint: name, base URL, API key, timeout.

The name and URL are checked with ``core.endpoints.check_name``/``check_url`` as the user
presses Save, each error under its own field. The API key field is in password mode; when
editing an endpoint that has a stored key, leaving it empty keeps that key and "Forget the
stored key" clears it. The key leaves the dialog once, in ``save_requested``, and the field is
emptied at that moment: it is never shown again, kept in an attribute, or logged.

Passive: the presenter saves (``EndpointManager.save``) and answers with ``show_status`` (what
the server said) or ``show_error``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.endpoints import Endpoint, EndpointStatus, check_name, check_url
from keiko_desktop.core.errors import KeikoError, SettingsError
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.dialogs.model_choices import state_text

KEEP_KEY = "Leave empty to keep the stored key"
NO_KEY = "Only if the server asks for one"
MAX_KEY_CHARS = 4096


def _error_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setObjectName("ErrorText")
    label.setWordWrap(True)
    label.hide()
    return label


def _tip(widget: QWidget, name: str, tip: str) -> None:
    widget.setAccessibleName(name)
    widget.setAccessibleDescription(tip)
    widget.setToolTip(tip)


def status_text(status: EndpointStatus) -> str:
    """``online · 3 models``, ``offline: connection refused``."""
    text = state_text(status)
    if status.state == "online":
        count = len(status.models)
        return f"{text} · {count} model{'s' if count != 1 else ''}"
    detail = one_line(status.detail, 300)
    return f"{text}: {detail}" if detail else text


class EndpointDialog(QDialog):
    """Edits one ``Endpoint`` (a new one when ``endpoint`` is None).

    Signals:
        save_requested(Endpoint, object): Save was pressed with this (checked) endpoint and
            the API key to keep: a str (new key; "" forgets it) or None (leave it as it is).
    """

    save_requested = Signal(object, object)

    def __init__(self, endpoint: Endpoint | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(480)
        self.endpoint = endpoint
        self.name = QLineEdit(self)
        self.name.setMaxLength(32)
        self.name.setPlaceholderText("e.g. ollama")
        _tip(self.name, "Name", "How Keiko names the endpoint; its models are name/model.")
        self.name_error = _error_label(self)
        self.base_url = QLineEdit(self)
        self.base_url.setMaxLength(2048)
        self.base_url.setPlaceholderText("http://127.0.0.1:11434/v1")
        _tip(
            self.base_url,
            "Base URL",
            "The server's OpenAI-compatible base URL (Ollama, vLLM, LM Studio, llama.cpp "
            "server or a hosted API).",
        )
        self.url_error = _error_label(self)
        self.api_key = QLineEdit(self)
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setMaxLength(MAX_KEY_CHARS)
        _tip(
            self.api_key,
            "API key",
            "Kept in the system keychain, never in a file or the log.",
        )
        self.clear_key = QCheckBox("Forget the stored key", self)
        _tip(
            self.clear_key, "Forget the stored key", "Remove this endpoint's key from the keychain."
        )
        self.timeout = QDoubleSpinBox(self)
        self.timeout.setRange(1.0, 3600.0)
        self.timeout.setDecimals(0)
        self.timeout.setSingleStep(10.0)
        self.timeout.setSuffix(" s")
        _tip(self.timeout, "Timeout", "Seconds to wait for the server's first byte of a reply.")
        self.status = QLabel(self)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.status.hide()
        self.error = _error_label(self)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for text, widget, under in (
            ("&Name", self.name, self.name_error),
            ("Base &URL", self.base_url, self.url_error),
            ("API &key", self.api_key, self.clear_key),
            ("&Timeout", self.timeout, None),
        ):
            label = QLabel(text, self)
            label.setBuddy(widget)
            form.addRow(label, widget)
            if under is not None:
                form.addRow("", under)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        for button in self.buttons.buttons():
            button.setIcon(QIcon())
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setToolTip("Keep the endpoint and list its models")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        self.clear_key.toggled.connect(self._on_clear_key_toggled)
        self.set_endpoint(endpoint)

    # ------------------------------------------------------------------ setters
    def set_endpoint(self, endpoint: Endpoint | None) -> None:
        """Fill the fields from ``endpoint`` (None: a new one); the key field stays empty."""
        self.endpoint = endpoint
        editing = endpoint is not None
        self.setWindowTitle(f"Edit endpoint {endpoint.name}" if endpoint else "Add an endpoint")
        self.name.setText(endpoint.name if endpoint else "")
        self.name.setReadOnly(editing)
        if editing:
            self.name.setToolTip("An endpoint's name cannot change; remove it and add another.")
        self.base_url.setText(endpoint.base_url if endpoint else "")
        self.timeout.setValue(endpoint.timeout if endpoint else 60.0)
        stored = endpoint is not None and endpoint.api_key
        self.api_key.clear()
        self.api_key.setPlaceholderText(KEEP_KEY if stored else NO_KEY)
        self.clear_key.setChecked(False)
        self.clear_key.setVisible(stored)
        (self.base_url if editing else self.name).setFocus()

    def show_status(self, status: EndpointStatus) -> None:
        """What the server said after a save."""
        self.save_button.setEnabled(True)
        self.status.setText(f"Saved. {one_line(status.name, 40)} is {status_text(status)}.")
        self.status.show()
        self.adjustSize()

    def show_error(self, error: KeikoError) -> None:
        self.save_button.setEnabled(True)
        self.status.hide()
        self.error.setText(one_line(f"{error.message} {error.hint}".strip(), 600))
        self.error.show()
        self.adjustSize()

    # ------------------------------------------------------------------ queries
    def checked_endpoint(self) -> Endpoint | None:
        """The endpoint as typed, or None with each field's error shown under it."""
        for label in (self.name_error, self.url_error, self.error):
            label.hide()
        name, url = self.name.text().strip(), self.base_url.text().strip()
        problems = 0
        for field, label, check in (
            (name, self.name_error, check_name),
            (url, self.url_error, check_url),
        ):
            try:
                check(field)
            except SettingsError as exc:
                label.setText(f"{exc.message} {exc.hint}".strip())
                label.show()
                problems += 1
        if problems:
            self.adjustSize()  # room for the wrapped messages
            return None
        key = self.api_key.text()
        stored = self.endpoint is not None and self.endpoint.api_key
        has_key = bool(key) or (stored and not self.clear_key.isChecked())
        return Endpoint(name, check_url(url), has_key, float(self.timeout.value()))

    # ------------------------------------------------------------------ slots
    def _on_clear_key_toggled(self, checked: bool) -> None:
        self.api_key.setEnabled(not checked)
        if checked:
            self.api_key.clear()

    def _on_buttons_accepted(self) -> None:
        endpoint = self.checked_endpoint()
        if endpoint is None:
            return
        key: str | None = self.api_key.text().strip() or None
        if self.clear_key.isChecked():
            key = ""
        self.api_key.clear()  # the key leaves the dialog once, here
        self.save_button.setEnabled(False)
        self.status.setText("Saving and asking the server for its models…")
        self.status.show()
        self.save_requested.emit(endpoint, key)
        del key
