"""`keiko serve`: Keiko's local models over an OpenAI-compatible API on 127.0.0.1.

``schema`` checks requests, ``app`` is the Starlette app (guard, routes, SSE), ``server`` runs
it with uvicorn in the caller's loop. An adapter: it sees ``core`` (and ``workers``) only, and
gets its models through the lease it is handed.
"""
