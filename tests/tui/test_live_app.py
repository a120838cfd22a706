"""Pilot on a fake live source: in-place updates, stale and recovery, quitting while a read hangs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ccci_tui.sources.errors import SwarmError
from ccci_tui.tui.app import AppOptions
from ccci_tui.tui.compare_source import RecipeComparer
from ccci_tui.tui.screens.compare import CompareScreen
from ccci_tui.tui.widgets.status import SourceHeader
from ccci_tui.tui.widgets.tasks_pane import TasksTable
from ccci_tui.tui.widgets.timeline_pane import TimelineTable
from tests.support.recipes import BASE_TAG, build_recipe
from tests.tui.support import FakeSwarm, Notes, run_observations, screen_text, wait_until


def _live(source: FakeSwarm, clock, **kw):  # noqa: ANN001, ANN003, ANN202
    return AppOptions(source=source, stack="research_oom", clock=clock, cursor_blink=False, poll_interval=0.01,
                      memory_interval=None, **kw).build()


async def test_tables_change_in_place_and_keep_the_cursor(clock) -> None:  # noqa: ANN001
    script = run_observations("C")
    source = FakeSwarm(script[:8])
    app = _live(source, clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: source.reads >= 8 and app.main.view is not None
                         and app.main.view.observation.at == script[7].at)
        tasks = app.screen.query_one(TasksTable)
        first = tasks.cursor_key()
        assert first is not None
        before = {key: tasks.row_version(key) for key in tasks.row_keys()}
        with source.lock:
            source.script = list(script[8:])
        await wait_until(pilot, lambda: app.main.view.observation.at == script[-1].at)
        assert tasks.cursor_key() == first  # new rows arrived; the cursor stayed on its task
        assert tasks.row_count == len(script[-1].tasks)
        # rows are updated in place: a task that did not change was not rebuilt; one that did was
        final = {t.id: t for t in script[-1].tasks}
        unchanged = [k for k in before if final[k] == next(t for t in script[7].tasks if t.id == k)]
        changed = [k for k in before if k not in unchanged]
        assert all(tasks.row_version(k) == before[k] for k in unchanged)
        assert changed and all(tasks.row_version(k) > before[k] for k in changed)
        timeline = app.screen.query_one(TimelineTable)
        assert timeline.cursor_row == timeline.row_count - 1  # a cursor at the end follows new entries


async def test_daemon_gone_is_stale_then_recovers(clock) -> None:  # noqa: ANN001
    good = run_observations("C")[-1]
    down = SwarmError("Docker daemon unreachable at unix:///var/run/docker.sock (inspect service x): refused")
    source = FakeSwarm([good] + [down] * 1000)
    app, notes = _live(source, clock), Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        header = app.screen.query_one(SourceHeader)
        await wait_until(pilot, lambda: header.has_class("-stale"))
        text = screen_text(app)
        assert "STALE" in text and "since 19:00:00" in text and "retrying" in text
        assert "SWARM-ROLLBACK" in text  # the last observation is still shown
        assert "not answering" in notes.titles
        with source.lock:
            source.script = [good]
        await wait_until(pilot, lambda: header.has_class("-live"), timeout=10)
        assert app.is_running
        assert "Reconnected" in notes.titles


async def test_quitting_while_a_read_hangs_does_not_wait_for_the_read(clock) -> None:  # noqa: ANN001
    source = FakeSwarm(["hang"])
    app = _live(source, clock)

    async def run_and_quit() -> None:
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_until(pilot, lambda: source.hanging == 1)
            await pilot.press("q")

    try:
        # a bound on the wait, not a measurement: an exit that waits for the read fails here by name
        await asyncio.wait_for(run_and_quit(), timeout=30)
        assert source.hanging == 1  # the app has exited and its read is still blocked in the source
    finally:
        source.release()


async def test_no_stack_opens_the_picker(clock) -> None:  # noqa: ANN001
    from ccci_tui.sources.swarm import StackSummary
    from ccci_tui.tui.screens.picker import PickerScreen

    source = FakeSwarm(run_observations("C"), stacks=(StackSummary("research_oom", ("research_oom_app",), "ok"),))
    app = AppOptions(source=source, clock=clock, cursor_blink=False, poll_interval=0.01, memory_interval=None).build()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.wait_settled()
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("escape")
        await app.wait_settled()
        assert "NO STACK CHOSEN" in screen_text(app)
        await pilot.press("s")
        await app.wait_settled()  # the stacks are listed on a thread of the picker's
        assert "research_oom" in screen_text(app)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.main.view is not None and app.main.view.observation is not None)


async def test_compare_picks_refs_and_overlays_from_the_recipe(tmp_path: Path, clock) -> None:  # noqa: ANN001
    recipe = build_recipe(tmp_path, head_order="start-first")
    comparer = RecipeComparer(recipe.path, "research_oom")
    app = _live(FakeSwarm(run_observations("C")), clock, comparer=comparer)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await app.wait_settled()  # git is read on a thread of the compare screen's
        assert screen.choices is not None and "differences" in screen_text(app)
        assert screen.choices.base == BASE_TAG and screen.choices.head == "HEAD"
        assert screen.choices.overlays == ("compose.lab.yml",)
        text = screen_text(app)
        assert "start-first" in text and "risks in head" in text
        overlays = screen.query_one("#compare-overlays")
        overlays.select("compose.lab.yml")
        await app.wait_settled()
        assert "compose.lab.yml@HEAD" in screen_text(app)
