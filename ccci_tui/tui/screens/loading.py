"""The seam between a screen that fills itself later (from a thread it started, or after its first frame)
and the app's settled check."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Loading(Protocol):
    """A screen whose data arrives from a thread it started, or whose widgets mount after its first frame."""

    @property
    def awaiting(self) -> str:
        """What the screen still waits for, in a few words; empty once its data is shown."""
        ...
