"""The verdict and the compose policies a recording gives, at its end or at a moment in it.

`diagnose_recording` folds the records into a timeline in the order the recorder folded them
(file order), so it gives exactly the verdict the recorder computed live at the same point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ccci_tui.domain.fold import RecordFold, verdict_for
from ccci_tui.domain.model import Observation, RecipeState
from ccci_tui.domain.replay import POLICY, RECIPE, Record, RecordedPolicy, Recording, expectation
from ccci_tui.domain.timeline import Timeline
from ccci_tui.domain.verdict import Expectation, Verdict
from ccci_tui.sources.recording import RecordingError


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
