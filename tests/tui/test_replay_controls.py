"""Pilot: replay stepping, play/pause at 1x and 10x, first failure; every pane follows the cursor."""

from __future__ import annotations

from ccci_tui.domain.replay import Recording
from ccci_tui.tui.app import AppOptions
from ccci_tui.tui.widgets.replay_bar import ReplayBar
from ccci_tui.tui.widgets.tasks_pane import TasksTable
from ccci_tui.tui.widgets.timeline_pane import TimelineTable
from tests.tui.support import screen_text, wait_until


def _app(recording: Recording, clock):  # noqa: ANN001, ANN202
    return AppOptions(recording=recording, recording_label="run C", clock=clock, cursor_blink=False).build()


async def test_next_and_previous_move_every_pane(run_c: Recording, clock) -> None:  # noqa: ANN001
    app = _app(run_c, clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        screen = app.screen
        start = screen.cursor
        await pilot.press("p", "p")
        await app.wait_settled()
        assert screen.cursor == start - 2
        await pilot.press("n")
        await app.wait_settled()
        assert screen.cursor == start - 1
        assert screen.view.cursor == screen.cursor
        timeline = screen.query_one(TimelineTable)
        assert timeline.cursor_row == screen.cursor
        assert str(timeline.get_cell_at((screen.cursor, 0))) == "▶"


async def test_at_the_first_entry_only_the_base_task_exists(run_c: Recording, clock) -> None:  # noqa: ANN001
    app = _app(run_c, clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        for _ in range(len(app.screen.view.timeline.entries)):
            await pilot.press("p")
        screen = app.screen
        assert screen.cursor == 0
        assert screen.query_one(TasksTable).row_count == 1
        text = screen_text(app)
        assert "STAMP-MISMATCH" in text and "no rolling update" in text and screen.view.attempted is None


async def test_first_failure_jumps_to_the_oom(run_c: Recording, clock) -> None:  # noqa: ANN001
    app = _app(run_c, clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        await pilot.press("f")
        await app.wait_settled()
        entry = app.screen.view.cursor_entry
        assert entry is not None and entry.state == "oom"
        assert app.screen.view.verdict.kind == "in-progress"


async def test_play_runs_to_the_end_at_10x_then_stops(run_c: Recording, clock) -> None:  # noqa: ANN001
    app = _app(run_c, clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        screen = app.screen
        await pilot.press("f", "x")  # from the failure, at 10x: the rest of run C is ~1 s
        await app.wait_settled()
        assert screen.speed == 10
        await pilot.press("space")
        await app.wait_settled()
        assert screen.playing
        await wait_until(pilot, lambda: not screen.playing, timeout=10)
        assert screen.cursor == len(screen.view.timeline.entries) - 1
        assert "play ▶" in str(screen.query_one("#replay-play").label)


async def test_pause_stops_the_cursor(run_c: Recording, clock) -> None:  # noqa: ANN001
    app = _app(run_c, clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        screen = app.screen
        for _ in range(len(screen.view.timeline.entries)):
            await pilot.press("p")
        await pilot.press("space")  # 1x
        await wait_until(pilot, lambda: screen.cursor > 0)
        await pilot.press("space")
        await app.wait_settled()
        stopped = screen.cursor
        await app.wait_settled()
        # paused, and no step to the next entry is left on a timer: the cursor stays where it stopped
        assert not screen.playing and not screen.step_scheduled and screen.cursor == stopped


async def test_buttons_work_with_the_mouse(run_c: Recording, clock) -> None:  # noqa: ANN001
    app = _app(run_c, clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        screen = app.screen
        start = screen.cursor
        await pilot.click("#replay-prev")
        await app.wait_settled()
        assert screen.cursor == start - 1
        await pilot.click("#replay-failure")
        await app.wait_settled()
        assert screen.view.cursor_entry.state == "oom"
        await pilot.click("#replay-speed")
        await app.wait_settled()
        assert screen.speed == 10 and "10x" in str(screen.query_one("#replay-speed").label)


async def test_enter_on_a_timeline_entry_moves_the_cursor_there(run_c: Recording, clock) -> None:  # noqa: ANN001
    app = _app(run_c, clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        await pilot.press("4")
        await app.wait_settled()
        timeline = app.screen.query_one(TimelineTable)
        timeline.move_cursor(row=3)
        await pilot.press("enter")
        await app.wait_settled()
        assert app.screen.cursor == 3


async def test_replay_keys_are_not_offered_live(clock) -> None:  # noqa: ANN001
    from tests.tui.support import FakeSwarm, run_observations

    app = AppOptions(source=FakeSwarm(run_observations("C")), stack="research_oom", clock=clock,
                     cursor_blink=False, poll_interval=0.01, memory_interval=None).build()
    async with app.run_test(size=(120, 36)):
        await app.wait_settled()
        assert not app.screen.query_one(ReplayBar).display
        keys = {b.binding.key for b in app.screen.active_bindings.values() if b.enabled and b.binding.show}
        assert "n" not in keys and "space" not in keys and "v" in keys
