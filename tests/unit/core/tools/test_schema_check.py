"""schema_check: which input schemas a tool may have."""

from __future__ import annotations

from typing import Any

import pytest

from keiko_desktop.core.tools.schema_check import schema_problem


def _deep(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {}
    for _ in range(levels):
        node = {"x": node}
    return {"deep": node}


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object"},
        {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
        {  # a tree: recursive, but every step goes down into a value
            "type": "object",
            "$defs": {
                "node": {
                    "type": "object",
                    "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                }
            },
            "properties": {"root": {"$ref": "#/$defs/node"}},
        },
        {"properties": {"n": {"type": "integer"}}},  # no type: an object by default
    ],
)
def test_good_schemas_pass(schema: dict[str, Any]) -> None:
    assert schema_problem(schema) is None


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"type": "object", "properties": {"a": {"type": "str"}}}, "is invalid at properties/a"),
        ({"type": "array"}, "must be 'object'"),
        ({"type": "object", "$ref": "#"}, "refers to itself without end"),
        (
            {
                "type": "object",
                "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}},
                "properties": {"x": {"$ref": "#/$defs/a"}},
            },
            "refers to itself without end",
        ),
        ({"type": "object", "properties": _deep(60)}, "nested more than"),
        ("not a dict", "not a JSON object"),
    ],
)
def test_bad_schemas_say_why(schema: Any, reason: str) -> None:
    problem = schema_problem(schema)
    assert problem is not None
    assert reason in problem
