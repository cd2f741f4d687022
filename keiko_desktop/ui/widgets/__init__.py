"""Keiko's desktop window: widgets."""
