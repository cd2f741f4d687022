"""Pure-Python core: ports, events, settings and services. No Qt, no engines."""
