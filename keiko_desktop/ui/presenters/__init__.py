"""Keiko's desktop window: presenters."""
