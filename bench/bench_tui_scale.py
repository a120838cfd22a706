"""TUI at scale: 500 services, the watched one with 2,500 tasks mid-update: refresh, picker, memory.

No swarm. Deploying 500 services and 2,500 tasks on the 2-core lab, which other people use at the
same time, would take the lab's whole capacity for many minutes, and the lab's timing would drive
the figures. Docker is not what this measures: it is what the TUI does with that much data. So a
fake source feeds the UI (as in tui_refresh and tui_picker), built by tui_refresh's `build` at this
scale: 500 replicas with five tasks per slot and a rolling update replacing one task per refresh.

- Refresh: main-thread CPU per refresh, from posting the view until its frame is painted, in the
  whole app; baseline in the same run: the same app with every table cleared and refilled
  (tui_refresh's baseline). Target (issue 16): the median at most 0.35x the baseline's median.
- Picker: opening the services picker of the 500-service stack (each service's last read shown)
  until painted, and a keystroke in it (tui_picker's keys and baseline at this size); printed for
  context. Opening builds every row, as the baseline does: no ratio target.
- Memory: the real TUI process in a 120x36 pty, twice: live (`python -m bench.bench_tui_scale --live`:
  the app's own live feed and watch threads polling a fake source every 0.2 s that hands out the
  update's reads in turn, the 500-service picker opened and typed in) and replaying a recording of
  the same update (`python -m ccci_tui replay`, stepped through every entry); resident memory
  (VmRSS, and the peak VmHWM) from /proc. Target: under 250 MB, both.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.bench_tui_first_paint import _ANSI, spawn
from bench.bench_tui_refresh import bench_app, build, painted, refill_tables, render, views_of
from bench.common import BenchError, fmt, percentile, ratio, ratio_verdict, table

NAME = "tui_scale"
NEEDS_LAB = False  # a fake source feeds the UI: see the docstring
SERVICES = 500
REPLICAS = 500
HISTORY = 5  # tasks per slot: 2,500 in all
FULL_STEPS = 24
QUICK_STEPS = 12
PICKER_OPENS = 5
TARGET_RATIO = 0.35  # issue 16: ours/clear-and-refill, medians of the same run
RSS_LIMIT_MB = 250.0  # issue 16: the TUI's resident memory at this scale
TIMEOUT_S = 60.0


def _refresh(views: list[Any]) -> tuple[list[float], list[float]]:
    ours = asyncio.run(render(views))
    diffing = refill_tables()
    try:
        naive = asyncio.run(render(views))
    finally:
        from ccci_tui.tui.widgets.synced_table import SyncedTable

        SyncedTable.sync = diffing  # type: ignore[method-assign]
    return ours, naive


def _services(observations: list[Any]) -> Any:
    """The stack as the services picker lists it: 500 services, each with its last read."""
    from ccci_tui.tui.stacks import StackServices

    last = observations[-1].service
    return StackServices("bench", tuple(
        replace(last, id=f"svc{i:03d}", name=f"bench_s{i:03d}", update_status=last.update_status if i % 7 else None)
        for i in range(SERVICES)))


async def _open_picker(stack: Any) -> list[float]:
    """Main-thread CPU from pushing the services picker until it is painted, each of PICKER_OPENS opens."""
    from ccci_tui.tui.screens.picker import PickerScreen

    times: list[float] = []
    async with bench_app() as (app, pilot):
        for _ in range(PICKER_OPENS):
            picker = PickerScreen([stack], current=("bench", "s000"), stack="bench")
            t0 = time.thread_time()
            app.push_screen(picker)
            await painted(app, lambda p=picker: p.is_mounted and app.screen is p)
            times.append((time.thread_time() - t0) * 1000)
            app.pop_screen()
            await pilot.pause()
    return times


async def _fill_bare(stack: Any) -> list[float]:
    """The rebuild baseline's fill at the empty query: a bare Input and OptionList given every option."""
    from textual.app import App, ComposeResult
    from textual.widgets import Input, OptionList

    from ccci_tui.tui.picker_rows import picker_options

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Input(id="f")
            yield OptionList(id="l")

    app = Bare()
    times: list[float] = []
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        theme = app.current_theme
        colours = {"ok": theme.success or "green", "info": theme.warning or "yellow", "error": theme.error or "red"}
        olist = app.query_one(OptionList)
        for _ in range(PICKER_OPENS):
            t0 = time.thread_time()
            olist.clear_options()
            olist.add_options(picker_options([stack], "", colours, ("bench", "s000")))
            olist.highlighted = 1
            await painted(app, lambda: True)
            times.append((time.thread_time() - t0) * 1000)
    return times


