"""Signing in to a remote tool server (OAuth): the port the window's Settings > Tools uses.

The adapter (``mcp_tools.oauth.manager.OAuthManager``) implements ``ServerSignIn``; the window
reaches it through ``ToolService.sign_in`` and never imports the adapter.
"""

from __future__ import annotations

from typing import Literal, Protocol

from keiko_desktop.core.tools.errors import ServerUnavailableError

SignInState = Literal["signed-in", "signed-out"]


class SignInNeededError(ServerUnavailableError):
    """A remote server wants OAuth and Keiko holds no usable token: a person must sign in."""


def sign_in_needed(server: str, why: str = "") -> SignInNeededError:
    reason = f" ({why})" if why else ""
    return SignInNeededError(
        f"needs sign-in{reason}: run `keiko mcp login {server}` or use Sign in in Settings > Tools",
        f"Run `keiko mcp login {server}`, or select it in Settings > Tools and press Sign in.",
    )


class ServerSignIn(Protocol):
    """Sign in to (and out of) the servers that use OAuth."""

    def sign_in_state(self, server: str) -> SignInState | None:
        """None for a server that does not use OAuth (as far as Keiko knows)."""
        ...

    async def sign_in(self, server: str) -> None:
        """Run the browser flow for ``server`` and restart it; raises ``KeikoError``."""
        ...

    async def sign_out(self, server: str) -> None:
        """Forget ``server``'s tokens and registered client; raises ``KeikoError``."""
        ...
