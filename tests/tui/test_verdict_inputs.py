"""The live feed makes no verdict until the recipe and expected head are in (or definitely missing)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from ccci_tui.domain import verdict as v
from ccci_tui.domain.diagnose import diagnose
from ccci_tui.domain.verdict import Expectation
from ccci_tui.sources.target import Target, UsageError
from ccci_tui.tui.live_feed import LiveFeed
from tests.tui.support import RECIPE_STATE, FakeSwarm, Views, run_observations

OBS = run_observations("C")[4]  # the base running, stamped with the base: wrong against the recipe HEAD


def _feed(resolver: Callable[[str, str], Target], views: Views) -> LiveFeed:
    assert OBS.service is not None
    return LiveFeed(FakeSwarm([OBS]), OBS.service.stack, "app", views, resolver=resolver,
                    poll_interval=0.05, memory_interval=None)


def test_no_verdict_while_the_recipe_is_read_then_the_recipe_s_verdict():
    assert diagnose(OBS, None, Expectation(now=OBS.at)).kind == v.CONVERGED  # what a verdict made too early says
    release, views = threading.Event(), Views()

    def slow_resolver(stack: str, service: str) -> Target:
        release.wait(10)
        return Target(stack, service, None, Path(RECIPE_STATE.path), RECIPE_STATE, Expectation())

    feed = _feed(slow_resolver, views).start()
    try:
        shown = views.wait(lambda x: x.observation is not None)[1]
        assert shown.verdict is None and shown.reading == ("the app env and recipe",)
        release.set()
        views.wait(lambda x: x.verdict is not None)
    finally:
        feed.close()
    first = next(i for i, x in enumerate(views.items) if x.verdict is not None)
    assert all(x.verdict is None for x in views.items[:first])
    kinds = {x.verdict.kind for x in views.items if x.verdict is not None}
    assert kinds == {v.STAMP_MISMATCH}, kinds


def test_a_recipe_that_cannot_be_read_is_a_problem_not_a_green_verdict():
    views = Views()

    def bad_resolver(stack: str, service: str) -> Target:
        raise UsageError("not a git repository: /srv/nowhere")

    feed = _feed(bad_resolver, views).start()
    try:
        views.wait(lambda x: x.observation is not None and x.problem is not None)
    finally:
        feed.close()
    assert all(x.verdict is None for x in views.items)
    assert views.items[-1].problem == "not a git repository: /srv/nowhere" and not views.items[-1].reading


def test_no_recipe_anywhere_is_a_definite_fact_the_verdict_states():
    views = Views()
    missing = "no --recipe or --expect-head; app env not used: no app env for this stack"

    def resolver(stack: str, service: str) -> Target:
        return Target(stack, service, None, None, None, Expectation(head_missing=missing))

    feed = _feed(resolver, views).start()
    try:
        shown = views.wait(lambda x: x.verdict is not None)[1]
    finally:
        feed.close()
    assert shown.verdict is not None
    assert shown.verdict.kind == v.CONVERGED and missing in shown.verdict.summary


def test_a_pending_recording_starts_once_the_recipe_is_read(tmp_path: Path):
    from ccci_tui.domain.replay import OBSERVATION, RECIPE, VERDICT
    from ccci_tui.sources.recording import read_recording
    from ccci_tui.tui.recording_tap import FeedRecorder

    assert OBS.service is not None
    out = tmp_path / "tui.jsonl"
    tap = FeedRecorder.pending(out, OBS.service.stack, "app")
    release, views = threading.Event(), Views()

    def slow_resolver(stack: str, service: str) -> Target:
        release.wait(10)
        return Target(stack, service, None, Path(RECIPE_STATE.path), RECIPE_STATE, Expectation())

    feed = LiveFeed(FakeSwarm([OBS]), OBS.service.stack, "app", views, resolver=slow_resolver,
                    poll_interval=0.05, memory_interval=None, tap=tap)
    feed.start()
    try:
        views.wait(lambda x: x.observation is not None)
        assert not out.exists() and not tap.begun  # nothing to head the file with yet
        release.set()
        views.wait(lambda x: x.verdict is not None)
    finally:
        feed.close()
    recording = read_recording(out)
    assert recording.header.recipe_path == RECIPE_STATE.path
    kinds = [r.kind for r in sorted(recording.records, key=lambda r: r.line)]
    assert kinds.index(RECIPE) < kinds.index(OBSERVATION) < kinds.index(VERDICT), kinds
    assert recording.of_kind(VERDICT)[0].value.kind == v.STAMP_MISMATCH


def test_a_recording_path_that_cannot_be_written_fails_before_the_screen(tmp_path: Path):
    import pytest

    from ccci_tui.sources.recording import RecordingError
    from ccci_tui.tui.recording_tap import FeedRecorder

    with pytest.raises(RecordingError, match="no directory"):
        FeedRecorder.pending(tmp_path / "missing" / "x.jsonl", "s", "app")
    with pytest.raises(RecordingError, match="is a directory"):
        FeedRecorder.pending(tmp_path, "s", "app")
