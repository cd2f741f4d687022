"""GBNF grammars for tool calls: one JSON object, a call to a known tool or the final answer.

    {"tool": "clock.now", "arguments": {"timezone": "Asia/Tokyo"}}    or    {"answer": "..."}

The grammar is built from the tools' JSON schemas by llama.cpp's own converter
(``llama_cpp.llama_grammar.json_schema_to_gbnf``), so a model can only name a tool that exists
and only pass arguments of the right shape. A tool whose schema the converter cannot express gets
a free-form JSON object for its arguments (the call is still validated before it runs).
Grammars are cached by the tools' names and schemas.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from keiko_desktop.core.tools.models import ToolSpec

log = logging.getLogger(__name__)

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}
_FREE_OBJECT: dict[str, Any] = {"type": "object"}
# Keys that do not constrain a value: dropped so the grammar stays small.
_NOT_CONSTRAINTS = frozenset({"title", "default", "examples", "$schema", "description"})


def _clean(schema: Any, in_properties: bool = False) -> Any:
    if isinstance(schema, dict):
        return {
            key: _clean(value, key == "properties" and not in_properties)
            for key, value in schema.items()
            if in_properties or key not in _NOT_CONSTRAINTS
        }
    if isinstance(schema, list):
        return [_clean(value) for value in schema]
    return schema


def _rewrite_refs(schema: Any, prefix: str) -> Any:
    """Point local ``$ref``s (``#/$defs/X``, ``#/definitions/X``) at ``#/$defs/<prefix>X``."""
    if isinstance(schema, dict):
        out = {k: _rewrite_refs(v, prefix) for k, v in schema.items()}
        ref = out.get("$ref")
        if isinstance(ref, str):
            for local in ("#/$defs/", "#/definitions/"):
                if ref.startswith(local):
                    out["$ref"] = "#/$defs/" + prefix + ref[len(local) :]
        return out
    if isinstance(schema, list):
        return [_rewrite_refs(v, prefix) for v in schema]
    return schema


def arguments_schema(spec: ToolSpec, prefix: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """The tool's input schema, tidied, with no properties beyond those it declares, and its
    definitions renamed ``<prefix>Name`` (to be hoisted to the root of the reply schema)."""
    schema = _clean(copy.deepcopy(spec.input_schema))
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        return dict(_FREE_OBJECT), {}
    raw_defs = {**schema.pop("definitions", {}), **schema.pop("$defs", {})}
    schema = _rewrite_refs(schema, prefix)
    defs = {prefix + name: _rewrite_refs(d, prefix) for name, d in raw_defs.items()}
    schema["type"] = "object"
    if "properties" in schema:
        schema.setdefault("additionalProperties", False)
    return schema, defs


def call_schema(
    spec: ToolSpec, prefix: str = "", free_arguments: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The schema of a call to ``spec``, and the definitions it refers to."""
    arguments, defs = (dict(_FREE_OBJECT), {}) if free_arguments else arguments_schema(spec, prefix)
    schema = {
        "type": "object",
        "properties": {"tool": {"const": spec.qualified_name}, "arguments": arguments},
        "required": ["tool", "arguments"],
        "additionalProperties": False,
    }
    return schema, defs


def to_gbnf(schema: dict[str, Any]) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return str(json_schema_to_gbnf(json.dumps(schema), prop_order=["tool", "arguments"]))


def reply_schema(tools: Sequence[ToolSpec], allow_answer: bool = True) -> dict[str, Any]:
    """The JSON schema of one reply: a call to one of ``tools``, or (if allowed) an answer."""
    options: list[dict[str, Any]] = []
    all_defs: dict[str, Any] = {}
    for index, spec in enumerate(tools):
        option, defs = call_schema(spec, prefix=f"t{index}_")
        try:
            to_gbnf({**option, "$defs": defs} if defs else option)
        except Exception as exc:  # noqa: BLE001 - the converter raises whatever it meets
            log.info(
                "tool %s: arguments kept free-form in the grammar (%s)", spec.qualified_name, exc
            )
            option, defs = call_schema(spec, free_arguments=True)
        options.append(option)
        all_defs.update(defs)
    if allow_answer or not options:
        options.append(ANSWER_SCHEMA)
    schema = options[0] if len(options) == 1 else {"oneOf": options}
    return {**schema, "$defs": all_defs} if all_defs else schema


def tool_call_gbnf(tools: Sequence[ToolSpec], *, allow_answer: bool = True) -> str:
    """GBNF for one reply. ``allow_answer=False`` forces a tool call; with no tools only
    ``{"answer": "..."}`` is possible."""
    key = json.dumps(
        [[t.server, t.name, t.input_schema] for t in tools], sort_keys=True, default=str
    )
    return _gbnf_for(key, allow_answer)


@lru_cache(maxsize=32)
def _gbnf_for(key: str, allow_answer: bool) -> str:
    tools = [
        ToolSpec(server, name, input_schema=schema) for server, name, schema in json.loads(key)
    ]
    return to_gbnf(reply_schema(tools, allow_answer))


def tool_call_grammar(tools: Sequence[ToolSpec]) -> Any:
    """The ``llama_cpp.LlamaGrammar`` for one reply (pass it as ``grammar=`` to llama.cpp)."""
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_string(tool_call_gbnf(tools), verbose=False)
