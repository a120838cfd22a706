"""Services that are not the usual single replica: scaled to zero, global mode, removed mid-watch."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest

from ccci_tui.cli import main
from ccci_tui.domain.stamp import stamp_key
from ccci_tui.domain.timeline import GONE, TimelineBuilder
from ccci_tui.sources.live import LiveWatch
from ccci_tui.sources.swarm import SwarmSource
from ccci_tui.upgrade.stack import stamp_overlay
from tests.support.deploy import deploy_recipe, stack_deploy
from tests.support.recipes import BASE_TAG

pytestmark = pytest.mark.live


def diagnose_json(capsys, *argv):
    capsys.readouterr()
    rc = main(["diagnose", *argv, "--format", "json"])
    return rc, json.loads(capsys.readouterr().out)


def test_scaled_to_zero_is_converged_not_waiting_forever(swarm, recipe_repo, capsys):
    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack)
    # scale only once the deploy's own create has settled: a scale racing it is refused by the engine
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    subprocess.run(["docker", "service", "scale", "--detach", f"{stack}_app=0"], check=True, capture_output=True)
    swarm.wait_for(stack, lambda s, t: not any(x["DesiredState"] == "running" for x in t), timeout=30)
    rc, doc = diagnose_json(capsys, stack, "--recipe", str(recipe.path))
    # a replica-only change is a spec write without a rolling update; either way: fine, and why
    assert rc == 0 and doc["verdict"]["kind"] in ("no-rolling-update", "converged"), doc.get("verdict", doc)
    assert "scaled to 0 replicas" in doc["verdict"]["summary"]


def test_global_mode_service(swarm, recipe_repo, capsys):
    recipe = recipe_repo(head_script="base")
    compose = (recipe.path / "compose.yml").read_text().replace("replicas: 1", "mode: global")
    recipe.commit_file("compose.yml", compose, "run everywhere")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    source = SwarmSource()
    obs = source.observe(stack)
    assert obs.service.spec.mode == "global" and obs.service.spec.replicas is None
    rc, doc = diagnose_json(capsys, stack, "--recipe", str(recipe.path))
    assert (rc, doc["verdict"]["kind"]) == (0, "converged"), doc.get("verdict", doc)


def test_stack_removed_mid_watch_is_an_entry_not_a_traceback(swarm, recipe_repo, capsys):
    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    builder, lock, errors = TimelineBuilder(), threading.Lock(), []
    gone = threading.Event()

    def on_obs(obs):
        with lock:
            builder.add_observation(obs)
        if obs.service is None:
            gone.set()

    watch = LiveWatch(SwarmSource(), stack, on_observation=on_obs, on_error=errors.append, poll_interval=0.5).start()
    try:
        time.sleep(1)
        subprocess.run(["docker", "stack", "rm", stack], check=True, capture_output=True)
        assert gone.wait(20), "the watch never saw the service go"
    finally:
        watch.close()
    entries = builder.snapshot().entries
    assert any(e.kind == GONE for e in entries), [e.text for e in entries][-5:]
    capsys.readouterr()  # the stack no longer exists: a clear error
    assert main(["diagnose", stack]) == 2
    assert f"no stack named '{stack}'" in capsys.readouterr().err


@pytest.mark.parametrize("stamp", ["71077e77", "01234567", "0e123456+U"])
def test_number_like_stamp_reaches_the_service_unchanged(swarm, recipe_repo, tmp_path, stamp):
    # docker reads compose as YAML 1.2: left plain, 71077e77 became the label 7.1077e+81 (seen in CI)
    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    overlay = tmp_path / "stamp.yml"
    overlay.write_text(stamp_overlay(stack, stamp))
    stack_deploy(stack, [recipe.path / "compose.yml", overlay], {}, cwd=recipe.path)
    labels = swarm.service(stack)["Spec"]["Labels"]
    assert labels[stamp_key(stack)] == stamp
    assert labels[f"coop-cloud.{stack}.chaos"] == "true"
