"""A recording stepped by a cursor: the state of every pane at any timeline entry."""

from __future__ import annotations

import copy
import heapq
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime

from ccci_tui.domain.fold import RecordFold, expected_head, verdict_for
from ccci_tui.domain.model import (
    COMPLETED,
    PAUSED,
    ROLLBACK_COMPLETED,
    ROLLBACK_PAUSED,
)
from ccci_tui.domain.replay import (
    EVENT,
    NOTE,
    OBSERVATION,
    POLICY,
    RECIPE,
    STEP,
    Record,
    Recording,
    RerunStep,
    expectation,
)
from ccci_tui.domain.text import printable
from ccci_tui.domain.timeline import STATUS, Entry
from ccci_tui.domain.verdict import Expectation
from ccci_tui.tui.view import NOTE_ENTRY, REPLAY, RERUN, View

# A backward step replays from the nearest checkpoint; one is kept every this many records.
_CHECKPOINT_EVERY = 2048
_VIEWS_KEPT = 256
# While playing, an idle stretch of the recording is shortened to this many real seconds.
MAX_PLAY_GAP_S = 5.0
_SETTLED = frozenset({COMPLETED, PAUSED, ROLLBACK_COMPLETED, ROLLBACK_PAUSED})

EntryKey = tuple[datetime, str, str | None, str | None]


def entry_key(e: Entry) -> EntryKey:
    """What identifies an entry across snapshots (a poll may later enrich a status entry's text)."""
    return (e.at, e.kind, e.state, e.task_id)


def note_entry(rec: Record) -> Entry:
    """A recorded note or re-run step as a timeline entry, as the live view showed it."""
    if isinstance(rec.value, RerunStep):
        return Entry(rec.at, RERUN, printable(rec.value.text), state="failed" if rec.value.failed else None)
    return Entry(rec.at, NOTE_ENTRY, printable(str(rec.value)))


