"""Snapshots of every screen on the bundled demo recording, at 120x36 and 80x24.

Deterministic by configuration: a fixed clock, no blinking cursor, and a header that names the
recording, not the host it was made on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot

from ccci_tui.domain.replay import Recording
from ccci_tui.tui.app import CcciApp, create_app
from ccci_tui.tui.screens.rerun import RerunScreen
from tests.tui.support import FIXED_NOW, screen_text, wait_until

SIZES = [(120, 36), (80, 24)]
DEMO_LABEL = "bundled demo recording (demo.jsonl.gz)"


def demo_app(recording: Recording) -> CcciApp:
    """The app exactly as `ccci-tui --demo` builds it, with the clock and cursor fixed."""
    return create_app(recording=recording, recording_label=DEMO_LABEL, clock=lambda: FIXED_NOW, cursor_blink=False)


async def _settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


async def _compare_ready(pilot: Pilot) -> None:
    await wait_until(pilot, lambda: "differences" in screen_text(pilot.app))
    await _settle(pilot)


async def _task(pilot: Pilot) -> None:
    await pilot.press("3")
    tasks = pilot.app.screen.query_one("#tasks")
    failed = next(t for t in pilot.app.screen.view.observation.tasks if t.state == "failed")
    tasks.move_to_key(failed.id)
    await pilot.press("enter")
    await _settle(pilot)


async def _rerun(pilot: Pilot) -> None:
    pilot.app.push_screen(RerunScreen("stack discourse_example_org, service app: deploy the recipe checkout "
                                      "(HEAD) again with the update order you pick"))
    await _settle(pilot)


async def _picker_filtered(pilot: Pilot) -> None:
    await pilot.press("s", *"ap")
    await _settle(pilot)


SCREENS: dict[str, tuple[tuple[str, ...], Callable[[Pilot], Awaitable[None]] | None]] = {
    "main": ((), _settle),
    "main_first_entry": (("p",) * 19, _settle),
    "main_converged": (("n",) * 20, _settle),
    "main_tasks_pane": (("3",), _settle),
    "main_absolute_times": (("t",), _settle),
    "evidence": (("enter",), _settle),
    "task": ((), _task),
    "help": (("question_mark",), _settle),
    "picker": ((), _picker_filtered),
    "compare": (("c",), _compare_ready),
    "rerun_confirmation": ((), _rerun),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(SCREENS))
def test_screen(snap_compare, demo: Recording, name: str, size: tuple[int, int]) -> None:  # noqa: ANN001
    press, before = SCREENS[name]
    assert snap_compare(demo_app(demo), press=press, terminal_size=size, run_before=before)
