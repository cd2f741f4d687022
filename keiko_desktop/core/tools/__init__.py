"""Tool use: registry, permissions, approvals, audit and the call pipeline. Pure Python.

Import what you need from its module (``keiko_desktop.core.tools.service``, ``...models``,
``...approvals``); this package re-exports nothing, so importing one submodule (say the events)
does not load the whole pipeline (the middleware pulls in jsonschema).
"""
