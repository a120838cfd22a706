"""The one pipeline from reads to a verdict: fold observations and events into a timeline, then diagnose.

Everything that gives a verdict folds through here: `wait`, `record` and the TUI live, `diagnose
--recording` and the TUI on a recording. The same reads in the same order therefore give the
same verdict whichever of them is looking, and the rule for when a verdict may be made at all
(`verdict_for`) is written once.
"""

from __future__ import annotations

from dataclasses import replace

from ccci_tui.domain.diagnose import diagnose
from ccci_tui.domain.memory import MemorySeries, Samples
from ccci_tui.domain.model import Event, Observation, RecipeState
from ccci_tui.domain.replay import EVENT, OBSERVATION, RECIPE, VERDICT, Record, Recording, expectation
from ccci_tui.domain.timeline import Entry, Timeline, TimelineBuilder
from ccci_tui.domain.verdict import Expectation, Verdict

ENTRIES_KEPT = 5000


def verdict_for(
    obs: Observation | None, recipe: RecipeState | None, expect: Expectation, timeline: Timeline | None,
    reading: tuple[str, ...] = (), problem: str | None = None,
) -> Verdict | None:
    """The verdict for `obs`, with the clock at the observation's time unless `expect.now` says otherwise.

    None until every input is in: the first read of the service, and the recipe and expected head
    (or the definite fact that there are none). A verdict made without them could say `converged`
    and turn red a moment later with nothing deployed in between.
    """
    if obs is None or reading or problem is not None:
        return None
    return diagnose(obs, recipe, expect, timeline)


def expected_head(expect: Expectation, recipe: RecipeState | None) -> str | None:
    """The head the verdict checks against: the user's, else the recipe HEAD (as `diagnose` takes it)."""
    if expect.head:
        return expect.head
    return recipe.head_sha if recipe is not None else None


def same_tasks(obs: Observation, before: Observation | None) -> Observation:
    """`obs` with each task equal to one of `before` being that object: a source builds new tasks on
    every read, and the screen, comparing by identity first, then redraws only what changed without
    comparing every task field by field on its own thread."""
    if before is None or not before.tasks:
        return obs
    old = {t.id: t for t in before.tasks}
    tasks = tuple(o if (o := old.get(t.id)) is not None and o == t else t for t in obs.tasks)
    if all(a is b for a, b in zip(tasks, obs.tasks, strict=True)):
        return obs
    return replace(obs, tasks=tasks)


class Fold:
    """One service's reads and events, folded in the order they were taken in."""

    def __init__(self, maxlen: int = ENTRIES_KEPT) -> None:
        self._builder = TimelineBuilder(maxlen=maxlen)
        self.latest: Observation | None = None
        self.memory = MemorySeries()
        self._classified: Observation | None = None  # what `classified` last returned

    def observation(self, obs: Observation) -> list[Entry]:
        """Take a read in; returns the timeline entries it added."""
        self.latest = obs
        self.memory.add(obs)
        return self._builder.add_observation(obs)

    def memory_series(self) -> dict[str, Samples]:
        """Each task of the latest read with its memory samples so far (for the task detail's sparkline)."""
        tasks = self.latest.tasks if self.latest is not None else ()
        return {t.id: found for t in tasks if (found := self.memory.of(t.id))}

    def event(self, ev: Event) -> list[Entry]:
        """Take an engine event in; returns the timeline entries it added (none for a repeat)."""
        return self._builder.add_event(ev)

    def timeline(self) -> Timeline:
        return self._builder.snapshot()

    def classified(self) -> Observation | None:
        """The latest read with the attempted spec's tasks marked `attempted`; a task equal to one it
        returned before is that one (`same_tasks`)."""
        if self.latest is None:
            return None
        self._classified = same_tasks(self._builder.classify(self.latest), self._classified)
        return self._classified

    def verdict(self, recipe: RecipeState | None, expect: Expectation, reading: tuple[str, ...] = (),
                problem: str | None = None) -> Verdict | None:
        """The verdict for the latest read (`verdict_for`)."""
        return verdict_for(self.latest, recipe, expect, self.timeline(), reading, problem)


class RecordFold:
    """A recording's records fed in file order into the one fold: what the recorder had folded live at
    each point, with the recipe it had read last. Replays (the TUI's, `diagnose --recording`) step it."""

    def __init__(self, service: str, header_service: str | None = None) -> None:
        self.fold = Fold()
        self.pos = 0
        self.service = service  # observations of the stack's other services are passed over
        self.header_service = header_service or service  # what a record without a service is about
        self.recipe: RecipeState | None = None

    def feed(self, rec: Record) -> list[Entry]:
        """Take the next record in; returns the timeline entries it added."""
        self.pos += 1
        if rec.kind == OBSERVATION:
            if (rec.service or self.header_service) != self.service:
                return []  # a stack-wide recording also holds the stack's other services
            return self.fold.observation(rec.value)
        if rec.kind == EVENT and isinstance(rec.value, Event):
            return self.fold.event(rec.value)
        if rec.kind == RECIPE:
            self.recipe = rec.value
        return []


def replayed_verdicts(recording: Recording) -> list[tuple[Record, Verdict | None]]:
    """Each verdict record of the header's service beside the verdict the same fold gives at that point.

    The recorder writes a verdict right after the read, event or recipe that changed it, so a replay
    that folds the file in order must give, record for record, what was written.
    """
    fold = RecordFold(recording.header.service)
    expect = expectation(recording.header)
    out: list[tuple[Record, Verdict | None]] = []
    for rec in sorted(recording.records, key=lambda r: r.line):
        if rec.kind == VERDICT and rec.service in ("", recording.header.service):
            out.append((rec, fold.fold.verdict(fold.recipe, expect)))
        else:
            fold.feed(rec)
    return out
