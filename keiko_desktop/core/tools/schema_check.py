"""Is a tool's ``inputSchema`` one Keiko can check arguments against?

Checked once, when a server lists its tools (``schema_problem``). A tool whose schema is not
valid JSON Schema (``"type": "str"``, an unknown type), is not an object schema, is too big or
too deep, or refers to itself without ever reaching a value (``{"$ref": "#"}``, two
definitions that only point at each other: validating against it never ends) is unusable: it
is listed with the reason and never called, so no call is ever approved against a schema
nobody could check.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError

MAX_SCHEMA_BYTES = 256_000
MAX_SCHEMA_DEPTH = 48
MAX_REF_STEPS = 10_000

# Keywords that apply a subschema to the same value (so a $ref cycle through them never ends).
_SAME_VALUE = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else")


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_SCHEMA_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def _pointer(root: dict[str, Any], ref: str) -> Any:
    """The subschema a local ``#/...`` reference names, or None."""
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _local_refs(schema: Any, *, same_value: bool) -> list[str]:
    """The local ``$ref``s in ``schema``: every one (each may apply to some value), or with
    ``same_value`` only those reached without moving to a property or an item."""
    refs: list[str] = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                refs.append(ref)
            stack.extend([node.get(k) for k in _SAME_VALUE] if same_value else node.values())
    return refs


def _ref_cycle(root: dict[str, Any]) -> str | None:
    """A local $ref that leads back to itself without consuming any part of the value."""
    graph: dict[str, list[str]] = {}
    todo = ["#", *_local_refs(root, same_value=False)]
    steps = 0
    while todo:
        ref = todo.pop()
        if ref in graph:
            continue
        steps += 1
        if steps > MAX_REF_STEPS:
            return "too many references"
        target = _pointer(root, ref)
        graph[ref] = _local_refs(target, same_value=True) if target is not None else []
        todo.extend(graph[ref])
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str) -> str | None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return nxt
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        return None

    for start in list(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` cannot serve as a tool's input schema, in words; None when it can."""
    if not isinstance(schema, dict):
        return "its input schema is not a JSON object"
    try:
        size = len(json.dumps(schema, default=str))
    except (TypeError, ValueError, RecursionError):
        return "its input schema cannot be read as JSON"
    if size > MAX_SCHEMA_BYTES:
        return f"its input schema is {size:,} bytes; at most {MAX_SCHEMA_BYTES:,} are accepted"
    if _depth(schema) > MAX_SCHEMA_DEPTH:
        return f"its input schema is nested more than {MAX_SCHEMA_DEPTH} levels deep"
    if schema.get("type", "object") != "object":
        return f"its input schema has type {schema.get('type')!r}; a tool's must be 'object'"
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        return f"its input schema is invalid{' at ' + where if where else ''}: {exc.message}"
    except Exception as exc:  # noqa: BLE001 - a hostile schema may break the checker itself
        return f"its input schema could not be checked ({type(exc).__name__})"
    cycle = _ref_cycle(schema)
    if cycle is not None:
        return f"its input schema refers to itself without end ($ref {cycle!r})"
    return None
