"""The one pipeline from reads to a verdict: fold observations and events into a timeline, then diagnose.

Everything that gives a verdict folds through here: `wait`, `record` and the TUI live, `diagnose
--recording` and the TUI on a recording. The same reads in the same order therefore give the
same verdict whichever of them is looking, and the rule for when a verdict may be made at all
(`verdict_for`) is written once.
"""

from __future__ import annotations

from ccci_tui.domain.diagnose import diagnose
from ccci_tui.domain.model import Event, Observation, RecipeState
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


class Fold:
    """One service's reads and events, folded in the order they were taken in."""

    def __init__(self, maxlen: int = ENTRIES_KEPT) -> None:
        self._builder = TimelineBuilder(maxlen=maxlen)
        self.latest: Observation | None = None

    def observation(self, obs: Observation) -> list[Entry]:
        """Take a read in; returns the timeline entries it added."""
        self.latest = obs
        return self._builder.add_observation(obs)

    def event(self, ev: Event) -> list[Entry]:
        """Take an engine event in; returns the timeline entries it added (none for a repeat)."""
        return self._builder.add_event(ev)

    def timeline(self) -> Timeline:
        return self._builder.snapshot()

    def classified(self) -> Observation | None:
        """The latest read with the attempted spec's tasks marked `attempted`."""
        return self._builder.classify(self.latest) if self.latest is not None else None

    def verdict(self, recipe: RecipeState | None, expect: Expectation, reading: tuple[str, ...] = (),
                problem: str | None = None) -> Verdict | None:
        """The verdict for the latest read (`verdict_for`)."""
        return verdict_for(self.latest, recipe, expect, self.timeline(), reading, problem)