class ReplayFeed:
    """Every pane's state at each timeline entry of a recording; stepping is cheap both ways."""

    def __init__(self, recording: Recording, label: str, expect: Expectation | None = None) -> None:
        self.recording = recording
        self.label = label
        h = recording.header
        self.expect = expect or expectation(h)
        self.stack = h.stack
        self.service = h.service
        # Fold in file order, as the recorder folded live: the replay then gives its verdicts.
        self.records: list[Record] = sorted(recording.records, key=lambda r: r.line)
        records = self.records
        first = RecordFold(self.service)
        seen: dict[EntryKey, int] = {}
        notes: list[Entry] = []
        for i, rec in enumerate(records):
            for e in first.feed(rec):
                seen.setdefault(entry_key(e), i)
            if rec.kind in (NOTE, STEP):
                notes.append(note_entry(rec))
                seen.setdefault(entry_key(notes[-1]), i)
        snapshot = first.fold.timeline()
        # the recorder's notes among the engine's entries, by time (a stable merge: ties keep the engine first)
        notes.sort(key=lambda e: e.at)
        self.timeline = replace(snapshot, entries=tuple(heapq.merge(snapshot.entries, notes, key=lambda e: e.at)))
        # Entries are ordered by engine time, but a poll may learn of an entry after a later one:
        # the state at an entry is after every record that any entry up to it needed.
        # A status learnt from an event is shown with the read that follows it: the service's
        # own fields (PreviousSpec, the tasks' view of it) arrive only with that read.
        next_obs: list[int] = [0] * len(records)
        upcoming = len(records) - 1
        for i in range(len(records) - 1, -1, -1):
            if records[i].kind == OBSERVATION and records[i].service in ("", self.service):
                upcoming = i
            next_obs[i] = upcoming
        need, reach = -1, []
        for e in self.timeline.entries:
            at = seen.get(entry_key(e), need)
            if e.kind == STATUS and 0 <= at < len(records) and records[at].kind == EVENT:
                at = next_obs[at]
            need = max(need, at)
            reach.append(need)
        self._reach = tuple(reach)
        self._end = first
        # the recipe as first recorded stands for the moments before any recipe record
        self._first_recipe = next((r.value for r in records if r.kind == RECIPE), None)
        # the compose chain as the recorded head has it: its files in order, and those it lacked
        head = next((r.value for r in reversed(records) if r.kind == POLICY and r.value.side == "head"), None)
        self._compose: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()) if head is None else (
            tuple(f.rsplit("@", 1)[0] for f in head.policy.files), head.policy.missing)
        self._work = RecordFold(self.service)
        self._checkpoints: dict[int, RecordFold] = {}
        self._views: OrderedDict[int, View] = OrderedDict()

    # ---- navigation ---------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.timeline.entries)

    @property
    def last(self) -> int | None:
        return len(self) - 1 if len(self) else None

    def initial_cursor(self) -> int | None:
        """Where a replay opens: where the first failed update settled, else the end."""
        entries = self.timeline.entries
        failure = self.timeline.first_failure
        if failure is not None:
            start = self.index_of(failure) or 0
            for i in range(start, len(entries)):
                if entries[i].kind == STATUS and entries[i].state in _SETTLED:
                    return i
        return self.last

    def index_of(self, entry: Entry) -> int | None:
        key = entry_key(entry)
        for i, e in enumerate(self.timeline.entries):
            if entry_key(e) == key:
                return i
        return None

    def first_failure(self) -> int | None:
        failure = self.timeline.first_failure
        return self.index_of(failure) if failure is not None else None

    def step(self, cursor: int | None, delta: int) -> int | None:
        if not len(self):
            return None
        if cursor is None:
            return 0 if delta > 0 else len(self) - 1
        return max(0, min(len(self) - 1, cursor + delta))

    def play_delay(self, cursor: int, speed: float) -> float | None:
        """Real seconds until the entry after `cursor` at `speed`, or None at the end."""
        entries = self.timeline.entries
        if cursor + 1 >= len(entries):
            return None
        gap = (entries[cursor + 1].at - entries[cursor].at).total_seconds() / speed
        return max(0.0, min(MAX_PLAY_GAP_S, gap))

    # ---- state --------------------------------------------------------------------------

    def view_at(self, cursor: int | None) -> View:
        """The whole screen at entry `cursor` (None: the end of the recording)."""
        key = -1 if cursor is None else cursor
        cached = self._views.get(key)
        if cached is not None:
            self._views.move_to_end(key)
            return cached
        state = self._end if cursor is None else self._state_through(self._reach[cursor])
        snapshot = state.fold.timeline()
        obs = state.fold.classified()
        recipe = state.recipe or self._first_recipe
        view = View(
            mode=REPLAY,
            source=self.label,
            stack=self.stack,
            service=self.service,
            observation=obs,
            timeline=self.timeline,
            attempted=snapshot.attempted_spec,
            verdict=verdict_for(obs, recipe, self.expect, snapshot),
            recipe=recipe,
            expected_head=expected_head(self.expect, recipe),
            cursor=cursor if cursor is not None else self.last,
            memory=state.fold.memory_series(),
            compose=self._compose[0], compose_missing=self._compose[1],
        )
        self._views[key] = view
        if len(self._views) > _VIEWS_KEPT:
            self._views.popitem(last=False)
        return view

    def _state_through(self, index: int) -> RecordFold:
        """A cursor that has fed records[0..index]."""
        target = index + 1
        work = self._work
        if work.pos > target:
            below = [p for p in self._checkpoints if p <= target]
            work = copy.deepcopy(self._checkpoints[max(below)]) if below else RecordFold(self.service)
        records = self.records
        while work.pos < target:
            work.feed(records[work.pos])
            if work.pos % _CHECKPOINT_EVERY == 0 and work.pos not in self._checkpoints:
                self._checkpoints[work.pos] = copy.deepcopy(work)
        self._work = work
        return work
