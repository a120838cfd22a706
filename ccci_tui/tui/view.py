"""What one screen shows at one moment: a frozen view built off the main thread by a feed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ccci_tui.domain.memory import Samples
from ccci_tui.domain.model import Observation, RecipeState, SpecSummary
from ccci_tui.domain.timeline import Entry, Timeline
from ccci_tui.domain.verdict import Verdict

LIVE = "live"
STALE = "stale"
REPLAY = "replay"
CONNECTING = "connecting"
MODES = (LIVE, STALE, REPLAY, CONNECTING)
RERUN = "rerun"  # timeline entries for the re-run's steps: the TUI's own doing, not the engine's
NOTE_ENTRY = "note"  # replay: a note the recorder wrote (--note, start and stop, source errors)

EMPTY_TIMELINE = Timeline(entries=(), attempted_spec=None, attempted_index=None, statuses=(), first_failure=None)


@dataclass(frozen=True)
class View:
    """Everything the main screen renders; widgets never read a source directly."""

    mode: str
    source: str  # DOCKER_HOST or docker context, or the recording file
    stack: str
    service: str
    observation: Observation | None = None  # task roles already classified (attempted marked)
    timeline: Timeline = EMPTY_TIMELINE  # replay: the whole recording's timeline; live: as it stands
    attempted: SpecSummary | None = None  # the attempted spec as known at this moment
    verdict: Verdict | None = None
    recipe: RecipeState | None = None
    expected_head: str | None = None
    cursor: int | None = None  # replay: index into timeline.entries of the current entry
    error: str | None = None  # the last read failure while stale
    stale_since: datetime | None = None
    notes: tuple[str, ...] = ()  # what was found missing (no app env, no recipe), shown once
    reading: tuple[str, ...] = ()  # inputs of the verdict still being read: no verdict until they are in
    problem: str | None = None  # an input that could not be read (a bad --recipe): no verdict at all
    memory: Mapping[str, Samples] = field(default_factory=dict)  # task id -> memory samples so far
    compose: tuple[str, ...] = ()  # the compose chain a deploy of the stack reads (the app env's COMPOSE_FILE)
    compose_missing: tuple[str, ...] = ()  # files of it the checkout (live) or the recorded head does not have

    @property
    def cursor_entry(self) -> Entry | None:
        if self.cursor is None or not 0 <= self.cursor < len(self.timeline.entries):
            return None
        return self.timeline.entries[self.cursor]

    @property
    def at(self) -> datetime | None:
        """The moment shown: the cursor's entry in replay, the last read live."""
        entry = self.cursor_entry
        if entry is not None:
            return entry.at
        return self.observation.at if self.observation is not None else None
