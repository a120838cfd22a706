"""What a recording holds once read: a header and time-ordered records, with seeking by time.

The file format (JSON Lines, deltas and keyframes, gzip) lives in sources/recording.py; this is
the in-memory shape every consumer (diagnose, compare, the TUI) reads, live or replayed.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ccci_tui.domain.model import Event, Observation, RecipeState
from ccci_tui.domain.verdict import Expectation, Verdict, anchored

if TYPE_CHECKING:
    from ccci_tui.domain.compose import ComposePolicy

OBSERVATION = "observation"
EVENT = "event"
RECIPE = "recipe"
POLICY = "policy"
VERDICT = "verdict"
NOTE = "note"
STEP = "step"


@dataclass(frozen=True)
class DeployMarker:
    """The service just before a deploy: its Version.Index, and its UpdateStatus's StartedAt and State."""

    index: int | None
    started_at: datetime | None = None
    state: str = ""


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
    notes: tuple[str, ...] = ()  # what was found missing when the recorder resolved its target
    expect_head: str | None = None  # the expected head the recorder diagnosed against (full sha)
    expect_ref: str | None = None  # what the user named it
    intent: str | None = None  # the app env's recorded version, as `Expectation.intent`
    keyframe_every: int = 0  # a full observation every this many of a service's observations
    # the verdicts are anchored to this (`wait --record`, `record --until-verdict`); None: not anchored
    marker: DeployMarker | None = None


@dataclass(frozen=True)
class RecordedPolicy:
    """A policy record: the effective compose policy of the base or head side, at a ref and commit."""

    side: str
    ref: str
    commit: str | None
    policy: ComposePolicy


def expectation(header: Header) -> Expectation:
    """The expectation a recording's verdicts were made against, as its header records it."""
    expect = Expectation(head=header.expect_head, head_ref=header.expect_ref, intent=header.intent)
    m = header.marker
    return expect if m is None else anchored(expect, m.index, m.started_at, m.state)


def marker_fields(expect: Expectation) -> dict[str, Any]:
    """The header fields that record `expect`'s deploy marker (none when it has none)."""
    if not expect.marker_taken:
        return {}
    return {"marker": DeployMarker(expect.marker_index, expect.marker_started_at, expect.marker_state or "")}


@dataclass(frozen=True)
class Record:
    """One record: `value` is an Observation, Event, RecipeState, Verdict, RecordedPolicy, RerunStep or a note."""

    at: datetime
    kind: str
    value: Any
    line: int = 0
    service: str = ""  # observations and verdicts: the service ("" = the header's service)


@dataclass(frozen=True)
class Recording:
    """A whole recording, records in time order; `skipped` lists (line, reason) of unreadable lines."""

    header: Header
    records: tuple[Record, ...]
    skipped: tuple[tuple[int, str], ...] = ()
    times: tuple[datetime, ...] = field(default=(), repr=False)
    warnings: tuple[str, ...] = ()  # problems that cost no record, e.g. a gzip stream never closed
    # positions in `records` by kind, and of observations by service: seeking is a binary search
    positions: Mapping[str, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)
    service_positions: Mapping[str, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)
    service_times: Mapping[str, tuple[datetime, ...]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.times:
            object.__setattr__(self, "times", tuple(r.at for r in self.records))
        if not self.positions and self.records:
            by_kind: dict[str, list[int]] = {}
            by_service: dict[str, list[int]] = {}
            main = self.header.service
            for i, r in enumerate(self.records):
                by_kind.setdefault(r.kind, []).append(i)
                if r.kind == OBSERVATION:
                    by_service.setdefault(r.service or main, []).append(i)
            times = self.times
            object.__setattr__(self, "positions", {k: tuple(v) for k, v in by_kind.items()})
            object.__setattr__(self, "service_positions", {k: tuple(v) for k, v in by_service.items()})
            object.__setattr__(self, "service_times", {k: tuple(times[i] for i in v) for k, v in by_service.items()})

    def index_at(self, at: datetime) -> int:
        """Number of records at or before `at` (binary search)."""
        return bisect.bisect_right(self.times, at)

    def of_kind(self, kind: str) -> list[Record]:
        return [self.records[i] for i in self.positions.get(kind, ())]

    def services(self) -> tuple[str, ...]:
        """Services with observations, the header's first."""
        main = self.header.service
        return tuple(sorted(self.service_positions, key=lambda s: (s != main, s)))

    def observations(self, service: str | None = None) -> list[Observation]:
        """Observations of `service` (default: the header's service) in time order."""
        return [self.records[i].value for i in self.service_positions.get(service or self.header.service, ())]

    def events(self) -> list[Event]:
        return [self.records[i].value for i in self.positions.get(EVENT, ())]

    def _last_of(self, positions: tuple[int, ...], at: datetime | None) -> Record | None:
        """The last of `positions` at or before `at` (the last of all when None)."""
        if at is None:
            return self.records[positions[-1]] if positions else None
        cut = self.index_at(at)
        j = bisect.bisect_left(positions, cut)
        return self.records[positions[j - 1]] if j else None

    def observation_at(self, at: datetime, service: str | None = None) -> Observation | None:
        """The newest observation of `service` (default: the header's) at or before `at`."""
        name = service or self.header.service
        times = self.service_times.get(name, ())
        j = bisect.bisect_right(times, at)
        return self.records[self.service_positions[name][j - 1]].value if j else None

    def recipe_at(self, at: datetime | None = None) -> RecipeState | None:
        """The newest recipe state at or before `at` (any time when None)."""
        rec = self._last_of(self.positions.get(RECIPE, ()), at)
        return rec.value if rec is not None else None

    def last_verdict(self) -> Verdict | None:
        rec = self._last_of(self.positions.get(VERDICT, ()), None)
        return rec.value if rec is not None else None

    @property
    def start(self) -> datetime | None:
        return self.times[0] if self.times else None

    @property
    def end(self) -> datetime | None:
        return self.times[-1] if self.times else None


@dataclass(frozen=True)
class RerunStep:
    """A step record: what a TUI re-run did (`3. deploy head 7ae7b0f7 ✓`), and whether it failed."""

    text: str
    failed: bool = False
