"""The screens worth showing, on the bundled demo: used by the snapshot tests and scripts/screenshots.

Deterministic by configuration: a fixed clock, no blinking cursor, and a header that names the
recording, not the host it was made on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.pilot import Pilot

from ccci_tui.domain.replay import Recording
from ccci_tui.tui.app import CcciApp, create_app
from ccci_tui.tui.screens.rerun import RerunScreen
from tests.tui.support import FIXED_NOW, screen_text, wait_until

SIZES = [(120, 36), (80, 24)]
DEMO_LABEL = "bundled demo recording (demo.jsonl.gz)"
Before = Callable[[Pilot], Awaitable[None]] | None


def demo_app(recording: Recording) -> CcciApp:
    """The app exactly as `ccci-tui --demo` builds it, with the clock and the cursor fixed."""
    return create_app(recording=recording, recording_label=DEMO_LABEL, clock=lambda: FIXED_NOW, cursor_blink=False)


async def settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


async def _compare_ready(pilot: Pilot) -> None:
    await pilot.press("c")  # here, not in `press`: run_before runs before the presses
    await wait_until(pilot, lambda: "differences" in screen_text(pilot.app))
    await settle(pilot)


async def _task(pilot: Pilot) -> None:
    await pilot.press("3")
    tasks = pilot.app.screen.query_one("#tasks")
    failed = next(t for t in pilot.app.screen.view.observation.tasks if t.state == "failed")
    tasks.move_to_key(failed.id)
    await pilot.press("enter")
    await settle(pilot)


async def _rerun(pilot: Pilot) -> None:
    # the demo is a recording, which is never re-run: the confirmation is shown as --write shows it live
    pilot.app.push_screen(RerunScreen("stack discourse_example_org, service app: deploy the recipe checkout "
                                      "(HEAD) again with the update order you pick"))
    await settle(pilot)


async def _picker_filtered(pilot: Pilot) -> None:
    await pilot.press("s", *"ap")
    await settle(pilot)


# name -> (keys pressed after `before` runs, before)
SCENES: dict[str, tuple[tuple[str, ...], Before]] = {
    "main": ((), settle),
    "main_first_entry": (("p",) * 19, settle),
    "main_converged": (("n",) * 20, settle),
    "main_tasks_pane": (("3",), settle),
    "main_absolute_times": (("t",), settle),
    "evidence": (("enter",), None),
    "task": ((), _task),
    "help": (("question_mark",), settle),
    "picker": ((), _picker_filtered),
    "compare": ((), _compare_ready),
    "rerun_confirmation": ((), _rerun),
}
