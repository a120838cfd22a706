"""The timeline built from live observation keeps what an automatic rollback erases."""

from __future__ import annotations

import threading
import time

import pytest

from ccci_tui.domain.model import ROLE_ATTEMPTED
from ccci_tui.domain.stamp import parse_stamp, stamp_key
from ccci_tui.domain.timeline import TimelineBuilder
from ccci_tui.sources.live import LiveWatch
from ccci_tui.sources.swarm import SwarmSource
from tests.support.deploy import deploy_recipe
from tests.support.recipes import BASE_TAG

pytestmark = pytest.mark.live


def test_live_rollback_timeline_holds_the_attempted_spec(swarm, recipe_repo):
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)

    builder, lock, done = TimelineBuilder(), threading.Lock(), threading.Event()
    last = {}

    def on_obs(obs):
        with lock:
            builder.add_observation(obs)
            last["obs"] = obs
            st = obs.service.update_status if obs.service else None
            if st is not None and st.state == "rollback_completed":
                done.set()

    def on_event(ev):
        with lock:
            builder.add_event(ev)

    watch = LiveWatch(SwarmSource(), stack, on_observation=on_obs, on_event=on_event, poll_interval=1.0).start()
    try:
        deploy_recipe(recipe.path, stack)
        assert done.wait(90), "no rollback_completed within 90 s"
        time.sleep(0.5)
    finally:
        watch.close()

    with lock:
        timeline = builder.snapshot()
        obs = builder.classify(last["obs"])
    states = [e.state for e in timeline.statuses if e.state]
    assert states[-3:] == ["updating", "rollback_started", "rollback_completed"]
    times = [e.at for e in timeline.statuses if e.state]
    assert times == sorted(times)

    key = stamp_key(stack)
    assert parse_stamp(obs.service.spec.label(key)).matches(recipe.base)  # the service was rolled back
    assert obs.service.previous_spec is None  # and PreviousSpec erased
    assert parse_stamp(timeline.attempted_spec.label(key)).matches(recipe.head)  # the timeline kept it

    failed_id = next(e for e in timeline.statuses if e.state == "rollback_started").text.rsplit(" ", 1)[-1]
    failed = obs.task(failed_id)
    assert failed is not None and failed.role == ROLE_ATTEMPTED
