"""The TUI's re-run on the lab swarm (--write): S, the stack name typed, the run streamed, converged on the head."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Button, Static

from ccci_tui.config import Config
from ccci_tui.domain import verdict as v
from ccci_tui.domain.replay import STEP, VERDICT, RerunStep
from ccci_tui.domain.stamp import stamp_key
from ccci_tui.sources.recording import read_recording
from ccci_tui.sources.swarm import SwarmSource
from ccci_tui.sources.target import resolve_target
from ccci_tui.tui.app import AppOptions
from ccci_tui.tui.recording_tap import FeedRecorder
from ccci_tui.tui.rerunner import StackRerunner
from ccci_tui.tui.screens.rerun import ConfirmRerunScreen
from ccci_tui.tui.view import RERUN
from tests.support.deploy import deploy_recipe
from tests.support.recipes import BASE_TAG
from tests.tui.support import screen_text

pytestmark = pytest.mark.live


async def until(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_stop_first_rerun_from_the_tui_converges_on_the_head(swarm, recipe_repo, tmp_path) -> None:  # noqa: ANN001
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda svc, tasks: any(t["Status"]["State"] == "running" for t in tasks), timeout=60)

    source = SwarmSource()
    recording = tmp_path / "tui.jsonl"
    app = AppOptions(source=source, stack=stack, service="app", cursor_blink=False, write=True,
                     resolver=lambda st, sv: resolve_target(st, sv, str(recipe.path)),
                     rerun=StackRerunner(source, Config(), str(recipe.path)),
                     record=FeedRecorder.pending(recording, stack, "app")).build()  # as `--record` makes it

    def rows() -> list[str]:
        view = app.main.view
        return [e.text for e in view.timeline.entries if e.kind == RERUN] if view is not None else []

    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: app.main.view is not None and app.main.view.verdict is not None, 60, "a first verdict")
        await pilot.press("S")
        await until(lambda: isinstance(app.screen, ConfirmRerunScreen), 60, "the confirmation")
        await pilot.pause()
        screen = app.screen
        plan = screen.plan
        assert (plan.order, plan.base_ref, plan.head_sha) == ("stop-first", BASE_TAG, recipe.head)
        assert screen.query_one("#confirm-commands", Static).content.plain == plan.render()
        assert screen.query_one("#confirm-run", Button).disabled
        await pilot.press(*stack)
        assert not screen.query_one("#confirm-run", Button).disabled
        await pilot.press("enter")
        await until(lambda: app.rerun_state == "idle" and any(r.startswith(("ended:", "failed:")) for r in rows()),
                    300, f"the re-run to end; steps so far: {rows()}")
        await pilot.pause(0.3)
        view = app.main.view
        assert rows()[-1] == "ended: converged", rows()
        assert view.verdict.kind == v.CONVERGED, view.verdict
        assert f"stamp {recipe.head[:8]} matches the expected head" in view.verdict.summary
        assert "CONVERGED" in screen_text(app)
        deploys = [r for r in rows() if ". deploy " in r]
        assert deploys == [f"3. deploy base {recipe.base[:8]} ✓", f"7. deploy head {recipe.head[:8]} ✓"], rows()

    svc = swarm.service(stack)
    assert svc["Spec"]["Labels"][stamp_key(stack)] == recipe.head[:8]
    assert svc["Spec"]["UpdateConfig"]["Order"] == "stop-first"
    # the operator's checkout was never touched, and no temporary worktree is left behind
    assert recipe.repo.head.commit.hexsha == recipe.head and not recipe.repo.is_dirty(untracked_files=True)
    assert len(recipe.repo.git.worktree("list").splitlines()) == 1
    # the run landed in the recording: its steps as step records, its verdicts as records
    records = read_recording(recording).records
    steps = [r.value for r in records if r.kind == STEP]
    assert RerunStep(f"7. deploy head {recipe.head[:8]} ✓") in steps and RerunStep("ended: converged") in steps
    assert [r.value.kind for r in records if r.kind == VERDICT][-1] == v.CONVERGED
