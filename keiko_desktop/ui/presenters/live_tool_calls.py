"""LiveToolCallsPresenter: the open chat's running tool calls on their live cards.

It follows the bridge's ``tool_call_activity``: a ``ToolCallStarted`` of the open conversation
adds a card to the chat panel's ``LiveCallsStrip``; progress and log lines of that call update
it (the core throttles progress to about ten a second, so each event is drawn as it comes);
when the call ends its card goes (the stored call's card appears above the reply), except a
cancelled one, which stays ``KEEP_CANCELLED_MS`` so the person sees that Stop reached it.
Opening another chat clears the strip.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from keiko_desktop.core.tools.call_events import (
    ToolCallActivity,
    ToolCallEnded,
    ToolCallLogged,
    ToolCallProgressed,
    ToolCallStarted,
)
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.widgets.live_tool_card import LiveCallsStrip

KEEP_CANCELLED_MS = 8_000


class LiveToolCallsPresenter(QObject):
    """Keeps ``strip`` showing the calls of the conversation ``conversation_id()``."""

    def __init__(
        self,
        strip: LiveCallsStrip,
        bridge: EventBridge,
        conversation_id: Callable[[], int | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._strip = strip
        self._conversation_id = conversation_id
        bridge.tool_call_activity.connect(self._on_bridge_tool_call_activity)

    def conversation_opened(self, _conversation_id: int | None = None) -> None:
        self._strip.clear()

    def _on_bridge_tool_call_activity(self, event: ToolCallActivity) -> None:
        if isinstance(event, ToolCallStarted):
            if event.conversation_id is None or event.conversation_id != self._conversation_id():
                return
            for call_id, old in list(self._strip.cards.items()):
                if old.card.header_text.endswith("cancelled"):
                    self._strip.remove_card(call_id)
            self._strip.add_card(event.call_id, event.qualified_name, event.arguments)
            return
        card = self._strip.cards.get(event.call_id)
        if card is None:
            return
        if isinstance(event, ToolCallProgressed):
            card.set_progress(event.progress, event.total, event.message)
        elif isinstance(event, ToolCallLogged):
            card.add_log(event.level, event.text)
        elif isinstance(event, ToolCallEnded):
            if event.outcome == "cancelled":
                card.set_ended("cancelled")
                call_id = event.call_id
                strip = self._strip  # the card is the timer's context: gone with it, no call
                QTimer.singleShot(KEEP_CANCELLED_MS, card, lambda: strip.remove_card(call_id))
            else:
                self._strip.remove_card(event.call_id)
