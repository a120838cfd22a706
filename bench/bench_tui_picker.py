"""TUI: main-thread time per keystroke in the stack picker over 200 services, vs rebuilding the whole list.

No swarm: a fake stacks list (one stack of 200 services, `StackSummary` as `SwarmSource.stacks()`
returns it). Ours is the real `PickerScreen` in the real app, driven by Textual's `run_test` pilot:
each keystroke goes through the Input, the filter, the OptionList and the frame it causes. The
baseline, in the same run and the same way: a bare screen with an Input and an OptionList whose
every keystroke clears the list and adds back `picker_options` for the query, the whole list
rebuilt. Main-thread time is the CPU time of the app's thread from the key until its frame is
painted. The two sides run in alternating rounds (a fresh app each), so a drift in the machine's speed
hits both; each side's median is over the keystrokes of all its rounds. Target (issue 16): the median
at most 0.5x the baseline's median.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from bench.bench_tui_refresh import bench_app, painted
from bench.common import BenchError, fmt, percentile, ratio, ratio_verdict, table

NAME = "tui_picker"
NEEDS_LAB = False  # a fake stacks list: no swarm needed
TARGET_RATIO = 0.5  # issue 16: ours/rebuild-the-whole-list, medians of the same run
SERVICES = 200
# typed, then erased, then typed again: narrowing, widening and an empty filter (all 200 rows)
FULL_KEYS = ("s", "1", "2", "backspace", "backspace", "backspace", "0", "5", "backspace", "backspace") * 3
QUICK_KEYS = FULL_KEYS[:10]
FULL_ROUNDS = 4  # rounds per side, alternating with the baseline's
QUICK_ROUNDS = 3


def _stacks() -> tuple[Any, ...]:
    from ccci_tui.sources.swarm import StackSummary

    stack = "bench"
    return (StackSummary(stack, tuple(f"{stack}_s{i:03d}" for i in range(SERVICES)), "updating"),)


async def _press_each(pilot: Any, keys: tuple[str, ...]) -> list[float]:
    """Main-thread CPU from a key reaching the app until the frame it caused is painted (`painted`, as
    tui_refresh measures a refresh). The key goes in as the terminal driver delivers one; `pilot.press`
    and `pilot.pause` would add the test harness's own waits (~8-9 ms a key, on both sides) to it."""
    from textual import events
    from textual.widgets import Input

    app = pilot.app
    times = []
    typed = app.screen.query_one(Input).value
    for key in keys:
        t0 = time.thread_time()
        app._driver.send_message(events.Key(key, key if len(key) == 1 else None))
        await painted(app, lambda: True)
        times.append((time.thread_time() - t0) * 1000)
        typed = typed[:-1] if key == "backspace" else typed + key
        if app.screen.query_one(Input).value != typed:  # the key was taken, and its frame is the one timed
            raise BenchError(f"after {key!r} the filter says {app.screen.query_one(Input).value!r}, not {typed!r}")
    return times


async def _ours(stacks: tuple[Any, ...], keys: tuple[str, ...]) -> list[float]:
    from ccci_tui.tui.screens.picker import PickerScreen

    async with bench_app() as (app, pilot):  # its own picker has the fake list
        app.push_screen(PickerScreen(stacks))
        await pilot.pause()
        await pilot.pause()
        return await _press_each(pilot, keys)


async def _rebuild(stacks: tuple[Any, ...], keys: tuple[str, ...]) -> list[float]:
    from textual.app import App, ComposeResult
    from textual.widgets import Input, OptionList

    from ccci_tui.tui.picker_rows import picker_options

    class Rebuild(App[None]):
        def compose(self) -> ComposeResult:
            yield Input(id="f")
            yield OptionList(id="l")

        def on_mount(self) -> None:
            self.query_one(Input).cursor_blink = False
            self.query_one(Input).focus()
            self._fill("")

        def on_input_changed(self, event: Input.Changed) -> None:
            self._fill(event.value)

        def _fill(self, query: str) -> None:
            theme = self.current_theme
            colours = {"ok": theme.success or "green", "info": theme.warning or "yellow",
                       "error": theme.error or "red"}
            olist = self.query_one(OptionList)
            olist.clear_options()
            olist.add_options(picker_options(stacks, query, colours))
            olist.highlighted = 1 if olist.option_count > 1 else None

    app = Rebuild()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.pause()
        return await _press_each(pilot, keys)


def run(args: Any) -> dict[str, Any]:
    keys = QUICK_KEYS if getattr(args, "quick", False) else FULL_KEYS
    rounds = QUICK_ROUNDS if getattr(args, "quick", False) else FULL_ROUNDS
    stacks = _stacks()
    print(f"  {SERVICES} services, {len(keys)} keystrokes a round, {rounds} rounds per side alternating "
          "the picker and the rebuild baseline ...", flush=True)
    asyncio.run(_ours(stacks, keys[:3]))  # warm imports and caches for both sides
    asyncio.run(_rebuild(stacks, keys[:3]))
    ours: list[float] = []
    base: list[float] = []
    for i in range(rounds):  # alternating, ours first in even rounds: a drift in speed hits both sides
        for side in ((_ours, ours), (_rebuild, base)) if i % 2 == 0 else ((_rebuild, base), (_ours, ours)):
            side[1].extend(asyncio.run(side[0](stacks, keys)))
    med, bmed = statistics.median(ours), statistics.median(base)
    print()
    print(f"Main-thread CPU per keystroke in the picker over {SERVICES} services, ms (key -> frame painted)")
    print()
    print(table(
        ["", "median", "p95", "max", "ratio vs baseline"],
        [["ours: PickerScreen in the app", fmt(med, 1), fmt(percentile(ours, 95), 1), fmt(max(ours), 1),
          fmt(ratio(med, bmed), 2, "x")],
         ["baseline: clear the OptionList, add every option back", fmt(bmed, 1), fmt(percentile(base, 95), 1),
          fmt(max(base), 1), "1.00x"]],
    ))
    print()
    r, passed = ratio_verdict(med, bmed, TARGET_RATIO, f"the rebuild's median {fmt(bmed, 1)} ms, this run")
    return {
        "services": SERVICES, "keys": list(keys), "rounds": rounds, "ours_ms": ours, "baseline_ms": base,
        "ours_median_ms": med, "baseline_median_ms": bmed, "ratio": r, "target_ratio": TARGET_RATIO,
        "target_ms": TARGET_RATIO * bmed, "passed": passed,
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args())
