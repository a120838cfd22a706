"""A recording behind the live source's interface, with a cursor; and the verdict a recording gives.

`diagnose_recording` folds the records into a timeline in the order the recorder folded them
(file order), so it gives exactly the verdict the recorder computed live at the same point.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ccci_tui.domain.fold import RecordFold, verdict_for
from ccci_tui.domain.model import Event, Observation, RecipeState, ServiceState, stack_badge
from ccci_tui.domain.replay import EVENT, POLICY, RECIPE, Record, RecordedPolicy, Recording, expectation
from ccci_tui.domain.timeline import Timeline
from ccci_tui.domain.verdict import Expectation, Verdict
from ccci_tui.sources.recording import RecordingError, read_recording
from ccci_tui.sources.swarm import StackSummary, SwarmError


@dataclass(frozen=True)
class ReplayDiagnosis:
    """The verdict a recording gives at a moment, with what it was computed from."""

    verdict: Verdict
    observation: Observation
    recipe: RecipeState | None
    expect: Expectation
    timeline: Timeline | None


def _in_file_order(recording: Recording, at: datetime | None) -> list[Record]:
    pool = recording.records if at is None else recording.records[: recording.index_at(at)]
    return sorted(pool, key=lambda r: r.line)


def fold_timeline(recording: Recording, at: datetime | None = None, service: str | None = None) -> Timeline:
    """The timeline of `service` (default: the header's) up to `at`, folded in the recorder's order."""
    fold = RecordFold(service or recording.header.service, recording.header.service)
    for r in _in_file_order(recording, at):
        fold.feed(r)
    return fold.fold.timeline()


def diagnose_recording(
    recording: Recording,
    at: datetime | None = None,
    service: str | None = None,
    expect: Expectation | None = None,
    use_timeline: bool = True,
) -> ReplayDiagnosis:
    """The verdict at `at` (default: the end), as the recorder gave it live.

    With `use_timeline=False` only the observation at that moment is read, as a one-shot
    `ccci-tui diagnose` on the live swarm does.
    """
    name = service or recording.header.service
    obs = recording.observation_at(at, name) if at is not None else _last(recording, name)
    if obs is None:
        when = f" at or before {at.isoformat()}" if at is not None else ""
        raise RecordingError(f"the recording holds no observation of service {name!r}{when}")
    recipe = recording.recipe_at(at) or first_recipe(recording)
    base = expect or expectation(recording.header)
    timeline = fold_timeline(recording, at, name) if use_timeline else None
    verdict = verdict_for(obs, recipe, base, timeline)
    assert verdict is not None  # every input is in: a recording holds no read still to come
    return ReplayDiagnosis(verdict, obs, recipe, base, timeline)


def first_recipe(recording: Recording) -> RecipeState | None:
    """The first recipe state recorded: it stands for the moments before any recipe record."""
    positions = recording.positions.get(RECIPE, ())
    return recording.records[positions[0]].value if positions else None


def _last(recording: Recording, service: str) -> Observation | None:
    positions = recording.service_positions.get(service, ())
    return recording.records[positions[-1]].value if positions else None


def policies(recording: Recording, at: datetime | None = None) -> dict[str, RecordedPolicy]:
    """The newest recorded base and head compose policy (as written by the recorder) by side."""
    found: dict[str, RecordedPolicy] = {}
    cut = len(recording.records) if at is None else recording.index_at(at)
    for i in recording.positions.get(POLICY, ()):
        if i < cut:
            found[recording.records[i].value.side] = recording.records[i].value
    return found


class ReplaySource:
    """A recording with a cursor, answering like the live source: stacks, services, observe."""

    def __init__(self, recording: Recording, label: str | None = None) -> None:
        self.recording = recording
        self.header = recording.header
        self.label = label or f"recording of {self.header.stack}"
        self.cursor: datetime | None = recording.end

    @classmethod
    def open(cls, path: str | Path) -> ReplaySource:
        """Read `path`; RecordingError when it is not a readable recording."""
        return cls(read_recording(path), label=f"recording {Path(path).name}")

    @property
    def start(self) -> datetime | None:
        return self.recording.start

    @property
    def end(self) -> datetime | None:
        return self.recording.end

    def seek(self, at: datetime) -> datetime | None:
        """Move the cursor to `at`, clamped to the recording; returns where it landed."""
        if self.start is None or self.end is None:
            return None
        self.cursor = min(max(at, self.start), self.end)
        return self.cursor

    def observe(self, stack: str, service: str = "app", at: datetime | None = None) -> Observation:
        """The newest observation of `service` at the cursor (or `at`), like `SwarmSource.observe`."""
        self._check_stack(stack)
        name = service.removeprefix(f"{stack}_")
        when = at or self.cursor
        obs = self.recording.observation_at(when, name) if when is not None else None
        if obs is None:
            where = f"{stack}_{name}"
            moment = when or datetime.min
            return Observation(at=moment, service=None, error=f"service {where} not in the recording at this time")
        return obs

    def services(self, stack: str) -> tuple[ServiceState, ...]:
        """The recorded services of `stack` at the cursor."""
        self._check_stack(stack)
        found = []
        for name in self.recording.services():
            obs = self.observe(stack, name)
            if obs.service is not None:
                found.append(obs.service)
        return tuple(sorted(found, key=lambda s: s.name))

    def stacks(self) -> tuple[StackSummary, ...]:
        """The one recorded stack, with its services and badge at the cursor."""
        svcs = self.services(self.header.stack)
        names = tuple(s.name for s in svcs) or tuple(f"{self.header.stack}_{n}" for n in self.recording.services())
        badge = stack_badge(s.update_status.state for s in svcs if s.update_status is not None)
        return (StackSummary(name=self.header.stack, services=names, badge=badge),)

    def _check_stack(self, stack: str) -> None:
        if stack != self.header.stack:
            raise SwarmError(f"no stack named {stack!r} in {self.label} (it recorded {self.header.stack!r})")

    def events_between(self, since: datetime | None, until: datetime | None) -> list[Event]:
        """Recorded events in (since, until]."""
        rec = self.recording
        lo = 0 if since is None else rec.index_at(since)
        hi = len(rec.records) if until is None else rec.index_at(until)
        positions = rec.positions.get(EVENT, ())
        a, b = bisect.bisect_left(positions, lo), bisect.bisect_left(positions, hi)
        return [rec.records[i].value for i in positions[a:b]]

    def play(self, from_start: bool = False, until: datetime | None = None) -> Iterator[Record]:
        """Records after the cursor (all, `from_start`) in time order with their original times.

        The cursor follows each record handed out, so a pause keeps the place.
        """
        rec = self.recording
        i = 0 if from_start or self.cursor is None else rec.index_at(self.cursor)
        stop = len(rec.records) if until is None else rec.index_at(until)
        while i < stop:
            r = rec.records[i]
            self.cursor = r.at
            yield r
            i += 1

    def diagnose(self, at: datetime | None = None, use_timeline: bool = True) -> ReplayDiagnosis:
        """The verdict at the cursor (or `at`)."""
        return diagnose_recording(self.recording, at or self.cursor, use_timeline=use_timeline)
