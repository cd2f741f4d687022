"""Render Keiko's SVG icon into the platform icon files the installers need.

    python packaging/make_icons.py

writes ``packaging/windows/keiko.ico`` (256 px) and ``packaging/macos/keiko.icns`` (1024 px)
with Qt's own image plugins (qico, qicns), so no other tool is needed on the build runner; each
platform scales the one image down. Generated files, not kept in git.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SVG = HERE.parent / "keiko_desktop" / "resources" / "icons" / "keiko.svg"
TARGETS = {
    HERE / "windows" / "keiko.ico": (b"ico", 256),
    HERE / "macos" / "keiko.icns": (b"icns", 1024),
}


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(QSize(size, size), QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    _app = QGuiApplication(sys.argv)
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"cannot read {SVG}", file=sys.stderr)
        return 1
    for path, (fmt, size) in TARGETS.items():
        if fmt not in [bytes(f) for f in QImageWriter.supportedImageFormats()]:
            print(f"Qt cannot write {fmt.decode()} here; skipped {path}", file=sys.stderr)
            continue
        image = render(renderer, size)
        writer = QImageWriter(str(path), fmt)
        if not writer.write(image):
            print(f"cannot write {path}: {writer.errorString()}", file=sys.stderr)
            return 1
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
