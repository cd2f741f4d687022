"""SVG icons, tinted to the theme and drawn sharp at any scale.

They are package data (``keiko_desktop/resources/icons``), read with ``importlib.resources``, so
an installed wheel or a bundle finds them wherever the package lives.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from PySide6.QtCore import QByteArray, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QIconEngine, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

ICON_DIR = files("keiko_desktop").joinpath("resources", "icons")
APP_ICON = "keiko"


@cache
def _svg_text(name: str) -> str:
    return ICON_DIR.joinpath(f"{name}.svg").read_text(encoding="utf-8")


class SvgIconEngine(QIconEngine):
    """Renders one SVG in one colour; a lighter colour for the disabled mode.

    A ``color`` of ``None`` keeps the SVG's own colours (the app icon).
    """

    def __init__(self, name: str, color: str | None, disabled_color: str | None) -> None:
        super().__init__()
        self._name = name
        self._color = color
        self._disabled_color = disabled_color
        self._renderers: dict[str, QSvgRenderer] = {}

    def _renderer(self, mode: QIcon.Mode) -> QSvgRenderer:
        color = self._disabled_color if mode == QIcon.Mode.Disabled else self._color
        key = color or ""
        renderer = self._renderers.get(key)
        if renderer is None:
            data = _svg_text(self._name)
            if color is not None:
                data = data.replace("currentColor", color)
            renderer = QSvgRenderer(QByteArray(data.encode("utf-8")))
            self._renderers[key] = renderer
        return renderer

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        self._renderer(mode).render(painter, QRectF(rect))

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        self.paint(painter, QRect(QPoint(0, 0), size), mode, state)
        painter.end()
        return pixmap

    def clone(self) -> QIconEngine:
        return SvgIconEngine(self._name, self._color, self._disabled_color)

    def key(self) -> str:
        return "keiko-svg"


def icon(name: str, color: str, disabled_color: str | None = None) -> QIcon:
    """The icon ``name`` (``resources/icons/<name>.svg`` in the package) in ``color``."""
    return QIcon(SvgIconEngine(name, color, disabled_color or color))


def app_icon() -> QIcon:
    """The application icon, in its own colours."""
    return QIcon(SvgIconEngine(APP_ICON, None, None))
