"""The picker filters by reusing the options it built: each keystroke shows what rebuilding the list shows,
and a click on a row picks that row's service wherever the filter moved it."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Input, OptionList

from ccci_tui.sources.swarm import StackSummary
from ccci_tui.tui.picker_rows import Choice, picker_options
from ccci_tui.tui.screens.picker import PickerScreen

STACK = "shop"
STACKS = (StackSummary(STACK, tuple(f"{STACK}_s{i:02d}" for i in range(40)), "updating"),)


class Host(App[None]):
    cursor_blink = False  # the picker's filter blinks as the app says

    def __init__(self) -> None:
        super().__init__()
        self.chosen: Choice | None = None

    def on_mount(self) -> None:
        self.push_screen(PickerScreen(STACKS), self._picked)

    def _picked(self, choice: Choice | None) -> None:
        self.chosen = choice


def _ids(options: list) -> list[str | None]:  # type: ignore[type-arg]
    return [o.id for o in options]


async def test_each_keystroke_shows_what_rebuilding_the_list_shows() -> None:
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        olist = app.screen.query_one(OptionList)
        first = list(olist.options)
        colours = {"ok": "green", "info": "yellow", "error": "red"}
        for key, query in (("1", "1"), ("2", "12"), ("backspace", "1"), ("backspace", "")):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen.query_one(Input).value == query
            assert _ids(list(olist.options)) == _ids(picker_options(STACKS, query, colours))
            shown = [o.prompt.plain.strip() for o in olist.options if not o.disabled]  # type: ignore[union-attr]
            assert shown == [s.removeprefix(f"{STACK}_") for s in STACKS[0].services if query in s.split("_s")[1]]
        # the filter is empty again: the very options of the first fill, not new ones built alike
        assert all(a is b for a, b in zip(olist.options, first, strict=True))


async def test_a_click_after_filtering_picks_the_row_clicked() -> None:
    app = Host()
    async with app.run_test(size=(100, 60)) as pilot:  # every row in view, filtered or not: one width
        await pilot.pause()  # every row drawn: s10's on line 11
        olist = app.screen.query_one(OptionList)
        assert not olist.show_vertical_scrollbar
        await pilot.press("1")  # s01, s10..s19, s21, s31: s10's row, kept, is drawn on line 2 now
        await pilot.pause()
        row = next(i for i, o in enumerate(olist.options) if o.id == f"{STACK}\x00s10")
        assert row == 2 and not olist.show_vertical_scrollbar
        await pilot.click(OptionList, offset=(4, row + olist.content_offset.y))
        await pilot.pause()
        assert app.chosen == Choice(STACK, "s10")
