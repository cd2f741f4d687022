"""SVG icons, tinted to the theme and drawn sharp at any scale.

They are package data (``keiko_desktop/resources/icons``), read with ``importlib.resources``, so
an installed wheel or a bundle finds them wherever the package lives.

A ``QIcon`` keeps a C++ pointer to its engine, but nothing keeps the Python side of our engine
subclass alive for it: an engine made by ``clone()`` (when Qt detaches an icon) was freed as
soon as ``clone`` returned, and Qt then painted through a dangling pointer (a segfault in a
tool button's paint). So every engine is kept in ``_ENGINES``, and ``icon()`` hands out copies
of one cached icon per name and colours, which keeps that list as short as the icon set.
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


_ENGINES: list[QIconEngine] = []
"""Every engine made, kept alive for the icons that hold it (see the module's docstring)."""


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
        _ENGINES.append(self)

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


@cache
def _shared_icon(name: str, color: str | None, disabled_color: str | None) -> QIcon:
    return QIcon(SvgIconEngine(name, color, disabled_color))


def icon(name: str, color: str, disabled_color: str | None = None) -> QIcon:
    """The icon ``name`` (``resources/icons/<name>.svg`` in the package) in ``color``."""
    return QIcon(_shared_icon(name, color, disabled_color or color))


def app_icon() -> QIcon:
    """The application icon, in its own colours."""
    return QIcon(_shared_icon(APP_ICON, None, None))
