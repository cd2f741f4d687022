"""A file dropped into the real `keiko` window through the real X11 drag-and-drop protocol.

Two processes on one Xvfb: `keiko` (the bundled model) and a tiny PySide6 window whose QDrag
carries a file URL. xdotool presses the mouse on that window, moves to Keiko's message box and
lets go: XDND between the two processes, as a file manager would drop. The file becomes an
attachment (read from Keiko's database), the question sent with it is answered from it, and
the reply has sources. If the drag never arrives, the same file is pasted instead (the helper
owns the clipboard with a ``text/uri-list``; Ctrl+V in the message box) and the test says so.
Screenshots of every step go to ``screenshots/x11-files/``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import write_settings
from tests.helpers.documents import make_pdf
from tests.helpers.processes import stop
from tests.helpers.x11_app import MAIN, ROOT, Person, launched
from tests.helpers.xvfb import XServer

pytestmark = pytest.mark.model

SHOTS = ROOT / "screenshots" / "x11-files"
SOURCE = "^Drag source$"

SOURCE_SCRIPT = r"""
import sys
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QApplication, QLabel

path, mode, x, y = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
app = QApplication([])

def mime():
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(path)])
    return data

class Source(QLabel):
    def __init__(self):
        super().__init__("Drag me: report.pdf")
        self.setWindowTitle("Drag source")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("background: #fde68a; font-size: 16px;")
        self.pressed = None
    def mousePressEvent(self, event):
        self.pressed = event.position().toPoint()
        print("pressed", flush=True)
    def mouseMoveEvent(self, event):
        if self.pressed is None:
            return
        if (event.position().toPoint() - self.pressed).manhattanLength() < 8:
            return
        self.pressed = None
        drag = QDrag(self)
        drag.setMimeData(mime())
        print("drag started", flush=True)
        action = drag.exec(Qt.DropAction.CopyAction)
        print("drag done", int(action.value) if hasattr(action, "value") else action, flush=True)

window = Source()
window.setGeometry(x, y, 220, 90)
window.show()
if mode == "clipboard":
    QApplication.clipboard().setMimeData(mime())
    print("clipboard owned", flush=True)
print("ready", flush=True)
app.exec()
"""


@pytest.fixture
def person(xserver: XServer, keiko_home: Path, tmp_path: Path) -> Iterator[Person]:
    write_settings(keiko_home, max_tokens=48, temperature=0.0)
    with launched(xserver, keiko_home, tmp_path / "keiko.log", shots=SHOTS) as person:
        yield person


def source_process(
    xserver: XServer, tmp_path: Path, file: Path, mode: str, x: int, y: int
) -> subprocess.Popen[bytes]:
    script = tmp_path / "drag_source.py"
    script.write_text(SOURCE_SCRIPT, encoding="utf-8")
    env = {**xserver.env, "QT_QPA_PLATFORM": "xcb", "PATH": "/usr/bin:/bin"}
    log = (tmp_path / f"source-{mode}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, str(script), str(file), mode, str(x), str(y)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )


def attachments(p: Person) -> list[tuple[str, str]]:
    return [(str(r[0]), str(r[1])) for r in p.rows("SELECT name, kind FROM attachments")]


def test_a_file_dropped_from_another_program_is_attached_and_answered_from(
    person: Person, xserver: XServer, tmp_path: Path
) -> None:
    p = person
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    pdf = make_pdf(
        tmp_path / "report.pdf",
        [
            "The orchard report. Chapter one is about apples.",
            "The budget for the orchard is 42 gold coins.",
        ],
    )
    window = p.wait("the main window", lambda: p.x.visible_windows(MAIN), timeout=60)[0]
    left, top, width, height = p.x.geometry(window)
    p.wait("the core (its database)", (p.home / "data" / "keiko.sqlite3").exists, timeout=60)
    time.sleep(1.0)
    sx = left + width + 20 if left + width + 240 < 1280 else left + width - 240
    sy = top + 60
    source = source_process(xserver, tmp_path, pdf, "drag", sx, sy)
    try:
        p.wait("the drag source", lambda: p.x.visible_windows(SOURCE), timeout=30)
        time.sleep(0.5)
        p.shot("keiko and the drag source")
        # Press on the source, move to Keiko's message box (bottom middle), let go.
        target_x, target_y = left + width // 2, top + height - 70
        p.x.xdotool("mousemove", "--sync", str(sx + 110), str(sy + 45))
        p.x.xdotool("mousedown", "1")
        for step in range(1, 21):
            fx = sx + 110 + (target_x - sx - 110) * step // 20
            fy = sy + 45 + (target_y - sy - 45) * step // 20
            p.x.xdotool("mousemove", str(fx), str(fy))
            time.sleep(0.05)
        time.sleep(0.3)
        p.shot("dragging over the message box")
        p.x.xdotool("mouseup", "1")
        how = "drag"
        deadline = time.monotonic() + 20
        while not attachments(p) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop(source, grace=5)
    if not attachments(p):  # XDND did not get through: paste the same file instead
        how = "paste"
        source = source_process(xserver, tmp_path, pdf, "clipboard", sx, sy)
        try:
            p.wait("the clipboard owner", lambda: p.x.visible_windows(SOURCE), timeout=30)
            time.sleep(0.5)
            p.x.pointer_into(left + width // 2 + 7, top + height - 66)  # (--sync needs a move)
            p.key("ctrl+v")
            p.wait("the pasted file", lambda: attachments(p), timeout=30)
        finally:
            stop(source, grace=5)
    assert attachments(p) == [("report.pdf", "pdf")], how
    time.sleep(0.5)
    p.shot(f"attached by {how}")

    p.x.pointer_into(left + width // 2 + 3, top + height - 73)  # (--sync needs a move)
    p.type("What is the budget for the orchard?")
    p.key("Return")
    p.wait("the reply", p.reply_done, timeout=180)
    linked = p.rows(
        "SELECT a.name FROM message_attachments ma JOIN attachments a ON a.id = ma.attachment_id"
    )
    assert linked == [("report.pdf",)]
    sources = p.rows(
        "SELECT c.page FROM message_sources s JOIN chunks c ON c.id = s.chunk_id "
        "WHERE s.message_id = (SELECT max(id) FROM messages WHERE role = 'assistant')"
    )
    assert sorted(int(r[0]) for r in sources) == [1, 2]  # both short pages fit the budget
    time.sleep(1.0)
    p.shot("the reply with its sources")
    print(f"attached by {how}")