def _keystrokes(keys: tuple[str, ...]) -> tuple[list[float], list[float]]:
    from bench.bench_tui_picker import _ours, _rebuild
    from ccci_tui.sources.swarm import StackSummary

    stacks = (StackSummary("bench", tuple(f"bench_s{i:03d}" for i in range(SERVICES)), "updating"),)
    return asyncio.run(_ours(stacks, keys)), asyncio.run(_rebuild(stacks, keys))


def _record(observations: list[Any], path: Path) -> None:
    from ccci_tui.sources.recording import RecordingWriter, new_header

    with RecordingWriter(path, new_header("bench", "app", source="bench: a fake source at scale")) as writer:
        for obs in observations:
            writer.observation(obs)


def _status_kb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return float(line.split()[1])
    raise BenchError(f"no {field} in /proc/{pid}/status")


def _rss(observations: list[Any]) -> tuple[float, float, int]:
    """(VmRSS MB after stepping through every entry, VmHWM MB, entries) of the real TUI replaying the update."""
    with tempfile.TemporaryDirectory(prefix="ccci-bench-scale-") as tmp:
        path = Path(tmp) / "scale.jsonl.gz"
        _record(observations, path)
        run = spawn([sys.executable, "-m", "ccci_tui", "replay", str(path)], needle=b"REPLAY")
        try:
            if run.wait_for(TIMEOUT_S) is None:
                raise BenchError(f"the replay of {path.name} never painted within {TIMEOUT_S:g} s")
            time.sleep(2.0)  # settled on its first view
            entries = len(observations) * 3  # step through the update's entries, one view each
            for _ in range(entries):
                run.send(b"n")
                time.sleep(0.02)
            time.sleep(3.0)
            rss, peak = _status_kb(run.pid, "VmRSS") / 1024, _status_kb(run.pid, "VmHWM") / 1024
            run.send(b"q")
            run.wait_exit(10.0)
            return rss, peak, entries
        finally:
            run.kill()
            run.close()


class _ScaleSource:
    """The live source the `--live` TUI watches: each read is the next of the update's observations (in a
    loop), the stack's 500 services as the picker lists them; no events, no memory samples."""

    label = "bench (500 services, fake source)"

    def __init__(self, observations: list[Any], services: Any) -> None:
        import itertools
        import threading

        self._reads = itertools.cycle(observations)
        self._services = services
        self._lock = threading.Lock()

    def observe(self, stack: str, service: str = "app", at: Any = None) -> Any:
        with self._lock:
            return next(self._reads)

    def events(self, stack: str, on_event: Any, on_reconnect: Any = None, on_error: Any = None) -> Any:
        from tests.tui.support import FakeEvents

        return FakeEvents()

    def sample_memory(self, obs: Any) -> dict[str, int]:
        return {}

    def sample_containers(self, ids: Any) -> dict[str, int]:
        return {}

    def stacks(self) -> tuple[Any, ...]:
        from ccci_tui.sources.swarm import StackSummary

        return (StackSummary("bench", tuple(s.name for s in self._services.states), "updating"),)

    def services(self, stack: str) -> tuple[Any, ...]:
        return tuple(self._services.states) if stack == "bench" else ()


def _live_app(steps: int) -> None:
    """`--live`: the TUI watching the update through its live feed (run in a pty by `_rss_live`)."""
    from ccci_tui.tui.app import AppOptions

    observations, _ = build(steps, SERVICES, REPLICAS, HISTORY)
    source = _ScaleSource(observations, _services(observations))
    AppOptions(source=source, stack="bench", service="s000", poll_interval=0.2, memory_interval=None,
               cursor_blink=False).build().run()


def _rss_live(steps: int) -> tuple[float, float]:
    """(VmRSS MB, VmHWM MB) of the live TUI after 10 s of 0.2 s polls and the picker opened and typed in."""
    run = spawn([sys.executable, "-m", "bench.bench_tui_scale", "--live", "--steps", str(steps)], needle=b"tasks")
    try:
        if run.wait_for(TIMEOUT_S) is None:
            raise BenchError(f"the live TUI never showed its tasks within {TIMEOUT_S:g} s")
        time.sleep(5.0)  # 25 polls of 2,500 tasks
        run.send(b"w")  # the stack's 500 services
        time.sleep(2.0)
        for key in b"s12":
            run.send(bytes([key]))
            time.sleep(0.1)
        time.sleep(1.0)
        with run.lock:
            shown = _ANSI.sub(b"", bytes(run.output))
        if b"s120" not in shown:  # the list shows s000... until "s12" filters it
            raise BenchError("the live TUI's services picker never showed the filtered services")
        run.send(b"\x1b")
        time.sleep(5.0)
        rss, peak = _status_kb(run.pid, "VmRSS") / 1024, _status_kb(run.pid, "VmHWM") / 1024
        run.send(b"q")
        run.wait_exit(10.0)
        return rss, peak
    finally:
        run.kill()
        run.close()


