"""The picker's list of stacks and services, read off the main thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ccci_tui.domain.model import ServiceState, stack_badge


@dataclass(frozen=True)
class StackServices:
    """One stack with each service's last read: a StackSummary (name, services, badge) with states."""

    name: str
    states: tuple[ServiceState, ...]

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    @property
    def badge(self) -> str:
        return stack_badge(s.update_status.state if s.update_status else None for s in self.states)


def list_stacks(source: Any, done: Callable[[tuple[Any, ...] | None, str | None], None],
                stack: str | None = None) -> None:
    """Call `done(stacks, None)` or `done(None, error)` from a daemon thread; with `stack`, that one
    stack as StackServices."""

    def run() -> None:
        try:
            stacks = (StackServices(stack, tuple(source.services(stack))),) if stack else tuple(source.stacks())
        except Exception as exc:  # noqa: BLE001 - any failure is shown in the picker, never raised
            done(None, str(exc))
            return
        done(stacks, None)

    # A daemon thread, not a Textual thread worker, for LiveFeed's reason: a hung read never holds up quitting.
    threading.Thread(target=run, name="ccci-stacks", daemon=True).start()
