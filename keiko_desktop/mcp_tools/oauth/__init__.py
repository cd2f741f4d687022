"""OAuth for remote streamable-HTTP servers (MCP authorization spec), on the SDK's client flow.

``settings`` (the ``oauth`` block of an ``mcp.json`` entry) imports nothing of the SDK; the rest
(``vault``, ``loopback``, ``auth``, ``manager``) is loaded with the tool system.
"""
