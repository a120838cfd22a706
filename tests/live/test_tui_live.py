"""The TUI on the lab swarm: a start-first head rolls back and the banner follows, in place."""

from __future__ import annotations

import asyncio

import pytest

from ccci_tui.domain import verdict as v
from ccci_tui.sources.swarm import SwarmSource
from ccci_tui.sources.target import resolve_target
from ccci_tui.tui.app import AppOptions
from ccci_tui.tui.widgets.status import VerdictBanner
from tests.support.deploy import deploy_recipe
from tests.support.recipes import BASE_TAG
from tests.tui.support import screen_text

pytestmark = pytest.mark.live


async def test_banner_goes_from_in_progress_to_swarm_rollback(swarm, recipe_repo) -> None:  # noqa: ANN001
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda svc, tasks: any(t["Status"]["State"] == "running" for t in tasks), timeout=60)

    app = AppOptions(source=SwarmSource(), stack=stack, service="app", cursor_blink=False,
                     resolver=lambda st, sv: resolve_target(st, sv, str(recipe.path))).build()
    seen: list[str] = []

    def kind() -> str | None:
        view = app.main.view
        return view.verdict.kind if view is not None and view.verdict is not None else None

    async def until(predicate, timeout: float) -> None:  # noqa: ANN001
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            current = kind()
            if current is not None and (not seen or seen[-1] != current):
                seen.append(current)
            if predicate():
                return
            assert loop.time() < deadline, f"timed out; verdicts seen: {seen}"
            await asyncio.sleep(0.1)

    async with app.run_test(size=(120, 36)) as pilot:
        # the base runs, the recipe HEAD is the head: a wrong stamp, not yet an upgrade
        await until(lambda: kind() == v.STAMP_MISMATCH and app.main.view.recipe is not None, 60)
        await asyncio.to_thread(deploy_recipe, recipe.path, stack)  # like `abra app deploy --chaos`
        await until(lambda: kind() == v.SWARM_ROLLBACK, 120)
        await pilot.pause()
        banner = app.screen.query_one(VerdictBanner)
        text = screen_text(app)
        assert banner.has_class("-error") and "SWARM-ROLLBACK" in text and "LIVE" in text
        # the spec pane explains the empty PreviousSpec (the cell wraps)
        assert "erased by the" in text and "automatic rollback" in text
        view = app.main.view
        assert view.attempted is not None  # captured while updating, before the rollback erased it
    assert v.IN_PROGRESS in seen
    assert seen.index(v.IN_PROGRESS) < seen.index(v.SWARM_ROLLBACK)
