"""The main screen's first frame is the header and the real verdict; the panes, the replay controls and
the footer mount right after it, and the app is not settled until they have."""

from __future__ import annotations

import re
from typing import Any

import pytest
from textual.widgets import Footer

from ccci_tui.domain.replay import Recording
from ccci_tui.tui.replay_feed import ReplayFeed
from ccci_tui.tui.screens.main import MainScreen
from tests.tui.scenes import DEMO_LABEL, demo_app
from tests.tui.support import screen_text

_ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


async def test_the_first_frame_shows_the_recordings_verdict_and_the_panes_follow(demo: Recording) -> None:
    replay = ReplayFeed(demo, DEMO_LABEL)
    verdict = replay.view_at(replay.initial_cursor()).verdict
    assert verdict is not None
    app = demo_app(demo)
    frames: list[dict[str, Any]] = []
    display = app._display

    def first_frame(screen: Any, renderable: Any) -> None:
        if renderable is not None and not frames:  # what the terminal is sent first
            frames.append({"text": _ANSI.sub("", renderable.render_segments(app.console)),
                           "panes": bool(screen.query("#panes")), "unsettled": app.unsettled()})
        display(screen, renderable)

    app._display = first_frame  # type: ignore[method-assign]
    async with app.run_test(size=(120, 36)):
        await app.wait_settled()
        settled = screen_text(app)
        assert app.screen.query_one("#panes") and app.screen.query_one(Footer)
    first = frames[0]
    assert not first["panes"] and first["unsettled"] == "the panes"
    assert f"{verdict.kind.upper()}  {verdict.summary[:40]}" in first["text"]  # the real one, not a placeholder
    banner = next(line for line in settled.splitlines() if verdict.kind.upper() in line)
    assert banner.strip(" ▌▎▍") in first["text"]  # the same banner the settled screen shows
    assert "Timeline" not in first["text"] and "Timeline" in settled


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["wide", "narrow"])
async def test_a_pane_chosen_before_the_panes_mount_is_shown_and_focused_once_they_do(
        demo: Recording, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]) -> None:
    mount = MainScreen._mount_panes

    async def key_first(self: MainScreen) -> None:  # `3` pressed between the first frame and the panes
        self.action_pane("tasks")
        await mount(self)

    monkeypatch.setattr(MainScreen, "_mount_panes", key_first)
    app = demo_app(demo)
    async with app.run_test(size=size):
        await app.wait_settled()
        screen = app.main
        tasks = screen.query_one("#tasks")
        assert screen.active == "tasks" and app.focused is tasks
        assert tasks.has_class("-active") and not screen.query_one("#timeline").has_class("-active")
        assert screen.query_one("#pane-tabs").active == "tab-tasks"  # type: ignore[attr-defined]
        assert tasks.region.height > 0  # shown, narrow too (one pane at a time)


async def test_a_dialog_opened_before_the_first_frame_holds_the_panes_back_until_it_closes(demo: Recording) -> None:
    app = demo_app(demo)
    async with app.run_test(size=(120, 36)):
        await app.wait_settled()
        expected = screen_text(app)
    app = demo_app(demo)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")  # at once: before the main screen's first frame
        await app.wait_settled()  # settled with help on top; the panes wait for the main screen
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await app.wait_settled()
        assert app.screen is app.main and app.main.query_one("#panes")
        assert screen_text(app) == expected  # the timeline's cursor centred as without the dialog