def run(args: Any) -> dict[str, Any]:
    quick = getattr(args, "quick", False)
    steps = QUICK_STEPS if quick else FULL_STEPS
    observations, _ = build(steps, SERVICES, REPLICAS, HISTORY)
    tasks = len(observations[-1].tasks)
    print(f"  {tasks} tasks in the watched service, {SERVICES} services in the stack, {steps} refreshes ...",
          flush=True)
    views, feed_ms = views_of(observations)
    ours, naive = _refresh(views)
    stack = _services(observations)
    opens, bare = asyncio.run(_open_picker(stack)), asyncio.run(_fill_bare(stack))
    from bench.bench_tui_picker import QUICK_KEYS

    keys_ours, keys_base = _keystrokes(QUICK_KEYS)
    rss, peak, stepped = _rss(observations)
    live_rss, live_peak = _rss_live(steps)

    med, nmed = statistics.median(ours), statistics.median(naive)
    omed, bmed = statistics.median(opens), statistics.median(bare)
    kmed, kbmed = statistics.median(keys_ours), statistics.median(keys_base)
    print()
    print(f"Main-thread CPU, ms ({tasks} tasks mid-update, {SERVICES} services)")
    print()
    print(table(
        ["", "median", "p95", "ratio vs baseline"],
        [["refresh, ours: rows diffed by key, changed rows redrawn", fmt(med, 1), fmt(percentile(ours, 95), 1),
          fmt(ratio(med, nmed), 2, "x")],
         ["refresh, baseline: tables cleared and refilled", fmt(nmed, 1), fmt(percentile(naive, 95), 1), "1.00x"],
         [f"picker opens ({SERVICES} services with their last read)", fmt(omed, 1),
          fmt(percentile(opens, 95), 1), fmt(ratio(omed, bmed), 2, "x")],
         ["  context: a bare OptionList given every option", fmt(bmed, 1), fmt(percentile(bare, 95), 1), "1.00x"],
         [f"picker keystroke over {SERVICES} services", fmt(kmed, 1), fmt(percentile(keys_ours, 95), 1),
          fmt(ratio(kmed, kbmed), 2, "x")],
         ["  context: clear the OptionList, add every option back", fmt(kbmed, 1),
          fmt(percentile(keys_base, 95), 1), "1.00x"]],
    ))
    print()
    feed = statistics.median(feed_ms)
    print(f"feed thread per refresh (fold + diagnose, off the main thread): median {fmt(feed, 1)} ms")
    print(f"the real TUI replaying the update ({stepped} steps): RSS {fmt(rss, 0)} MB, peak {fmt(peak, 0)} MB "
          f"(limit {RSS_LIMIT_MB:g} MB)")
    r, refresh_ok = ratio_verdict(med, nmed, TARGET_RATIO, f"clear-and-refill's median {fmt(nmed, 1)} ms, this run")
    print(f"the real TUI live on the update (0.2 s polls, the picker opened): RSS {fmt(live_rss, 0)} MB, peak "
          f"{fmt(live_peak, 0)} MB")
    rss_ok = max(peak, live_peak) < RSS_LIMIT_MB
    print(f"target: peak RSS < {RSS_LIMIT_MB:g} MB: live {fmt(live_peak, 0)} MB, replay {fmt(peak, 0)} MB -> "
          f"{'PASS' if rss_ok else 'FAIL'}")
    return {
        "tasks": tasks, "services": SERVICES, "refreshes": len(ours), "ours_ms": ours, "naive_ms": naive,
        "ours_median_ms": med, "naive_median_ms": nmed, "ratio": r, "target_ratio": TARGET_RATIO,
        "target_ms": TARGET_RATIO * nmed, "picker_open_ms": opens, "picker_open_median_ms": omed,
        "bare_fill_median_ms": bmed, "picker_key_median_ms": kmed, "picker_key_baseline_median_ms": kbmed,
        "rss_mb": rss, "peak_rss_mb": peak, "live_rss_mb": live_rss, "live_peak_rss_mb": live_peak,
        "rss_limit_mb": RSS_LIMIT_MB,
        "passed": refresh_ok and rss_ok,
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--live", action="store_true", help="run the live TUI on the fake source (for _rss_live)")
    parser.add_argument("--steps", type=int, default=QUICK_STEPS)
    cli = parser.parse_args()
    if cli.live:
        _live_app(cli.steps)
    else:
        run(cli)
