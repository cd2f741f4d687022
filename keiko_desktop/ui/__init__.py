"""Keiko's desktop window."""
