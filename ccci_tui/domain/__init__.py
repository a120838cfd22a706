"""Pure domain: frozen dataclasses and functions; no textual, docker or git imports."""
