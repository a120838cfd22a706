"""The race-free convergence watcher: anchored to the deploy marker, woken by events, read by polls."""

from __future__ import annotations

import threading
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


class WatchTimeout(RuntimeError):
    """The daemon could not be read when the timeout came: no verdict can be trusted."""


def watch_until_terminal(
    source: SwarmSource,
    target: Target,
    expect: Expectation,
    timeout: float,
    on_error: Callable[[str], None] | None = None,
    on_observation: Callable[[Observation, Verdict], None] | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> Verdict:
    """Event-woken watch of one service until the verdict is terminal or `timeout` passes.

    `on_observation` and `on_event` see everything the watch sees (a recorder or a UI feed).
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
        done.wait(timeout)
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
