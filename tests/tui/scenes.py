"""The screens worth showing, on the bundled demo: used by the snapshot tests and scripts/screenshots.

Deterministic by configuration: a fixed clock, no blinking cursor, and a header that names the
recording, not the host it was made on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from ccci_tui.domain.replay import Recording
from ccci_tui.tui.app import AppOptions, CcciApp
from ccci_tui.tui.screens.rerun import ConfirmRerunScreen
from ccci_tui.upgrade.plan import UpgradePlan
from tests.support.recipes import BASE_TAG, compose_text
from tests.support.reference import BASE_SHA, HEAD_SHA
from tests.tui.support import FIXED_NOW, screen_text

SIZES = [(120, 36), (80, 24)]
DEMO_LABEL = "bundled demo recording (demo.jsonl.gz)"
Before = Callable[[Pilot], Awaitable[None]] | None


def demo_app(recording: Recording) -> CcciApp:
    """The app exactly as `ccci-tui --demo` builds it, with the clock and the cursor fixed."""
    return AppOptions(recording=recording, recording_label=DEMO_LABEL, clock=lambda: FIXED_NOW,
                      cursor_blink=False).build()


async def settle(pilot: Pilot) -> None:
    """Wait until the app has shown everything it was given (its compare or picker thread included)."""
    await pilot.app.wait_settled()


def keys(*pressed: str) -> Before:
    """A scene that presses `pressed`, then settles."""

    async def run(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press(*pressed)
        await settle(pilot)

    return run


async def _compare_ready(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("c")
    await settle(pilot)  # the comparison is read on the screen's own thread: settled once it shows
    assert "differences" in screen_text(pilot.app)


async def _task(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("3")
    tasks = pilot.app.screen.query_one("#tasks")
    failed = next(t for t in pilot.app.screen.view.observation.tasks if t.state == "failed")
    tasks.move_to_key(failed.id)
    await pilot.press("enter")
    await settle(pilot)


def demo_plan(order: str = "stop-first", stack: str = "discourse_example_org") -> UpgradePlan:
    """The plan `make_plan` lays out for the demo's stack, built from the same parts with fixed paths
    (a real plan names a temporary directory and a pid, which a snapshot must not)."""
    from ccci_tui.domain.compare import service_risks
    from ccci_tui.domain.compose import load_policy
    from ccci_tui.domain.stamp import make_stamp
    from ccci_tui.upgrade.plan import _stack_steps
    from ccci_tui.upgrade.stack import stamp_overlay

    recipe, workdir = Path("/srv/recipes/discourse"), Path(f"/tmp/ccci-rerun-{stack}-4242")
    overlay = {side: stamp_overlay(stack, make_stamp(sha, False), order=order)
               for side, sha in (("base", BASE_SHA), ("head", HEAD_SHA))}
    head = compose_text("0.9.0+3.5.0", "contention", "3.5.0", reservation="64M")
    policy = load_policy([("compose.yml@head", head), ("rerun overlay", overlay["head"])], {"STACK_NAME": stack})
    return UpgradePlan(
        stack=stack, service="app", order=order, backend="stack", recipe=recipe, base_ref=BASE_TAG,
        base_sha=BASE_SHA, head_ref="HEAD", head_sha=HEAD_SHA, compose_chain=("compose.yml",), env_file=None,
        workdir=workdir, steps=_stack_steps(recipe, stack, BASE_SHA, HEAD_SHA,
                                            {"base": ("compose.yml",), "head": ("compose.yml",)}, overlay,
                                            workdir, 300.0),
        risks=tuple(n.message for n in service_risks(policy.services["app"], "head")), env={"STACK_NAME": stack},
    )


async def _rerun(pilot: Pilot) -> None:
    # the demo is a recording, which is never re-run: the confirmation is shown as S shows it live,
    # over a main screen that has settled first, as it has by the time anyone presses S
    await settle(pilot)
    pilot.app.push_screen(ConfirmRerunScreen(demo_plan()))
    await settle(pilot)


# name -> (keys pressed after `before`, before): every scene presses its keys inside `before`, which
# ends settled, so the screenshot is taken of a settled screen
SCENES: dict[str, tuple[tuple[str, ...], Before]] = {
    "main": ((), settle),
    "main_first_entry": ((), keys(*("p",) * 19)),
    "main_converged": ((), keys(*("n",) * 20)),
    "main_tasks_pane": ((), keys("3")),
    "main_absolute_times": ((), keys("t")),
    "evidence": ((), keys("enter")),
    "task": ((), _task),
    "help": ((), keys("question_mark")),
    "picker": ((), keys("s", *"ap")),
    "compare": ((), _compare_ready),
    "rerun_confirmation": ((), _rerun),
}
