"""SyncedTable and the timeline pane redraw only what changed, and what they show is what a table built
afresh from the same rows shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.strip import Strip

from ccci_tui.domain.timeline import SPEC, SPEC_WRITE, TASK, Entry
from ccci_tui.tui.view import EMPTY_TIMELINE, LIVE, View
from ccci_tui.tui.widgets.synced_table import SyncedTable
from ccci_tui.tui.widgets.table_cells import Row
from ccci_tui.tui.widgets.timeline_pane import TimelineTable
from tests.tui.support import screen_text

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class Counting(SyncedTable):
    """Counts the lines it draws."""

    drawn = 0

    def render_line(self, y: int) -> Strip:
        self.drawn += 1
        return super().render_line(y)


class Tables(App[None]):
    CSS = "SyncedTable { height: 10; border: round white; scrollbar-size: 1 1; }"

    def __init__(self, table: type[SyncedTable] = Counting) -> None:
        super().__init__()
        self.table_cls = table

    def compose(self) -> ComposeResult:
        yield self.table_cls(id="t")

    def on_mount(self) -> None:
        table = self.query_one(SyncedTable)
        for name in ("key", "value"):
            table.add_column(name)


def _rows(n: int, changed: dict[int, str] | None = None) -> list[Row]:
    changed = changed or {}
    return [(f"r{i:03d}", (Text(f"r{i:03d}"), Text(changed.get(i, f"value {i}")))) for i in range(n)]


async def _shown(rows: Sequence[Row], subtitle: str, cursor: int, size: tuple[int, int]) -> str:
    """The screen (colours included: a scrollbar's thumb is blank cells) of a table given `rows` in one
    sync, with that subtitle and cursor."""
    app = Tables(SyncedTable)
    async with app.run_test(size=size) as pilot:
        table = app.query_one(SyncedTable)
        table.sync(rows)
        table.set_subtitle(subtitle)
        table.move_cursor(cursor)
        await pilot.pause()
        return app.export_screenshot()


async def test_lines_are_redrawn_only_where_rows_changed_and_the_screen_matches_a_fresh_table() -> None:
    size = (60, 12)
    app = Tables()
    async with app.run_test(size=size) as pilot:
        table = app.query_one(Counting)
        table.sync(_rows(200))
        table.set_subtitle("200 rows")
        await pilot.pause()
        await pilot.pause()  # the scrollbar that appeared laid the table out again: drawn once more

        before = table.drawn
        table.sync(_rows(200, {150: "off view"}))
        await pilot.pause()
        assert table.drawn == before  # nothing visible changed (nor any column width): no line drawn again

        before = table.drawn
        table.sync(_rows(201, {150: "off view", 2: "in view"}))
        table.set_subtitle("201 rows")
        await pilot.pause()
        assert table.drawn - before == 1  # the one visible row that changed
        text = screen_text(app)
        assert "in view" in text and "201 rows" in text
        assert app.export_screenshot() == await _shown(_rows(201, {150: "off view", 2: "in view"}),
                                    "201 rows", 0, size)

        table.move_cursor(3)  # the cursor's two lines, in the view
        before = table.drawn
        await pilot.pause()
        assert table.drawn - before == 2
        table.move_cursor(200)  # scrolled to the end: the scrollbar's thumb moves to the bottom
        table.sync(_rows(203, {150: "off view", 2: "in view"}))
        table.move_cursor(202)
        table.set_subtitle("203 rows")
        await pilot.pause()
        assert app.export_screenshot() == await _shown(
            _rows(203, {150: "off view", 2: "in view"}), "203 rows", 202, size)


def _entry(second: float, text: str, kind: str = TASK, state: str | None = "running") -> Entry:
    return Entry(at=T0 + timedelta(seconds=second), kind=kind, text=text, task_id=f"task{second:g}", state=state)


def _view(entries: Sequence[Entry]) -> View:
    return View(mode=LIVE, source="test", stack="s", service="app",
                timeline=replace(EMPTY_TIMELINE, entries=tuple(entries)))


class Timelines(App[None]):
    def compose(self) -> ComposeResult:
        yield TimelineTable(id="live")
        yield TimelineTable(id="fresh")


def _cells(table: TimelineTable) -> list[tuple[str, list[tuple[str, Any]]]]:
    return [(key, [(cell.plain, cell.style, cell.spans) for cell in (table.get_cell_at((row, c)) for c in range(4))])
            for row, key in enumerate(table.row_keys())]


async def test_a_live_timeline_built_entry_by_entry_matches_one_built_at_once() -> None:
    deploy = _entry(10, "spec written", kind=SPEC, state=SPEC_WRITE)
    first = [_entry(1, "a"), _entry(2, "b"), _entry(2, "b")]  # the same entry twice: numbered keys
    steps = [
        first,
        [*first, deploy],  # the first deploy: every time counts from it now
        [*first, deploy, _entry(11, "c"), _entry(11, "c")],
        [*first, deploy, _entry(11, "c"), _entry(11, "c"), _entry(12, "d")],
        # an entry that came late goes in before the last one; another is dropped (a swap)
        [*first, deploy, _entry(11, "c"), _entry(11.5, "late"), _entry(12, "d")],
        [*first, deploy, _entry(11, "c"), _entry(11.5, "late"), _entry(12, "d"),
         _entry(20, "second deploy", kind=SPEC, state=SPEC_WRITE), _entry(21, "e")],
    ]
    app = Timelines()
    async with app.run_test(size=(120, 40)) as pilot:
        live, fresh = app.query_one("#live", TimelineTable), app.query_one("#fresh", TimelineTable)
        shared: list[Entry] = []
        for entries in steps:
            # a live timeline shares its entries from one snapshot to the next
            kept = {(e.at, e.text): e for e in shared}
            shared = [kept.get((e.at, e.text), e) for e in entries]
            live.show(_view(shared))
            await pilot.pause()
        fresh.show(_view(shared))
        await pilot.pause()
        assert live.row_count == len(steps[-1])
        assert _cells(live) == _cells(fresh)
        assert live.cursor_row == live.row_count - 1  # still following the newest entry
        times = [live.get_cell_at((row, 1)).plain for row in range(live.row_count)]
        assert times[:4] == ["-9.0 s", "-8.0 s", "-8.0 s", "+0.0 s"] and times[-1] == "+1.0 s"


async def test_rows_handed_over_again_keep_their_place_around_the_rows_that_changed() -> None:
    app = Tables(SyncedTable)
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(SyncedTable)
        rows = _rows(10)
        table.sync(rows)
        versions = {key: table.row_version(key) for key in table.row_keys()}
        # the same row objects at both ends; one removed, one new and one changed between them
        changed = (rows[5][0], (Text(rows[5][0]), Text("changed")))
        again = [*rows[:3], ("new", (Text("new"), Text("value new"))), *rows[4:5], changed, *rows[6:]]
        assert table.sync(again)
        await pilot.pause()
        assert table.row_keys() == [key for key, _ in again]
        assert [table.get_cell_at((i, 1)).plain for i in range(table.row_count)] == [
            cells[1].plain for _, cells in again]
        assert table.row_version(rows[5][0]) == versions[rows[5][0]] + 1
        assert all(table.row_version(k) == versions[k] for k in table.row_keys() if k not in ("new", rows[5][0]))
        assert not table.sync(list(again))  # the same rows in a new list: nothing to do
        table.forget()
        assert table.sync(again) and table.row_keys() == [key for key, _ in again]  # a refill builds them all
