"""The Sign in / Sign out button of Settings > Tools, for the selected remote server that uses
OAuth (``core.tools.sign_in``). Passive: it shows the state it is given and emits what the user
wants; ``ToolsPresenter`` runs the sign-in (a browser opens) and refreshes it."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPushButton, QWidget

from keiko_desktop.core.safe_text import one_line


class SignInButton(QPushButton):
    """Signals: sign_in_requested(str), sign_out_requested(str) with the server's name."""

    sign_in_requested = Signal(str)
    sign_out_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Sign &in", parent)
        self._states: dict[str, str | None] = {}
        self._server: str | None = None
        self._busy: str | None = None
        self.clicked.connect(self._on_clicked)
        self._update()

    def set_states(self, states: Mapping[str, str | None]) -> None:
        """``signed-in``, ``signed-out`` or None (no OAuth) for each server."""
        self._states = dict(states)
        self._update()

    def select(self, server: str | None) -> None:
        self._server = server
        self._update()

    def set_busy(self, server: str | None) -> None:
        """While a sign-in (or out) of ``server`` runs, the button waits for it."""
        self._busy = server
        self._update()

    def _update(self) -> None:
        state = self._states.get(self._server) if self._server else None
        name = one_line(self._server or "", 64)
        if self._busy is not None:
            self.setText("Signing in…")
            self.setEnabled(False)
            self.setAccessibleName(f"Signing in to {one_line(self._busy, 64)}")
        elif state == "signed-in":
            self.setText("Sign &out")
            self.setEnabled(True)
            self.setAccessibleName(f"Sign out of {name}")
        else:
            self.setText("Sign &in")
            self.setEnabled(state == "signed-out")
            self.setAccessibleName(
                f"Sign in to {name}" if state else "Sign in (for a remote server that uses OAuth)"
            )
        self.setToolTip(
            "Opens your browser to sign in to the selected remote server"
            if state != "signed-in"
            else "Forgets the selected server's tokens"
        )

    def _on_clicked(self) -> None:
        server = self._server
        if server is None or self._busy is not None:
            return
        if self._states.get(server) == "signed-in":
            self.sign_out_requested.emit(server)
        elif self._states.get(server) == "signed-out":
            self.sign_in_requested.emit(server)
