"""ccci-tui: diagnose drift in Co-op Cloud recipe upgrades on Docker Swarm."""

from __future__ import annotations

__version__ = "0.2.0"
