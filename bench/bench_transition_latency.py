"""Observe: engine time of each UpdateStatus transition to the source reporting it, vs a raw event stream.

For every `updatestate.new` service event of a few lab upgrades, the latency is the time from the
event's `timeNano` to the first callback of `LiveWatch` carrying that state: `on_event` with the
event whose `updatestate.new` it is (what the timeline folds as the transition, DESIGN.md fact 6), or
`on_observation` with a read whose UpdateStatus.State it is, whichever came first. The read that
carries the state (the truth a verdict is made from) is measured too, in its own column. The
baseline (issue 16: the best possible listener) is a raw Engine API event stream in the same
process: a thread reading GET /events on the lab socket with the filters LiveWatch's event thread
uses (type service and container), its latency the time the event was read. Target: ours at most
1.2x the raw stream at the median, same run. For contrast, a plain loop calling `inspect_service`
every second watches the same upgrades at the same time.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    STACK_PREFIX,
    BenchError,
    Lab,
    fmt,
    percentile,
    ratio,
    ratio_verdict,
    table,
    wait_until,
)

NAME = "transition_latency"
TARGET_RATIO = 1.2  # issue 16: ours/raw event stream, medians of the same run
BASELINE_INTERVAL_S = 1.0
UPGRADE_TIMEOUT_S = 120.0
TERMINAL = frozenset({"completed", "paused", "rollback_completed", "rollback_paused"})
# (label, head script of tests.support.recipes): "base" converges, "contention" rolls back
FULL_PLAN = (("converge", "base"), ("rollback", "contention"), ("converge", "base"), ("rollback", "contention"))
QUICK_PLAN = FULL_PLAN[:2]

Seen = list[tuple[int, str | None]]  # (wall clock ns when reported, UpdateStatus.State)


@dataclass(frozen=True)
class Transition:
    """One `updatestate.new` service event as the engine stamped it."""

    service: str
    state: str
    engine_ns: int
    received_ns: int  # wall clock when the raw stream read it: the best possible listener


@dataclass(frozen=True)
class Measured:
    """One transition and how long each watcher took to report it (None: never reported)."""

    upgrade: int
    kind: str
    state: str
    ours_ms: float | None
    read_ms: float | None  # ours, the first read carrying the state
    raw_ms: float | None
    poll_ms: float | None


class TransitionListener:
    """A raw Engine API event stream (GET /events, LiveWatch's filters) read by a thread in this process,
    separate from the code under test: the reference timestamps, and the best possible listener."""

    def __init__(self) -> None:
        import docker

        self._client: Any = docker.from_env(timeout=60)
        # the request returns once the daemon has subscribed us, so nothing later is missed
        self._stream: Any = self._client.api.events(filters={"type": ["service", "container"]}, decode=True)
        self._lock = threading.Lock()
        self._transitions: list[Transition] = []
        self._thread = threading.Thread(target=self._run, name="bench-raw-events", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # closing the stream from `close` ends the iteration with an error: that is the stop signal
        with contextlib.suppress(Exception):
            for raw in self._stream:
                received = time.time_ns()
                attrs = (raw.get("Actor") or {}).get("Attributes") or {}
                new, name, nanos = attrs.get("updatestate.new"), attrs.get("name", ""), raw.get("timeNano")
                if new and name.startswith(STACK_PREFIX) and isinstance(nanos, int):
                    with self._lock:
                        self._transitions.append(Transition(name, str(new), nanos, received))

    def of(self, service: str) -> list[Transition]:
        with self._lock:
            return [t for t in self._transitions if t.service == service]

    def close(self) -> None:
        for thing in (self._stream, self._client):
            with contextlib.suppress(Exception):
                thing.close()
        self._thread.join(2.0)


class PollingBaseline:
    """The plain way: inspect the service every second, noting each state and when it was read."""

    def __init__(self, service: str, interval: float = BASELINE_INTERVAL_S) -> None:
        import docker

        self.service = service
        self.interval = interval
        self.seen: Seen = []
        self.calls = 0
        self._client: Any = docker.from_env(timeout=10)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-1s-poll", daemon=True)

    def start(self) -> PollingBaseline:
        self._thread.start()
        return self

    def _run(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            self.calls += 1
            try:
                raw = self._client.api.inspect_service(self.service)
            except Exception:  # noqa: BLE001 - a failed read is just a poll that saw nothing
                pass
            else:
                self.seen.append((time.time_ns(), (raw.get("UpdateStatus") or {}).get("State")))
            next_tick += self.interval  # a fixed rate, as `watch -n 1` would poll
            self._stop.wait(max(0.0, next_tick - time.monotonic()))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(self.interval + 11.0)
        self._client.close()


def first_report(seen: Seen, state: str, not_before_ns: int) -> int | None:
    """When `state` was first reported at or after `not_before_ns`, or None (`seen` is appended to by
    two threads, so not necessarily in time order)."""
    return min((ns for ns, s in seen if s == state and ns >= not_before_ns), default=None)


def latencies_ms(transitions: Sequence[Transition], seen: Seen, start_ns: int) -> list[float | None]:
    """Per transition, ms from the engine's timestamp to the first report of its state after the
    previous transition (so an earlier visit to the same state does not count)."""
    out: list[float | None] = []
    floor = start_ns
    for t in transitions:
        ns = first_report(seen, t.state, floor)
        out.append(None if ns is None else (ns - t.engine_ns) / 1e6)
        floor = t.engine_ns
    return out


def _running(client: Any, service: str) -> bool:
    tasks = client.api.tasks(filters={"service": service, "desired-state": "running"})
    return any(t["Status"]["State"] == "running" for t in tasks)


def _state(obs: Any) -> str | None:
    svc = obs.service
    return svc.update_status.state if svc is not None and svc.update_status is not None else None


def _one_upgrade(lab: Lab, listener: TransitionListener, recipe: Any, index: int, kind: str) -> dict[str, Any]:
    from ccci_tui.sources.live import LiveWatch
    from ccci_tui.sources.swarm import SwarmSource
    from tests.support.deploy import deploy_recipe
    from tests.support.recipes import BASE_TAG

    stack = lab.new_stack("l")
    service = f"{stack}_app"
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    wait_until(f"{service} to run its base task", lambda: _running(lab.client, service), 60)

    ours: Seen = []  # each report: an event carrying a transition, or a read
    reads: Seen = []
    errors: list[str] = []

    def on_observation(obs: Any) -> None:
        seen = (time.time_ns(), _state(obs))
        reads.append(seen)
        ours.append(seen)

    def on_event(ev: Any) -> None:
        new = ev.attributes.get("updatestate.new") if ev.type == "service" and ev.service == service else None
        if new:
            ours.append((time.time_ns(), new))

    source = SwarmSource()
    watch = LiveWatch(source, stack, "app", on_observation=on_observation, on_event=on_event, on_error=errors.append)
    baseline = PollingBaseline(service)
    try:
        watch.start()
        baseline.start()
        wait_until("the first reads of both watchers", lambda: bool(reads and baseline.seen), 15)
        # a real poller's phase is unrelated to when an upgrade starts; without this pause every
        # run would deploy right after a poll and the baseline would look alike run after run
        time.sleep(random.uniform(0.0, BASELINE_INTERVAL_S))
        calls0, polls0 = source.api_calls, baseline.calls
        start_ns, t0 = time.time_ns(), time.monotonic()
        deploy_recipe(recipe.path, stack)  # HEAD, as `abra app deploy --chaos` does
        wait_until(
            f"{service} to finish its update",
            lambda: bool((ts := listener.of(service)) and ts[-1].state in TERMINAL),
            UPGRADE_TIMEOUT_S,
        )
        elapsed = time.monotonic() - t0
        calls, polls = source.api_calls - calls0, baseline.calls - polls0
        final = listener.of(service)[-1]
        # the 1 s loop sees the final state up to a second later: give both watchers that long
        with contextlib.suppress(BenchError):  # one that never sees it is counted as missed
            wait_until(
                "both watchers to see the final state",
                lambda: all(first_report(seen, final.state, start_ns) is not None for seen in (reads, baseline.seen)),
                3 * BASELINE_INTERVAL_S,
                interval=0.05,
            )
    finally:
        watch.close()
        baseline.close()
        source.close()
        lab.remove_stack(stack)

    transitions = listener.of(service)
    rows = [
        Measured(index, kind, t.state, o, r, (t.received_ns - t.engine_ns) / 1e6, p)
        for t, o, r, p in zip(
            transitions,
            latencies_ms(transitions, ours, start_ns),
            latencies_ms(transitions, reads, start_ns),
            latencies_ms(transitions, baseline.seen, start_ns),
            strict=True,
        )
    ]
    return {
        "stack": stack,
        "kind": kind,
        "states": [t.state for t in transitions],
        "seconds": round(elapsed, 2),
        "ours_api_calls": calls,
        "poll_api_calls": polls,
        "ours_errors": errors,
        "measured": rows,
    }


def _summary(values: Sequence[float | None]) -> dict[str, Any]:
    got = [v for v in values if v is not None]
    return {
        "n": len(got),
        "missed": len(values) - len(got),
        "median_ms": percentile(got, 50),
        "p95_ms": percentile(got, 95),
        "max_ms": max(got) if got else None,
    }


def run(args: Any) -> dict[str, Any]:
    """Run the plan (two upgrades with --quick, else four) and print per-transition latencies."""
    from tests.support.recipes import build_recipe

    plan = QUICK_PLAN if getattr(args, "quick", False) else FULL_PLAN
    upgrades: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ccci-bench-") as tmp, Lab() as lab:
        recipes = {
            script: build_recipe(Path(tmp) / script, head_script=script) for script in sorted({s for _, s in plan})
        }
        listener = TransitionListener()
        try:
            for i, (kind, script) in enumerate(plan, start=1):
                print(f"  upgrade {i}/{len(plan)}: base -> head ({kind}) ...", flush=True)
                upgrades.append(_one_upgrade(lab, listener, recipes[script], i, kind))
        finally:
            listener.close()

    measured: list[Measured] = [m for u in upgrades for m in u["measured"]]
    ours = _summary([m.ours_ms for m in measured])
    read = _summary([m.read_ms for m in measured])
    raw = _summary([m.raw_ms for m in measured])
    poll = _summary([m.poll_ms for m in measured])
    median_ratio = ratio(ours["median_ms"], raw["median_ms"])
    verdict = {
        "median_ratio": median_ratio is not None and median_ratio <= TARGET_RATIO,
        "none_missed": ours["missed"] == 0,
    }
    seconds = sum(u["seconds"] for u in upgrades)
    calls = {
        "ours_per_s": ratio(sum(u["ours_api_calls"] for u in upgrades), seconds),
        "poll_per_s": ratio(sum(u["poll_api_calls"] for u in upgrades), seconds),
    }
    _print(upgrades, measured, ours, read, raw, poll, verdict, calls)
    ratio_verdict(ours["median_ms"], raw["median_ms"], TARGET_RATIO,
                  f"the raw event stream's median {fmt(raw['median_ms'])} ms, this run", "ours/raw stream (median)")
    return {
        "target_ratio": TARGET_RATIO,
        "ratio": median_ratio,
        "baseline": "raw GET /events stream (type service+container) read by a thread in this process",
        "contrast": f"inspect_service every {BASELINE_INTERVAL_S:g} s",
        "raw_events": raw,
        "upgrades": [{**u, "measured": [asdict(m) for m in u["measured"]]} for u in upgrades],
        "ours": ours,
        "ours_read": read,
        "poll_1s": poll,
        "ratio_read_over_raw": ratio(read["median_ms"], raw["median_ms"]),  # the truth read, not a target
        "ratio_poll_over_ours": {
            "median": ratio(poll["median_ms"], ours["median_ms"]),  # the contrast row
            "p95": ratio(poll["p95_ms"], ours["p95_ms"]),
        },
        "api_calls_per_s": calls,
        "pass": verdict,
        "passed": all(verdict.values()),
    }


def _print(
    upgrades: list[dict[str, Any]],
    measured: list[Measured],
    ours: dict[str, Any],
    read: dict[str, Any],
    raw: dict[str, Any],
    poll: dict[str, Any],
    verdict: dict[str, bool],
    calls: dict[str, float | None],
) -> None:
    print()
    print(f"Transition latency: engine timeNano -> reported ({len(upgrades)} upgrades, {len(measured)} transitions)")
    print("ours = LiveWatch's first report (the event carrying the transition, or a read; 2 s poll);"
          " ours read = its first read showing the state; raw = GET /events read by a thread in this process"
          " (baseline); poll = inspect_service every 1 s (contrast); same upgrades")
    print()
    rows = [
        [m.upgrade, m.kind, m.state, fmt(m.ours_ms), fmt(m.read_ms), fmt(m.raw_ms),
         fmt(ratio(m.ours_ms, m.raw_ms), 2, "x"), fmt(m.poll_ms)]
        for m in measured
    ]
    print(table(["#", "upgrade", "state", "ours ms", "ours read ms", "raw stream ms", "ours/raw", "1 s poll ms"],
                rows, left=3))
    print()

    def row(label: str, key: str, target: str = "", ok: bool | None = None) -> list[object]:
        verdict_cell = "" if ok is None else ("PASS" if ok else "FAIL")
        return [label, fmt(ours[key]), fmt(read[key]), fmt(raw[key]), fmt(ratio(ours[key], raw[key]), 2, "x"),
                fmt(poll[key]), fmt(ratio(poll[key], ours[key]), 1, "x"), target, verdict_cell]

    summary = [
        row("median ms", "median_ms", f"<= {TARGET_RATIO:g}x raw", verdict["median_ratio"]),
        row("p95 ms", "p95_ms"),
        row("max ms", "max_ms"),
        ["missed", ours["missed"], read["missed"], raw["missed"], "", poll["missed"], "", "0",
         "PASS" if verdict["none_missed"] else "FAIL"],
        ["API calls/s", fmt(calls["ours_per_s"]), "", "-", "", fmt(calls["poll_per_s"]),
         fmt(ratio(calls["poll_per_s"], calls["ours_per_s"]), 2, "x"), "", ""],
    ]
    print(table(["", "ours", "ours read", "raw stream", "ours/raw", "1 s poll", "poll/ours", "target", "verdict"],
                summary))
    print()
