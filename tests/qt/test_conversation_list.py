"""The sidebar's rows: sections, order, selection, through reloads that grow and shrink it."""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import Qt

from keiko_desktop.core.ports import Conversation
from keiko_desktop.ui.theme import LIGHT
from keiko_desktop.ui.widgets.conversation_list import ConversationList, ordered

NOW = datetime.now()


def _chat(cid: int, title: str, days: int = 0, pinned: bool = False) -> Conversation:
    when = NOW - timedelta(days=days)
    return Conversation(id=cid, title=title, created_at=when, updated_at=when, pinned=pinned)


def _rows(sidebar: ConversationList) -> list[tuple[str, bool]]:
    """Each row's text, and whether a person can select it."""
    items = [sidebar.list.item(i) for i in range(sidebar.list.count())]
    return [(i.text(), bool(i.flags() & Qt.ItemFlag.ItemIsSelectable)) for i in items]


def test_reloads_rewrite_the_rows_in_place(qtbot) -> None:  # type: ignore[no-untyped-def]
    sidebar = ConversationList(LIGHT)
    qtbot.addWidget(sidebar)
    sidebar.set_conversations(
        ordered([_chat(1, "Old", days=3), _chat(2, "New"), _chat(3, "Pin", 9, True)])
    )
    sidebar.select(1)
    assert _rows(sidebar) == [
        ("Pinned", False),
        ("Pin", True),
        ("Today", False),
        ("New", True),
        ("Previous 7 days", False),
        ("Old", True),
    ]
    assert sidebar.conversation_ids() == [3, 2, 1]

    # The pinned one is gone and "Old" was renamed: a shorter list, the selection kept.
    sidebar.set_conversations([_chat(2, "New"), _chat(1, "Older", days=3)])
    assert _rows(sidebar) == [
        ("Today", False),
        ("New", True),
        ("Previous 7 days", False),
        ("Older", True),
    ]
    assert sidebar.list.currentItem().text() == "Older"
    assert sidebar.list.currentItem().toolTip() == "Older"
    header_font = sidebar.list.item(0).font()
    assert header_font.weight() > sidebar.list.item(1).font().weight()

    # A row that was a header becomes a chat again, and a new one is added at the end.
    sidebar.set_conversations([_chat(4, "Fresh"), _chat(2, "New"), _chat(1, "Older", 3)])
    assert [text for text, _ in _rows(sidebar)] == [
        "Today",
        "Fresh",
        "New",
        "Previous 7 days",
        "Older",
    ]
    assert sidebar.list.item(1).font().weight() == sidebar.list.font().weight()
    assert sidebar.list.currentItem().text() == "Older"

    sidebar.set_conversations([])
    assert sidebar.list.count() == 0
    assert sidebar.empty_label.isVisibleTo(sidebar)
