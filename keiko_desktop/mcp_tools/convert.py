"""From the SDK's types to Keiko's: tool specs and results."""

from __future__ import annotations

import json

import mcp.types as types

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.models import ToolResult, ToolSpec
from keiko_desktop.core.tools.schema_check import schema_problem

TRUNCATION_NOTE = "\n[truncated: the result was {size} characters; only the first {kept} are shown]"


def tool_spec(server: str, tool: types.Tool, *, builtin: bool, identity: str = "") -> ToolSpec:
    """Keiko's spec of ``tool``. Its schema is checked here, once: a broken one makes the tool
    unusable (``problem`` says why). Its name must already be valid (``tool_name_problem``)."""
    annotations = tool.annotations
    read_only = bool(annotations is not None and annotations.read_only_hint)
    schema = dict(tool.input_schema or {"type": "object"})
    problem = schema_problem(schema)
    return ToolSpec(
        server=server,
        name=tool.name,
        description=tool.description or "",
        input_schema=schema,
        title=tool.title or (annotations.title if annotations is not None else None),
        read_only=read_only,
        builtin=builtin,
        server_identity=identity,
        problem=one_line(problem, 300) if problem else None,
    )


def _block_text(block: types.ContentBlock) -> str:
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent):
        return f"[image: {block.mime_type}, {len(block.data) * 3 // 4} bytes]"
    if isinstance(block, types.AudioContent):
        return f"[audio: {block.mime_type}, {len(block.data) * 3 // 4} bytes]"
    if isinstance(block, types.ResourceLink):
        return f"[resource: {block.uri}]"
    if isinstance(block, types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, types.TextResourceContents):
            return resource.text
        return f"[resource: {resource.uri}, binary]"
    return f"[{type(block).__name__}]"  # pragma: no cover - future content types


def tool_result(result: types.CallToolResult, max_chars: int) -> ToolResult:
    """Text for the model: the text blocks joined, else the structured content as JSON."""
    parts = [_block_text(block) for block in result.content]
    text = "\n".join(p for p in parts if p)
    if not text and result.structured_content is not None:
        text = json.dumps(result.structured_content, ensure_ascii=False)
    return truncated(
        ToolResult(
            text=text,
            is_error=bool(result.is_error),
            structured=result.structured_content,
            size=len(text),
        ),
        max_chars,
    )


def truncated(result: ToolResult, max_chars: int) -> ToolResult:
    if len(result.text) <= max_chars:
        return result
    note = TRUNCATION_NOTE.format(size=len(result.text), kept=max_chars)
    return ToolResult(
        text=result.text[:max_chars] + note,
        is_error=result.is_error,
        structured=None,
        size=result.size,
        truncated=True,
        decision=result.decision,
        duration=result.duration,
    )
