"""Textual front end (not built yet: see the TUI issue)."""
