"""The lab reproduces the incident on the real engine (DESIGN.md section 3, LAB.md)."""

from __future__ import annotations

import pytest

from ccci_tui.domain.stamp import stamp_key
from tests.support.deploy import deploy_recipe
from tests.support.recipes import BASE_TAG

pytestmark = pytest.mark.live

TERMINAL = {"completed", "paused", "rollback_completed", "rollback_paused"}


def _state(svc: dict) -> str | None:
    return (svc.get("UpdateStatus") or {}).get("State")


def _running(tasks: list[dict]) -> bool:
    return any(t["Status"]["State"] == "running" and t["DesiredState"] == "running" for t in tasks)


def _deploy_base(swarm, recipe, stack: str) -> None:
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda svc, tasks: _running(tasks), timeout=60)


def test_start_first_contention_rolls_back_to_base_stamp(swarm, recipe_repo):
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    _deploy_base(swarm, recipe, stack)
    result = deploy_recipe(recipe.path, stack)  # the checkout as it is, like `abra app deploy --chaos`
    assert result.stamp == recipe.head[:8]

    svc = swarm.wait_for(stack, lambda s, t: _state(s) in TERMINAL, timeout=90)

    assert _state(svc) == "rollback_completed"
    # the message named the failed task only while rollback_started; now it is generic
    assert svc["UpdateStatus"]["Message"] == "rollback completed"
    assert svc["Spec"]["Labels"][stamp_key(stack)] == recipe.base[:8]
    assert "PreviousSpec" not in svc
    assert _running(swarm.tasks(stack)), "the old task keeps serving after the rollback"


def test_stop_first_same_head_converges_with_head_stamp(swarm, recipe_repo):
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    _deploy_base(swarm, recipe, stack)
    deploy_recipe(recipe.path, stack, order="stop-first")

    svc = swarm.wait_for(stack, lambda s, t: _state(s) in TERMINAL, timeout=90)

    assert _state(svc) == "completed"
    assert svc["Spec"]["Labels"][stamp_key(stack)] == recipe.head[:8]
    assert svc["Spec"]["UpdateConfig"]["Order"] == "stop-first"


def test_oom_head_task_exits_137_and_container_is_oom_killed(swarm, recipe_repo):
    recipe = recipe_repo(head_script="oom", memory="32M")
    stack = swarm.new_stack()
    _deploy_base(swarm, recipe, stack)
    deploy_recipe(recipe.path, stack)

    svc = swarm.wait_for(stack, lambda s, t: _state(s) in TERMINAL, timeout=90)
    assert _state(svc) == "rollback_completed"
    assert svc["Spec"]["Labels"][stamp_key(stack)] == recipe.base[:8]

    head_tasks = [t for t in swarm.tasks(stack) if t["Spec"]["ContainerSpec"]["Env"][0] == "APP_VERSION=3.5.0"]
    failed = next(t for t in head_tasks if t["Status"]["State"] == "failed")
    assert failed["Status"]["Err"].startswith("task: non-zero exit (137)")  # may end "unhealthy container"
    assert failed["Status"]["ContainerStatus"]["ExitCode"] == 137
    container = swarm.client.api.inspect_container(failed["Status"]["ContainerStatus"]["ContainerID"])
    assert container["State"]["OOMKilled"] is True
