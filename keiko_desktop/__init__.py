"""Keiko Desktop: a local-first AI assistant for the desktop."""

__version__ = "0.1.0"
