"""Resources, templates, completions, prompts and subscriptions of a real SDK server
(``tests/helpers/mcp_servers/resources_server.py``) over stdio through the real pool, in the
pool's default mode (2026-07-28 with fallback) and in the 2025 handshake (``legacy``); and
attaching them through the real AttachmentService with a real SQLite file."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.files.service import AttachmentService
from keiko_desktop.core.files.types import AttachmentError
from keiko_desktop.core.tools.resource_attach import Refreshed, ResourceAttacher
from keiko_desktop.core.tools.resources import (
    CompletionRef,
    McpContentError,
    expand_template,
    parse_arguments,
)
from keiko_desktop.mcp_tools.config import StdioServerConfig
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.resources import McpResources
from keiko_desktop.mcp_tools.transport import ClientFactory
from keiko_desktop.store import Database
from tests.helpers.attachments import attachment_service
from tests.helpers.mcp_servers.resources_server import README, tiny_png

from .conftest import FAST, wait_status

SERVER = Path(__file__).parents[2] / "helpers" / "mcp_servers" / "resources_server.py"


def docs(env: dict[str, str] | None = None) -> StdioServerConfig:
    return StdioServerConfig("docs", sys.executable, (str(SERVER),), env=env or {})


@pytest.fixture(params=["auto", "legacy"])
async def content(request: pytest.FixtureRequest, bus: EventBus, tmp_path: Path) -> McpResources:
    pool = ServerPool(
        bus, ClientFactory(log_dir=tmp_path / "logs"), replace(FAST, protocol=request.param)
    )
    pool.add(docs())
    try:
        await wait_status(pool, "docs", "ready")
        yield McpResources(pool, time_limit=10.0)
    finally:
        await pool.aclose()


async def test_lists_resources_and_templates(content: McpResources) -> None:
    caps = content.capabilities("docs")
    assert caps.resources
    assert caps.prompts
    assert caps.completions
    assert caps.subscribe
    listing = await content.list_resources("docs")
    by_uri = {r.uri: r for r in listing.items}
    assert {"docs://readme", "docs://logo.png", "docs://blob.bin", "docs://live"} <= set(by_uri)
    assert by_uri["docs://readme"].title == "Read me"
    assert by_uri["docs://readme"].mime_type == "text/markdown"
    assert not listing.truncated
    [template] = (await content.list_templates("docs")).items
    assert template.uri_template == "docs://pages/{page}"
    assert template.variables == ("page",)


async def test_reads_text_and_blob(content: McpResources) -> None:
    [text] = await content.read("docs", "docs://readme")
    assert text.text == README
    [png] = await content.read("docs", "docs://logo.png")
    assert png.data == tiny_png()
    assert png.mime_type == "image/png"


async def test_template_filled_and_completed(content: McpResources) -> None:
    ref = CompletionRef("template", "docs://pages/{page}")
    assert await content.complete("docs", ref, "page", "in", {}) == (
        "intro",
        "install",
        "internals",
    )
    uri = expand_template("docs://pages/{page}", {"page": "usage"})
    [part] = await content.read("docs", uri)
    assert part.text == "This is the usage page of the zebra manual."


async def test_unknown_resource_is_a_clear_error(content: McpResources) -> None:
    with pytest.raises(McpContentError, match="refused reading docs://nothing"):
        await content.read("docs", "docs://nothing")


async def test_prompts_list_get_and_complete(content: McpResources) -> None:
    prompts = {p.name: p for p in (await content.list_prompts("docs")).items}
    review = prompts["review"]
    assert review.title == "Review a topic"
    assert [(a.name, a.required) for a in review.arguments] == [("topic", True), ("style", False)]
    ref = CompletionRef("prompt", "review")
    assert await content.complete("docs", ref, "topic", "s", {}) == ("security", "speed", "style")
    args = parse_arguments(review, ["security", "style=thorough"])
    result = await content.get_prompt("docs", "review", args)
    assert result.user_text() == "Please review security in a thorough way."
    assert result.context_text() == "I will look at the read-me first."
    [embedded] = result.resources()
    assert (embedded.uri, embedded.text) == ("docs://pages/intro", "Intro page text.")
    with pytest.raises(McpContentError, match="needs topic"):
        parse_arguments(review, ["style=brief"])


async def test_a_subscribed_resource_reports_its_update(content: McpResources) -> None:
    async with content.subscribe("docs", "docs://live") as updates:
        await content.pool.call_tool("docs", "bump", {"text": "version 2"})
        async with asyncio.timeout(10):
            assert await anext(updates) == "docs://live"
    [part] = await content.read("docs", "docs://live")
    assert part.text == "version 2"


async def test_paged_list_is_bounded(bus: EventBus, tmp_path: Path) -> None:
    pool = ServerPool(bus, ClientFactory(log_dir=tmp_path / "logs"), FAST)
    pool.add(docs({"RES_MANY": "700"}))
    try:
        await wait_status(pool, "docs", "ready")
        listing = await McpResources(pool).list_resources("docs")
        assert len(listing.items) == 500
        assert listing.truncated
    finally:
        await pool.aclose()


# ---------------------------------------------------------------- as attachments
@pytest.fixture
def files(database: Database, bus: EventBus, tmp_path: Path) -> AttachmentService:
    return attachment_service(database, bus, tmp_path / "files")


async def test_text_and_image_resources_become_attachments(
    content: McpResources, files: AttachmentService
) -> None:
    attacher = ResourceAttacher(content, files)
    readme = await attacher.attach("docs", "docs://readme")
    assert (readme.name, readme.kind) == ("docs:docs://readme", "markdown")
    pages = await files.pages(readme.id)
    assert "zebra manual" in pages[0].text
    assert files.stored_path(readme).read_bytes() == README.encode()
    logo = await attacher.attach("docs", "docs://logo.png")
    assert (logo.name, logo.kind, logo.mime) == ("docs:docs://logo.png", "image", "image/png")
    again = await attacher.attach("docs", "docs://readme")
    assert again.id == readme.id  # content-addressed: the same copy


async def test_unreadable_binary_gets_the_dropped_file_refusal(
    content: McpResources, files: AttachmentService
) -> None:
    with pytest.raises(AttachmentError) as caught:
        await ResourceAttacher(content, files).attach("docs", "docs://blob.bin")
    assert "docs:docs://blob.bin" in caught.value.message
    assert "binary" in (caught.value.message + caught.value.hint).lower()


async def test_a_watched_attachment_is_refreshed(
    content: McpResources, files: AttachmentService
) -> None:
    attacher = ResourceAttacher(content, files)
    first = await attacher.attach("docs", "docs://live")
    got: asyncio.Queue[Refreshed] = asyncio.Queue()
    assert attacher.watch("docs", "docs://live", first, got.put_nowait)
    await asyncio.sleep(0.5)  # the subscription is open before the change
    try:
        await content.pool.call_tool("docs", "bump", {"text": "version 2 of the live note"})
        async with asyncio.timeout(15):
            refreshed = await got.get()
        assert refreshed.old.id == first.id
        assert refreshed.new.name == "docs:docs://live"
        [page] = await files.pages(refreshed.new.id)
        assert page.text == "version 2 of the live note"
    finally:
        await attacher.aclose()
