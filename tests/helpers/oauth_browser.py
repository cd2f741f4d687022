"""The "browser" of the OAuth tests: opens the authorization URL with an HTTP client and follows
the authorization server's redirect to Keiko's loopback listener, as a person's browser would
after they approved (the test authorization server approves at once).

In-process tests pass ``HttpBrowser`` as the ``OAuthManager`` opener; a subprocess gets it as
``BROWSER="python -m tests.helpers.oauth_browser %s"`` (``webbrowser`` runs it with the URL).
"""

from __future__ import annotations

import sys

import httpx2


class HttpBrowser:
    """An opener that records each URL it opened and what the last page said."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.pages: list[str] = []

    async def __call__(self, url: str) -> None:
        self.opened.append(url)
        async with httpx2.AsyncClient(follow_redirects=True, timeout=30) as http:
            response = await http.get(url)
            self.pages.append(response.text)


def main() -> None:
    with httpx2.Client(follow_redirects=True, timeout=30) as http:
        http.get(sys.argv[1])


if __name__ == "__main__":
    main()
