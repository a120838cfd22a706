"""The live feed: watch callbacks become views; idle reads cost nothing; failures are a state."""

from __future__ import annotations

import time

from ccci_tui.domain import verdict as v
from ccci_tui.sources.errors import SwarmError
from ccci_tui.tui.live_feed import LiveFeed
from ccci_tui.tui.view import CONNECTING, LIVE, STALE
from tests.tui.support import FIXED_NOW, FakeSwarm, Views, run_observations


def _until(predicate, what: str, timeout: float = 5.0) -> None:  # noqa: ANN001
    """Block until `predicate()` holds (the feed runs on its own threads); fail naming `what`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _feed(source: FakeSwarm, views: Views) -> LiveFeed:
    return LiveFeed(source, "research_oom", "app", views, clock=lambda: FIXED_NOW, poll_interval=0.01,
                    memory_interval=None)


def test_observations_become_views_with_timeline_and_verdict() -> None:
    script = run_observations("C")
    views = Views()
    feed = _feed(FakeSwarm(list(script)), views).start()
    try:
        assert views.items[0].mode == CONNECTING
        _, last = views.wait(lambda view: view.observation is not None and view.observation.at == script[-1].at)
    finally:
        feed.close()
    assert last.mode == LIVE
    assert last.verdict is not None and last.verdict.kind == v.SWARM_ROLLBACK
    assert any(e.state == "rollback_completed" for e in last.timeline.entries)


def test_an_unchanged_service_publishes_nothing() -> None:
    obs = run_observations("C")[-1]
    source = FakeSwarm([obs])
    views = Views()
    feed = _feed(source, views).start()
    try:
        views.wait(lambda view: view.mode == LIVE)
        _until(lambda: source.reads >= 30, "30 reads")
    finally:
        feed.close()
    assert [view.mode for view in views.items] == [CONNECTING, LIVE]


def test_a_failing_daemon_is_stale_keeps_the_last_read_and_recovers() -> None:
    good = run_observations("C")[-1]
    down = SwarmError("Docker daemon unreachable at unix:///var/run/docker.sock (inspect service x): refused")
    source = FakeSwarm([good, down, down, down, good])
    views = Views()
    feed = _feed(source, views).start()
    try:
        at, stale = views.wait(lambda view: view.mode == STALE)
        _, back = views.wait(lambda view: view.mode == LIVE, after=at)
    finally:
        feed.close()
    assert stale.observation is not None and stale.observation.at == good.at  # the last good read stays
    assert stale.stale_since == FIXED_NOW and "unreachable" in (stale.error or "")
    assert stale.verdict is not None
    assert back.error is None and back.stale_since is None
    # one stale view for the same repeated error, not one per failed read
    assert sum(1 for view in views.items if view.mode == STALE) == 1


def test_close_returns_while_a_read_hangs() -> None:
    source = FakeSwarm(["hang"])
    feed = _feed(source, Views()).start()
    try:
        _until(lambda: source.hanging == 1, "the read to hang")
        feed.close()
        assert source.hanging == 1  # close has returned and the watch thread is still stuck in the read
    finally:
        source.release()


def test_retarget_drops_the_old_services_late_callbacks() -> None:
    views = Views()
    feed = _feed(FakeSwarm(run_observations("C")), views).start()
    try:
        views.wait(lambda view: view.observation is not None)
        feed.retarget("other", "db")
        _, first = views.wait(lambda view: view.stack == "other")
    finally:
        feed.close()
    assert first.mode == CONNECTING and first.observation is None and first.timeline.entries == ()


def test_a_surprise_from_the_source_is_a_stale_state_not_a_dead_poll() -> None:
    good = run_observations("C")[-1]
    source = FakeSwarm([good, ValueError("unexpected payload"), good])
    views = Views()
    feed = _feed(source, views).start()
    try:
        at, stale = views.wait(lambda view: view.mode == STALE)
        views.wait(lambda view: view.mode == LIVE, after=at)  # the poll loop survived it
    finally:
        feed.close()
    assert "ValueError: unexpected payload" in (stale.error or "")


def test_timeline_row_keys_cache_only_the_entries_shown() -> None:
    # the live timeline drops its oldest entries; the pane's key cache must let them go too
    from datetime import timedelta

    from ccci_tui.domain.timeline import TASK, Entry
    from ccci_tui.tui.widgets.timeline_pane import row_keys

    entries = [Entry(FIXED_NOW + timedelta(seconds=i), TASK, f"task {i}", f"t{i}", "running") for i in range(50)]
    known: dict = {}
    first = row_keys(entries[:30], known)
    later = row_keys(entries[20:], known)
    assert set(known) == {id(e) for e in entries[20:]}
    assert later[:10] == first[20:]  # the same entry keeps its key
    twin = Entry(entries[-1].at, TASK, "same moment", "t49", "running")
    assert row_keys([entries[-1], twin], known)[1].endswith("#1")
