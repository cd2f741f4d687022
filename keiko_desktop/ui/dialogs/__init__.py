"""Keiko's desktop window: dialogs."""
