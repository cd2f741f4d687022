"""answer_in_dialog: open one question dialog and await its answer.

The approval, sampling and elicitation presenters each open one ``AnswerDialog`` per request
and await what it emits. The rule they share lives here once: the dialog deletes itself on
close, is listed in the presenter's ``open_dialogs`` while it waits, and when the wait ends
without an answer (the core gave up: timed out, stopped, abandoned, so the await is
cancelled) the dialog is dismissed, never left on screen answering a question nobody asks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import shiboken6
from PySide6.QtCore import Qt, SignalInstance

from keiko_desktop.ui.dialogs.answer_dialog import AnswerDialog

DialogT = TypeVar("DialogT", bound=AnswerDialog)
AnswerT = TypeVar("AnswerT")


async def answer_in_dialog(
    dialog: DialogT,
    open_dialogs: list[DialogT],
    opened: SignalInstance,
    read: Callable[[object], AnswerT | None],
    activate: bool = True,
) -> AnswerT:
    """Show ``dialog``, emit ``opened(dialog)`` and return ``read(value)`` of the first value
    it emits that ``read`` does not map to None; dismiss it if the wait ends first."""
    answer: asyncio.Future[AnswerT] = asyncio.get_running_loop().create_future()

    def on_answered(value: object) -> None:
        if answer.done():
            return
        result = read(value)
        if result is not None:
            answer.set_result(result)

    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.answered.connect(on_answered)
    open_dialogs.append(dialog)
    dialog.show()
    dialog.raise_()
    if activate:
        dialog.activateWindow()
    opened.emit(dialog)
    try:
        return await answer
    finally:
        open_dialogs.remove(dialog)
        if shiboken6.isValid(dialog) and not dialog.settled:
            dialog.dismiss()  # settled elsewhere: timed out, stopped or abandoned
