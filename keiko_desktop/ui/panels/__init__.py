"""Keiko's desktop window: panels."""
