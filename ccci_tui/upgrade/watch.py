"""The race-free convergence watcher: anchored to the deploy marker, woken by events, read by polls."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ccci_tui.domain import verdict as v
from ccci_tui.domain.diagnose import diagnose
from ccci_tui.domain.model import Event, Observation
from ccci_tui.domain.timeline import TimelineBuilder
from ccci_tui.domain.verdict import Expectation, Verdict
from ccci_tui.headless.context import Target
from ccci_tui.sources.swarm import SwarmSource

# While waiting, these are not answers yet: a status older than the marker is never accepted.
NOT_YET = frozenset({v.IN_PROGRESS, v.STALE_STATUS})


# how often a cancellable watch looks at its cancel flag: the latency of a quit, not of a verdict
CANCEL_CHECK_S = 0.2


class WatchTimeout(RuntimeError):
    """The daemon could not be read when the timeout came: no verdict can be trusted."""


class WatchCancelled(RuntimeError):
    """The caller set the cancel flag before a verdict came."""


def watch_until_terminal(
    source: SwarmSource,
    target: Target,
    expect: Expectation,
    timeout: float,
    on_error: Callable[[str], None] | None = None,
    on_observation: Callable[[Observation, Verdict], None] | None = None,
    on_event: Callable[[Event], None] | None = None,
    cancel: threading.Event | None = None,
) -> Verdict:
    """Event-woken watch of one service until the verdict is terminal or `timeout` passes.

    `on_observation` and `on_event` see everything the watch sees (a recorder or a UI feed). Once
    `cancel` is set the watch stops within CANCEL_CHECK_S and raises WatchCancelled.
    """
    from ccci_tui.sources.live import LiveWatch

    builder = TimelineBuilder()
    lock = threading.Lock()
    done = threading.Event()
    state: dict[str, Any] = {"verdict": None, "error": None}

    def observed(obs: Observation) -> None:
        with lock:
            builder.add_observation(obs)
            verdict = diagnose(obs, target.recipe, replace(expect, now=obs.at), builder.snapshot())
            state["verdict"], state["error"] = verdict, None
        if on_observation is not None:
            on_observation(obs, verdict)
        if verdict.kind not in NOT_YET:
            done.set()

    def evented(ev: Event) -> None:
        with lock:
            builder.add_event(ev)
        if on_event is not None:
            on_event(ev)

    def failed(message: str) -> None:
        state["error"] = message
        if on_error is not None:
            on_error(message)

    watch = LiveWatch(source, target.stack, target.service, on_observation=observed, on_event=evented,
                      on_error=failed, poll_interval=1.0).start()
    try:
        _wait(done, timeout, cancel)
    finally:
        watch.close()
    verdict = state["verdict"]
    if verdict is None:
        raise WatchTimeout(f"gave up after {timeout:g} s: {state['error'] or 'no observation'}")
    if verdict.kind in NOT_YET and state["error"]:
        # the last read failed: say so rather than report a verdict from before the daemon went away
        raise WatchTimeout(f"gave up after {timeout:g} s: {state['error']} (last verdict before that: "
                           f"{verdict.kind}: {verdict.summary})")
    if verdict.kind in NOT_YET:
        extra = f" (last error: {state['error']})" if state["error"] else ""
        verdict = replace(verdict, summary=f"Timed out after {timeout:g} s: {verdict.summary}{extra}")
    return verdict


def _wait(done: threading.Event, timeout: float, cancel: threading.Event | None) -> None:
    if cancel is None:
        done.wait(timeout)
        return
    deadline = time.monotonic() + timeout
    while not done.is_set():
        if cancel.is_set():
            raise WatchCancelled("the watch was cancelled before a verdict came")
        left = deadline - time.monotonic()
        if left <= 0:
            return
        done.wait(min(left, CANCEL_CHECK_S))
