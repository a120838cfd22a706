"""The event stream on the real lab engine: each UpdateStatus transition is handed on from the stream,
and each wakes a read, with no poll tick to fall back on (DESIGN.md fact 6)."""

from __future__ import annotations

import threading
import time

import pytest

from ccci_tui.domain.model import Event, Observation
from ccci_tui.sources.live import LiveWatch
from ccci_tui.sources.swarm import SwarmSource
from tests.support.deploy import deploy_recipe
from tests.support.recipes import BASE_TAG

pytestmark = pytest.mark.live

NO_TICK_S = 3600.0  # longer than the test: every read after the first is woken by an event


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.parametrize(("head_script", "transitions"), [
    ("base", ["updating", "completed"]),
    ("contention", ["updating", "rollback_started", "rollback_completed"]),
])
def test_each_transition_comes_from_the_stream_and_wakes_a_read(swarm, recipe_repo, head_script, transitions):
    recipe = recipe_repo(head_script=head_script)
    stack = swarm.new_stack()
    service = f"{stack}_app"
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)

    lock = threading.Lock()
    events: list[str] = []
    reads: list[str | None] = []

    def on_event(ev: Event) -> None:
        new = ev.attributes.get("updatestate.new")
        if ev.type == "service" and ev.service == service and new:
            with lock:
                events.append(new)

    def on_observation(obs: Observation) -> None:
        st = obs.service.update_status if obs.service is not None else None
        with lock:
            reads.append(st.state if st is not None else None)

    watch = LiveWatch(SwarmSource(), stack, on_observation=on_observation, on_event=on_event,
                      poll_interval=NO_TICK_S).start()
    try:
        _wait(lambda: bool(reads), 15, "the first read")
        deploy_recipe(recipe.path, stack)
        _wait(lambda: transitions[-1] in reads, 120, f"a read showing {transitions[-1]}")
    finally:
        watch.close()

    with lock:
        assert events == transitions  # every transition, in order, from the stream itself
        assert reads[0] is None  # the base was a fresh service: no UpdateStatus yet (fact 1)
        # no tick came: the read that shows the end was woken by the stream, the truth follows it
        assert reads[-1] == transitions[-1]
