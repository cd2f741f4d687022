"""Regression: when Qt detaches a shared icon it asks our engine for a ``clone()``; nothing kept
the Python side of that clone alive, so Qt painted through a freed engine and the process
segfaulted (seen in a tool button's paint in tests/qt/test_voice_flow.py). Run in a child, since
the failure is a crash."""

from __future__ import annotations

import os
import subprocess
import sys

DETACH = """
import gc, sys
from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QToolButton
app = QApplication(sys.argv)
from keiko_desktop.ui.icons import icon
buttons = []
for _ in range(50):
    shown = icon("attach", "#333333")
    other = QIcon(shown)          # shared: the next change detaches, through clone()
    other.addPixmap(QPixmap(4, 4))
    gc.collect()
    button = QToolButton()
    button.setIcon(other)
    button.resize(40, 40)
    button.grab()                 # paints through the cloned engine
    other.pixmap(QSize(16, 16))
    buttons.append(button)
print("painted")
"""


def test_a_detached_icon_paints_after_a_collection() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", DETACH], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.strip() == "painted"
