"""The replay feed: every pane's state at each timeline entry, stepping both ways."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from ccci_tui.domain import verdict as v
from ccci_tui.domain.model import ROLE_ATTEMPTED
from ccci_tui.domain.replay import NOTE, STEP, Record, Recording, RerunStep
from ccci_tui.domain.timeline import STATUS
from ccci_tui.tui.replay_feed import MAX_PLAY_GAP_S, ReplayFeed
from ccci_tui.tui.view import NOTE_ENTRY, REPLAY, RERUN


def test_opens_where_the_failed_update_settled(run_c: Recording) -> None:
    feed = ReplayFeed(run_c, "run C")
    cursor = feed.initial_cursor()
    assert cursor is not None
    entry = feed.timeline.entries[cursor]
    assert entry.kind == STATUS and entry.state == "rollback_completed"
    view = feed.view_at(cursor)
    assert view.mode == REPLAY and view.cursor == cursor
    assert view.verdict is not None and view.verdict.kind == v.SWARM_ROLLBACK
    assert "OOM-killed" in view.verdict.summary


def test_each_entry_shows_the_state_reached_by_then(run_c: Recording) -> None:
    feed = ReplayFeed(run_c, "run C")
    kinds = [feed.view_at(i).verdict.kind for i in range(len(feed))]  # type: ignore[union-attr]
    # base running (stamp is not the expected head), then the update, the rollback, its end
    assert kinds[0] == v.STAMP_MISMATCH
    assert v.IN_PROGRESS in kinds
    first_rb = kinds.index(v.SWARM_ROLLBACK)
    assert all(k == v.IN_PROGRESS for k in kinds[kinds.index(v.IN_PROGRESS):first_rb])


def test_the_tasks_pane_is_not_ahead_of_the_cursor(run_c: Recording) -> None:
    feed = ReplayFeed(run_c, "run C")
    oom = feed.first_failure()
    assert oom is not None
    task_id = feed.timeline.entries[oom].task_id
    at_oom = feed.view_at(oom).observation
    at_end = feed.view_at(feed.last).observation
    assert at_oom is not None and at_end is not None and task_id
    # the kernel's oom event comes before the read that shows the task failed
    assert at_oom.task(task_id).state == "running"  # type: ignore[union-attr]
    assert at_end.task(task_id).state == "failed"  # type: ignore[union-attr]


def test_attempted_spec_and_task_roles_follow_the_cursor(run_c: Recording) -> None:
    feed = ReplayFeed(run_c, "run C")
    assert feed.view_at(0).attempted is None
    end = feed.view_at(feed.last)
    assert end.attempted is not None
    assert any(t.role == ROLE_ATTEMPTED for t in end.observation.tasks)  # type: ignore[union-attr]


def test_backward_steps_equal_forward_steps(run_c: Recording) -> None:
    fwd = [ReplayFeed(run_c, "a").view_at(i) for i in range(len(ReplayFeed(run_c, "a")))]
    feed = ReplayFeed(run_c, "b")
    back = [feed.view_at(i) for i in reversed(range(len(feed)))][::-1]
    assert [x.verdict for x in back] == [x.verdict for x in fwd]
    assert [x.observation for x in back] == [x.observation for x in fwd]


def test_steps_clamp_and_first_failure_is_the_oom(run_c: Recording) -> None:
    feed = ReplayFeed(run_c, "run C")
    assert feed.step(None, +1) == 0
    assert feed.step(0, -1) == 0
    assert feed.step(feed.last, +1) == feed.last
    failure = feed.first_failure()
    assert failure is not None and feed.timeline.entries[failure].state == "oom"


def test_play_delay_follows_the_recording_and_caps_idle_gaps(run_c: Recording) -> None:
    feed = ReplayFeed(run_c, "run C")
    entries = feed.timeline.entries
    gap = (entries[1].at - entries[0].at).total_seconds()
    assert feed.play_delay(0, 1) == min(gap, MAX_PLAY_GAP_S)
    assert feed.play_delay(0, 10) == min(gap / 10, MAX_PLAY_GAP_S)
    assert feed.play_delay(feed.last, 1) is None  # type: ignore[arg-type]
    assert all(0 <= (feed.play_delay(i, 1) or 0) <= MAX_PLAY_GAP_S for i in range(len(feed)))


def test_demo_replay_gives_the_verdicts_the_recorder_gave(demo: Recording) -> None:
    feed = ReplayFeed(demo, "demo")
    recorded = demo.last_verdict()
    final = feed.view_at(feed.last).verdict
    assert recorded is not None and final is not None
    assert (final.kind, final.summary) == (recorded.kind, recorded.summary)
    settled = feed.view_at(feed.initial_cursor()).verdict
    rollback = [r.value for r in demo.of_kind("verdict") if r.value.kind == v.SWARM_ROLLBACK]
    assert settled is not None and rollback and (settled.kind, settled.summary) == (rollback[0].kind,
                                                                                     rollback[0].summary)


def test_other_services_in_a_stack_recording_are_ignored(run_c: Recording) -> None:
    noisy = [replace(r, service="db") if r.kind == "observation" and i % 2 else r
             for i, r in enumerate(run_c.records)]
    feed = ReplayFeed(Recording(run_c.header, tuple(noisy)), "mixed")
    for i in range(len(feed)):
        view = feed.view_at(i)
        assert view.observation is None or all(
            r.value is not view.observation for r in noisy if r.service == "db")


def test_an_empty_recording_has_no_cursor(run_c: Recording) -> None:
    feed = ReplayFeed(Recording(run_c.header, ()), "empty")
    assert len(feed) == 0 and feed.initial_cursor() is None and feed.step(None, 1) is None
    view = feed.view_at(None)
    assert view.verdict is None and view.observation is None


def test_recorded_notes_are_timeline_entries_at_their_moment(demo: Recording) -> None:
    feed = ReplayFeed(demo, "demo")
    notes = [(i, e) for i, e in enumerate(feed.timeline.entries) if e.kind == NOTE_ENTRY]
    recorded = [r for r in sorted(demo.records, key=lambda r: r.line) if r.kind == "note"]
    assert [e.text for _, e in notes] == [r.value for r in recorded]
    assert [e.at for e in feed.timeline.entries] == sorted(e.at for e in feed.timeline.entries)
    # at a note the screen shows what had been read by then, nothing after it
    i, note = next((i, e) for i, e in notes if e.text.startswith("upgraded to the head"))
    view = feed.view_at(i)
    assert view.observation is not None and view.observation.at <= note.at
    later = [r for r in demo.records if r.kind == "observation" and r.at > note.at]
    assert later and all(r.value.at > view.observation.at for r in later)


def test_a_tui_reruns_steps_replay_as_rerun_entries(run_c: Recording) -> None:
    at = run_c.records[-1].at
    steps = ["started: stop-first, no base (head only), head HEAD (1e7d3b94)", "1. deploy head 1e7d3b94 ✓",
             "2. watch until a verdict ✗ the daemon went away", "failed: watch: gave up", "ended: converged"]
    failed = [False, False, True, True, False]
    stop = "recording stopped: the TUI quit"
    values: list[object] = [*(RerunStep(s, f) for s, f in zip(steps, failed, strict=True)), stop]
    texts = [*steps, stop]
    extra = tuple(Record(at + timedelta(seconds=n + 1), STEP if isinstance(value, RerunStep) else NOTE, value,
                         line=10_000 + n) for n, value in enumerate(values))
    feed = ReplayFeed(Recording(run_c.header, run_c.records + extra), "rerun")
    tail = feed.timeline.entries[-len(extra):]
    assert [(e.kind, e.text, e.state) for e in tail] == [
        (RERUN, steps[0], None), (RERUN, steps[1], None), (RERUN, steps[2], "failed"),
        (RERUN, steps[3], "failed"), (RERUN, steps[4], None), (NOTE_ENTRY, texts[-1], None)]
