"""What a recording holds once read: a header and time-ordered records, with seeking by time.

The file format (JSON Lines, deltas and keyframes, gzip) lives in sources/recording.py; this is
the in-memory shape every consumer (diagnose, compare, the TUI) reads, live or replayed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ccci_tui.domain.model import Event, Observation, RecipeState
from ccci_tui.domain.verdict import Verdict

OBSERVATION = "observation"
EVENT = "event"
RECIPE = "recipe"
POLICY = "policy"
VERDICT = "verdict"
NOTE = "note"
RECORD_KINDS = (OBSERVATION, EVENT, RECIPE, POLICY, VERDICT, NOTE)


@dataclass(frozen=True)
class Header:
    """The first line of a recording."""

    format: str
    version: int
    tool_version: str
    created: datetime
    host: str | None
    stack: str
    service: str = "app"
    recipe_path: str | None = None
    source: str | None = None  # the daemon it was recorded from (DOCKER_HOST or context), redacted


@dataclass(frozen=True)
class Record:
    """One record: `value` is an Observation, Event, RecipeState, Verdict, a policy dict or a note string."""

    at: datetime
    kind: str
    value: Any
    line: int = 0


@dataclass(frozen=True)
class Recording:
    """A whole recording, records in time order; `skipped` lists (line, reason) of unreadable lines."""

    header: Header
    records: tuple[Record, ...]
    skipped: tuple[tuple[int, str], ...] = ()
    times: tuple[datetime, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if not self.times:
            object.__setattr__(self, "times", tuple(r.at for r in self.records))

    def index_at(self, at: datetime) -> int:
        """Number of records at or before `at` (binary search)."""
        return bisect.bisect_right(self.times, at)

    def of_kind(self, kind: str) -> list[Record]:
        return [r for r in self.records if r.kind == kind]

    def observations(self) -> list[Observation]:
        return [r.value for r in self.records if r.kind == OBSERVATION]

    def events(self) -> list[Event]:
        return [r.value for r in self.records if r.kind == EVENT]

    def observation_at(self, at: datetime) -> Observation | None:
        """The newest observation at or before `at`."""
        for r in reversed(self.records[: self.index_at(at)]):
            if r.kind == OBSERVATION:
                return r.value  # type: ignore[no-any-return]
        return None

    def recipe_at(self, at: datetime | None = None) -> RecipeState | None:
        """The newest recipe state at or before `at` (any time when None)."""
        pool = self.records if at is None else self.records[: self.index_at(at)]
        for r in reversed(pool):
            if r.kind == RECIPE:
                return r.value  # type: ignore[no-any-return]
        return None

    def last_verdict(self) -> Verdict | None:
        for r in reversed(self.records):
            if r.kind == VERDICT:
                return r.value  # type: ignore[no-any-return]
        return None

    @property
    def start(self) -> datetime | None:
        return self.times[0] if self.times else None

    @property
    def end(self) -> datetime | None:
        return self.times[-1] if self.times else None
