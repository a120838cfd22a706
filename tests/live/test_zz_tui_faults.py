"""The TUI with the daemon stopped and back, watched through a logging proxy (runs in the serial phase)."""

from __future__ import annotations

import asyncio

import pytest

from ccci_tui.sources.swarm import SwarmSource
from ccci_tui.sources.target import resolve_target
from ccci_tui.tui.app import AppOptions
from ccci_tui.tui.view import LIVE, STALE
from tests.support.deploy import deploy_recipe
from tests.support.proxy import EngineProxy
from tests.support.recipes import BASE_TAG
from tests.tui.support import screen_text

pytestmark = [pytest.mark.live, pytest.mark.serial]


async def test_tui_goes_stale_stays_up_recovers_and_never_writes(lab_daemon, swarm, recipe_repo):
    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    proxy = EngineProxy()
    app = AppOptions(source=SwarmSource(proxy.url), stack=stack, service="app", cursor_blink=False,
                     resolver=lambda st, sv: resolve_target(st, sv, str(recipe.path))).build()

    async def until(mode: str, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while app.main.view is None or app.main.view.mode != mode:
            assert loop.time() < deadline, f"never {mode}; last: {app.main.view and app.main.view.mode}"
            await asyncio.sleep(0.2)

    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await until(LIVE, 60)
            await app.wait_settled()  # the recipe is read: the verdict is in
            verdict = app.main.view.verdict
            assert verdict is not None and verdict.kind == "stamp-mismatch", verdict  # base runs, HEAD is the head
            await asyncio.to_thread(lab_daemon.stop)
            await until(STALE, 60)
            await pilot.pause()
            assert "STALE" in screen_text(app)
            assert app.main.view.verdict == verdict  # the last good observation stays on screen
            assert app.is_running
            await asyncio.to_thread(lab_daemon.start)
            await until(LIVE, 90)
            await pilot.press("R", "S", "T")  # the re-run keys without --write: refused, nothing sent
            await pilot.pause()
    finally:
        proxy.close()
    assert len(proxy.requests) > 5
    assert proxy.writes() == [], proxy.writes()
