"""Settings > Tools: Sign in / Sign out of a remote server that uses OAuth, for real: a local
authorization server and a protected MCP server (tests/helpers/oauth_server.py), the pool with
the OAuth manager, the presenter and the dialog; the "browser" follows the redirect back to the
real loopback listener."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from keiko_desktop.core.events import EventBus
from keiko_desktop.ui.dialogs.tools_dialog import ToolsDialog
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.oauth_browser import HttpBrowser
from tests.helpers.oauth_server import oauth_world

from .conftest import Runner, wait_until


def test_sign_in_and_out_from_the_tools_page(
    qtbot: QtBot, run: Runner, loop: asyncio.AbstractEventLoop, memory_keyring: MemoryKeyring
) -> None:
    from keiko_desktop.core.tools.redaction import Redactor
    from keiko_desktop.core.tools.service import ToolService
    from keiko_desktop.mcp_tools.config import parse_server
    from keiko_desktop.mcp_tools.connection import PoolOptions
    from keiko_desktop.mcp_tools.oauth.manager import OAuthManager
    from keiko_desktop.mcp_tools.pool import ServerPool
    from keiko_desktop.mcp_tools.transport import ClientFactory
    from keiko_desktop.ui.presenters.tools_presenter import ToolsPresenter

    with oauth_world() as world:
        browser = HttpBrowser()

        async def build() -> Any:
            bus = EventBus(loop)
            redactor = Redactor()
            factory = ClientFactory(redactor=redactor)
            factory.oauth = OAuthManager(redactor, opener=browser)
            pool = ServerPool(bus, factory, PoolOptions(start_timeout=20))
            factory.oauth.restart = pool.restart_server
            service = ToolService(pool, bus, redactor=redactor)
            service.sign_in = factory.oauth
            pool.add(parse_server("remote", {"url": world.mcp_url}, "test"))
            await pool.wait_settled(time_limit=20)
            return service, pool

        service, pool = run(build())
        dialog = ToolsDialog()
        qtbot.addWidget(dialog)
        dialog.show()
        presenter = ToolsPresenter(dialog, service)
        run(presenter.refresh())
        assert "needs sign-in" in dialog.servers.item(0, 5).text()
        button = dialog.sign_in_button
        assert not button.isEnabled()  # nothing selected yet
        dialog.servers.setCurrentCell(0, 1)
        assert button.isEnabled()
        assert button.text() == "Sign &in"
        assert button.accessibleName() == "Sign in to remote"
        assert not browser.opened  # the pool never opened one

        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        wait_until(lambda: button.text() == "Sign &out", 30)
        run(pool.wait_settled(time_limit=20))
        run(presenter.refresh())
        assert dialog.servers.item(0, 3).text() == "ready"
        assert len(browser.opened) == 1
        assert memory_keyring.store
        assert button.accessibleName() == "Sign out of remote"

        button.setFocus()
        qtbot.keyClick(button, Qt.Key.Key_Space)  # the keyboard works as the mouse does
        wait_until(lambda: button.text() == "Sign &in", 30)
        assert not memory_keyring.store
        run(pool.wait_settled(time_limit=20))
        run(presenter.refresh())
        assert "needs sign-in" in dialog.servers.item(0, 5).text()
        run(presenter.tasks.wait_idle())
        run(pool.aclose())
