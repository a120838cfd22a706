"""TUI: main-thread time per live refresh with 200 services and 1,000 tasks, vs clear-and-refill tables.

A synthetic stack of 200 services; the watched one has 200 replicas with five tasks per slot
(1,000 tasks) and a rolling update moving through it: each refresh replaces a few tasks and adds
their timeline entries, as a poll during an update does. The feed thread folds the observation
and diagnoses (timed separately); the main thread only renders the view. Main-thread time is the
CPU time of the app's thread from posting the view until the frame is painted (Textual's headless
driver composes every frame like a terminal one). The baseline renders the same views with tables
that are cleared and refilled on every refresh. A picker keystroke over the 200 services is timed too.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import fmt, percentile, ratio, table

NAME = "tui_refresh"
TARGET_MS = 30.0
SERVICES = 200
REPLICAS = 200
HISTORY = 5  # tasks per slot: 1,000 in all
FULL_STEPS = 40
QUICK_STEPS = 12
_T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _build(steps: int) -> tuple[list[Any], tuple[Any, ...]]:
    """Observations of a 1,000-task service mid-update, and a 200-service stack list."""
    from ccci_tui.domain.model import (
        ROLE_CURRENT, ROLE_PREVIOUS, Observation, ServiceState, SpecSummary, TaskState, UpdatePolicy, UpdateStatus,
    )
    from ccci_tui.sources.swarm import StackSummary

    stack = "bench"
    old = SpecSummary(labels={f"coop-cloud.{stack}.chaos-version": "eb96de94"}, image="app:1", template_fp="a" * 12,
                      update_config=UpdatePolicy(order="start-first", failure_action="rollback"), replicas=REPLICAS,
                      memory_limit=64 << 20)
    new = replace(old, labels={f"coop-cloud.{stack}.chaos-version": "7ae7b0f7"}, image="app:2", template_fp="b" * 12)
    tasks: dict[str, TaskState] = {}
    for slot in range(1, REPLICAS + 1):
        for h in range(HISTORY):
            tid = f"t{slot:04d}h{h}".ljust(25, "x")
            live = h == HISTORY - 1
            tasks[tid] = TaskState(
                id=tid, slot=slot, node_id="node1", desired="running" if live else "shutdown",
                state="running" if live else "shutdown", exit_code=None if live else 0,
                created_at=_T0 + timedelta(seconds=slot + h), updated_at=_T0 + timedelta(seconds=slot + h),
                spec_fp=old.template_fp, role=ROLE_PREVIOUS, oom_killed=False if live else None,
                memory_bytes=(20 << 20) if live else None, memory_limit=64 << 20,
            )
    observations = []
    for step in range(steps + 1):
        at = _T0 + timedelta(minutes=10, seconds=step)
        if step:  # the update replaces one slot's task per refresh: shut the old one, start a new one
            slot = step
            live_old = f"t{slot:04d}h{HISTORY - 1}".ljust(25, "x")
            tasks[live_old] = replace(tasks[live_old], desired="shutdown", state="shutdown", exit_code=0,
                                      updated_at=at)
            tid = f"n{slot:04d}".ljust(25, "x")
            tasks[tid] = TaskState(id=tid, slot=slot, node_id="node1", desired="running", state="running",
                                   created_at=at, updated_at=at, spec_fp=new.template_fp, role=ROLE_CURRENT,
                                   oom_killed=False, memory_bytes=18 << 20, memory_limit=64 << 20)
        status = UpdateStatus("updating", started_at=_T0 + timedelta(minutes=10), message="update in progress")
        svc = ServiceState(id="svc", name=f"{stack}_app", stack=stack, index=100 + step, spec=new if step else old,
                           previous_spec=old if step else None, update_status=status if step else None,
                           updated_at=at)
        observations.append(Observation(at=at, service=svc, tasks=tuple(tasks.values())))
    names = tuple(f"{stack}_s{i:03d}" for i in range(SERVICES))
    stacks = (StackSummary(stack, names, "updating"),)
    return observations, stacks


def _views(observations: list[Any]) -> tuple[list[Any], list[float]]:
    """Views as the live feed's thread builds them, and that thread's time per refresh."""
    from ccci_tui.domain.timeline import TimelineBuilder
    from ccci_tui.domain.verdict import Expectation
    from ccci_tui.tui.view import LIVE, View, verdict_for

    builder = TimelineBuilder()
    views, feed_ms = [], []
    for obs in observations:
        t0 = time.thread_time()
        builder.add_observation(obs)
        snap = builder.snapshot()
        classified = builder.classify(obs)
        verdict = verdict_for(classified, None, Expectation(), snap)
        views.append(View(mode=LIVE, source="bench", stack="bench", service="app", observation=classified,
                          timeline=snap, attempted=snap.attempted_spec, verdict=verdict))
        feed_ms.append((time.thread_time() - t0) * 1000)
    return views, feed_ms


def _naive_tables() -> None:
    """Swap the diffing `sync` for clear-and-refill (the baseline)."""
    from ccci_tui.tui.widgets.synced_table import SyncedTable

    def refill(self: Any, rows: Any) -> bool:
        cursor = self.cursor_row
        with self.app.batch_update():
            self.clear()
            for key, cells in rows:
                self.add_row(*cells, key=key)
            self._order = [k for k, _ in rows]
            self._cells = {k: tuple(c) for k, c in rows}
            if self.row_count:
                self.move_cursor(row=min(cursor, self.row_count - 1), animate=False, scroll=False)
        return True

    SyncedTable.sync = refill  # type: ignore[method-assign]


async def _render(views: list[Any], stacks: tuple[Any, ...]) -> tuple[list[float], float]:
    from ccci_tui.tui.app import create_app
    from ccci_tui.tui.screens.picker import PickerScreen

    class Idle:
        label = "bench"

    app = create_app(source=Idle(), stack=None, cursor_blink=False)
    times: list[float] = []
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await app.pop_screen()  # live without a stack opens the picker; here views come from the bench
        await pilot.pause()
        for i, view in enumerate(views):
            t0 = time.thread_time()
            app.publish_view(view)
            await pilot.pause()
            await pilot.pause()  # the message, then the frame it caused
            if i:  # the first view builds the tables from nothing: not a refresh
                times.append((time.thread_time() - t0) * 1000)
        app.push_screen(PickerScreen(stacks))
        await pilot.pause()
        t0 = time.thread_time()
        await pilot.press("s", "0", "1")
        picker_ms = (time.thread_time() - t0) * 1000 / 3
    return times, picker_ms


def run(args: Any) -> dict[str, Any]:
    steps = QUICK_STEPS if getattr(args, "quick", False) else FULL_STEPS
    observations, stacks = _build(steps)
    print(f"  {len(observations[-1].tasks)} tasks in the watched service, {SERVICES} services in the stack, "
          f"{steps} refreshes ...", flush=True)
    views, feed_ms = _views(observations)
    ours, picker_ms = asyncio.run(_render(views, stacks))
    from ccci_tui.tui.widgets.synced_table import SyncedTable

    diffing = SyncedTable.sync
    _naive_tables()
    try:
        naive, _ = asyncio.run(_render(views, stacks))
    finally:
        SyncedTable.sync = diffing  # type: ignore[method-assign]
    med, p95 = statistics.median(ours), percentile(ours, 95)
    nmed, np95 = statistics.median(naive), percentile(naive, 95)
    passed = med < TARGET_MS
    print()
    print("Main-thread CPU per refresh, ms (1,000 tasks; tasks and timeline tables; header, banner, panes)")
    print()
    print(table(
        ["", "median", "p95", "max", "ratio vs baseline"],
        [["ours: rows diffed by key, cells updated", fmt(med, 1), fmt(p95, 1), fmt(max(ours), 1),
          fmt(ratio(med, nmed), 2, "x")],
         ["baseline: clear and refill the tables", fmt(nmed, 1), fmt(np95, 1), fmt(max(naive), 1), "1.00x"]],
    ))
    print()
    print(f"feed thread per refresh (fold + diagnose, off the main thread): median {fmt(statistics.median(feed_ms), 1)} ms")
    print(f"picker over {SERVICES} services, per keystroke: {fmt(picker_ms, 1)} ms")
    print(f"target: median under {TARGET_MS:g} ms -> {'PASS' if passed else 'FAIL'}")
    return {
        "tasks": len(observations[-1].tasks), "services": SERVICES, "refreshes": len(ours),
        "ours_ms": ours, "naive_ms": naive, "ours_median_ms": med, "ours_p95_ms": p95, "naive_median_ms": nmed,
        "ratio": ratio(med, nmed), "feed_thread_median_ms": statistics.median(feed_ms), "picker_keystroke_ms": picker_ms,
        "target_ms": TARGET_MS, "passed": passed,
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args())
