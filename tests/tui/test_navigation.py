"""Pilot: panes, evidence, help, task detail, timeline-to-task highlighting, mouse."""

from __future__ import annotations

from ccci_tui.domain.replay import Recording
from ccci_tui.tui.app import AppOptions
from ccci_tui.tui.screens.evidence import EvidenceScreen, TaskScreen
from ccci_tui.tui.screens.help import HelpScreen
from ccci_tui.tui.screens.main import MainScreen
from ccci_tui.tui.widgets.tasks_pane import TasksTable
from ccci_tui.tui.widgets.timeline_pane import TimelineTable
from tests.tui.support import screen_text


def _app(recording: Recording, clock):  # noqa: ANN001, ANN202
    return AppOptions(recording=recording, recording_label="recording run-C.jsonl", clock=clock,
                      cursor_blink=False).build()


async def test_narrow_terminal_shows_one_pane_at_a_time(run_c: Recording, clock) -> None:  # noqa: ANN001
    app = _app(run_c, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.wait_settled()
        screen = app.screen
        assert isinstance(screen, MainScreen) and screen.has_class("-narrow")
        assert screen.query_one("#timeline").display and not screen.query_one("#tasks").display
        await pilot.press("3")
        await app.wait_settled()
        assert screen.query_one("#tasks").display and not screen.query_one("#timeline").display
        assert app.focused is screen.query_one("#tasks")
        await pilot.click("#tab-recipe")  # the mouse picks panes too
        await app.wait_settled()
        assert screen.active == "recipe" and screen.query_one("#recipe-box").display
        assert "/srv/recipes/lab-app" in screen_text(app)


async def test_wide_terminal_shows_every_pane(run_c: Recording, clock) -> None:  # noqa: ANN001
    app = _app(run_c, clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        screen = app.screen
        assert screen.has_class("-wide") and not screen.query_one("#pane-tabs").display
        text = screen_text(app)
        for title in ("1 Recipe", "2 Spec", "3 Tasks", "4 Timeline", "SWARM-ROLLBACK", "REPLAY"):
            assert title in text
        await pilot.press("2")
        await app.wait_settled()
        assert screen.active == "spec" and screen.query_one("#spec-box").has_class("-active")


async def test_enter_on_the_banner_opens_the_evidence(run_c: Recording, clock) -> None:  # noqa: ANN001
    app = _app(run_c, clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        await pilot.press("enter")
        await app.wait_settled()
        assert isinstance(app.screen, EvidenceScreen)
        text = screen_text(app)
        assert "PreviousSpec is gone" in text and "next step" in text
        await pilot.press("escape")
        await app.wait_settled()
        assert isinstance(app.screen, MainScreen)
        await pilot.click("#banner")
        await app.wait_settled()
        assert isinstance(app.screen, EvidenceScreen)


async def test_help_lists_every_key(run_c: Recording, clock) -> None:  # noqa: ANN001
    app = _app(run_c, clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")
        await app.wait_settled()
        assert isinstance(app.screen, HelpScreen)
        # the list scrolls inside the dialog: read what it holds, not what fits on the screen
        listed = "\n".join(f"{key} {what}" for key, what in app.screen.keys)
        for key in ("n / p", "space", "first failure", "S / T", "--write"):
            assert key in listed
        assert "ccci-tui help" in screen_text(app)
        await pilot.press("escape")
        await app.wait_settled()
        assert isinstance(app.screen, MainScreen)


async def test_selecting_a_timeline_entry_marks_its_task(run_c: Recording, clock) -> None:  # noqa: ANN001
    app = _app(run_c, clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        timeline = app.screen.query_one(TimelineTable)
        tasks = app.screen.query_one(TasksTable)
        view = app.screen.view
        row = next(i for i, e in enumerate(view.timeline.entries) if e.state == "oom")
        task_id = view.timeline.entries[row].task_id
        await pilot.press("4")
        await app.wait_settled()
        timeline.move_cursor(row=row)
        await app.wait_settled()
        assert tasks.marked == task_id
        assert tasks.cursor_key() == task_id
        assert str(tasks.get_cell(task_id, "mark")) == "▶"
        # an entry without a task clears the mark
        status_row = next(i for i, e in enumerate(view.timeline.entries) if e.task_id is None)
        timeline.move_cursor(row=status_row)
        await app.wait_settled()
        assert tasks.marked is None and str(tasks.get_cell(task_id, "mark")) == " "


async def test_enter_on_a_task_shows_it_in_full(run_c: Recording, clock) -> None:  # noqa: ANN001
    app = _app(run_c, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.wait_settled()
        await pilot.press("3")
        await app.wait_settled()
        tasks = app.screen.query_one(TasksTable)
        failed = next(t for t in app.screen.view.observation.tasks if t.state == "failed")
        tasks.move_to_key(failed.id)
        await pilot.press("enter")
        await app.wait_settled()
        assert isinstance(app.screen, TaskScreen)
        text = screen_text(app)
        assert "task: non-zero exit (137)" in text and failed.id in text


async def test_timeline_times_toggle_between_relative_and_absolute(run_c: Recording, clock) -> None:  # noqa: ANN001
    app = _app(run_c, clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        timeline = app.screen.query_one(TimelineTable)
        key = timeline.cursor_key()
        before = str(timeline.get_cell(key, "time"))
        await pilot.press("t")
        await app.wait_settled()
        after = str(timeline.get_cell(key, "time"))
        assert before.startswith("+") and before.endswith(" s")
        assert after == "18:27:36.033"
        await pilot.press("t")
        await app.wait_settled()
        assert str(timeline.get_cell(key, "time")) == before


async def test_a_new_theme_redraws_the_cells(run_c: Recording, clock) -> None:  # noqa: ANN001
    app = _app(run_c, clock)
    async with app.run_test(size=(120, 36)):
        await app.wait_settled()
        tasks = app.screen.query_one(TasksTable)
        failed = next(t for t in app.screen.view.observation.tasks if t.state == "failed")
        before = tasks.get_cell(failed.id, "state").style
        app.theme = "nord"  # its error colour differs from the default theme's
        await app.wait_settled()
        after = tasks.get_cell(failed.id, "state").style
        assert app.current_theme.error in str(after) and before != after
