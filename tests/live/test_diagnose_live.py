"""Every verdict kind on the real lab engine, through the CLI (`wait`, `diagnose`, `mark`)."""

from __future__ import annotations

import json
import sys
import threading
import time

import pytest

from ccci_tui.cli import main
from tests.support.deploy import base_running, deploy_recipe
from tests.support.recipes import BASE_TAG, compose_text

pytestmark = pytest.mark.live


def deploy_cmd(recipe, stack: str, ref: str | None = None, order: str | None = None) -> list[str]:
    cmd = ["--", sys.executable, "-m", "tests.support.deploy", str(recipe.path), stack]
    if ref:
        cmd += ["--ref", ref]
    if order:
        cmd += ["--order", order]
    return cmd


def run_cli(capsys, *argv: str) -> tuple[int, dict]:
    capsys.readouterr()
    rc = main(list(argv))
    out = capsys.readouterr().out
    return rc, json.loads(out) if out.strip().startswith("{") else {"text": out}



def wait_json(capsys, recipe, stack, *extra, timeout="90"):
    return run_cli(capsys, "wait", stack, "--recipe", str(recipe.path), "--format", "json",
                   "--timeout", timeout, *extra)


def test_wait_start_first_contention_is_swarm_rollback(swarm, recipe_repo, capsys):
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    rc, doc = wait_json(capsys, recipe, stack, *deploy_cmd(recipe, stack))
    assert rc == 1, doc
    verdict = doc["verdict"]
    assert verdict["kind"] == "swarm-rollback"
    assert "never became healthy" in verdict["summary"] and "start-first" in verdict["summary"]
    assert any("attempted spec" in e["text"] and recipe.head[:8] in e["text"] for e in verdict["evidence"])
    # after the fact, from what survives on the service: still a rollback
    rc, doc = run_cli(capsys, "diagnose", stack, "--recipe", str(recipe.path), "--format", "json")
    assert rc == 1 and doc["verdict"]["kind"] == "swarm-rollback"


def test_wait_stop_first_converges_then_label_only_and_wrong_expectations(swarm, recipe_repo, capsys):
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    rc, doc = wait_json(capsys, recipe, stack, *deploy_cmd(recipe, stack, order="stop-first"))
    assert (rc, doc["verdict"]["kind"]) == (0, "converged"), doc.get("verdict", doc)
    assert recipe.head[:8] in doc["verdict"]["summary"]

    # a redeploy that changes only labels: decided at once, no rolling update
    recipe.commit_file("compose.yml", compose_text("0.9.1+3.5.0", "contention", "3.5.0", order="stop-first"),
                       "chore: relabel 0.9.1")
    rc, doc = wait_json(capsys, recipe, stack, *deploy_cmd(recipe, stack, order="stop-first"))
    assert (rc, doc["verdict"]["kind"]) == (0, "no-rolling-update"), doc.get("verdict", doc)
    assert swarm.service(stack).get("UpdateStatus") is None  # nothing rolled: no status, by design

    # a genuinely wrong expectation stays red: stamp-mismatch, never converged
    rc, doc = run_cli(capsys, "diagnose", stack, "--format", "json", "--expect-head", recipe.base)
    assert (rc, doc["verdict"]["kind"]) == (1, "stamp-mismatch")

    # the deploy used a checkout that was not the expected head (what abra does): checkout-drift
    recipe.repo.git.checkout(BASE_TAG)
    deploy_recipe(recipe.path, stack, order="stop-first")
    rc, doc = run_cli(capsys, "diagnose", stack, "--recipe", str(recipe.path), "--format", "json",
                      "--expect-head", "main")
    assert (rc, doc["verdict"]["kind"]) == (1, "checkout-drift"), doc.get("verdict", doc)


def test_wait_never_accepts_the_previous_deploys_completed(swarm, recipe_repo, capsys):
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    rc, doc = wait_json(capsys, recipe, stack, *deploy_cmd(recipe, stack, order="stop-first"))
    assert doc["verdict"]["kind"] == "converged"
    rc, mark = run_cli(capsys, "mark", stack, "--format", "json")
    assert mark["state"] == "completed"
    head2 = recipe.commit_file(
        "compose.yml", compose_text("1.0.0+3.6.0", "contention", "3.6.0"), "chore: upgrade to 1.0.0+3.6.0")

    # two-step use: the gate starts first; the deploy lands 3 s later
    deployed = threading.Event()

    def deploy() -> None:
        deploy_recipe(recipe.path, stack)
        deployed.set()

    timer = threading.Timer(3.0, deploy)
    timer.start()
    try:
        rc, doc = wait_json(capsys, recipe, stack, "--since-index", str(mark["index"]),
                            "--since-started-at", mark["started_at"], "--expect-head", head2)
        returned_after_the_deploy = deployed.is_set()
    finally:
        timer.join()
    assert returned_after_the_deploy, "returned on the old completed before the deploy happened"
    assert (rc, doc["verdict"]["kind"]) == (1, "swarm-rollback"), doc.get("verdict", doc)

    # nothing deployed after a marker: the old status is never accepted (stale-status at the timeout)
    rc, mark = run_cli(capsys, "mark", stack, "--format", "json")
    rc, doc = wait_json(capsys, recipe, stack, "--since-index", str(mark["index"]),
                        "--since-started-at", mark["started_at"], timeout="3")
    assert (rc, doc["verdict"]["kind"]) == (1, "stale-status"), doc.get("verdict", doc)


def test_pause_is_update_paused(swarm, recipe_repo, capsys):
    recipe = recipe_repo(head_script="contention", head_failure_action="pause")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    rc, doc = wait_json(capsys, recipe, stack, *deploy_cmd(recipe, stack))
    assert (rc, doc["verdict"]["kind"]) == (1, "update-paused"), doc.get("verdict", doc)
    assert "paused the update on task" in doc["verdict"]["summary"]


def test_unschedulable_start_first_is_update_stuck(swarm, recipe_repo, capsys):
    recipe = recipe_repo(head_script="base", reservation="13G")  # fits once on this 24 GiB node, not twice
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    rc, doc = wait_json(capsys, recipe, stack, *deploy_cmd(recipe, stack))
    assert (rc, doc["verdict"]["kind"]) == (1, "update-stuck"), doc.get("verdict", doc)
    assert "no suitable node" in doc["verdict"]["summary"]


def test_poisoned_rollback_with_default_rollback_config(swarm, recipe_repo, capsys):
    # the base fails too after the head spoiled the volume. With the default rollback_config the
    # engine ends either rollback_paused (its restored task failed inside the monitor) or
    # rollback_completed with nothing running (reference run F); both happen here, so the verdict
    # must follow whichever state the engine reached
    recipe = recipe_repo(head_script="poison")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    rc, doc = wait_json(capsys, recipe, stack, *deploy_cmd(recipe, stack, order="stop-first"))
    state = swarm.service(stack)["UpdateStatus"]["State"]
    expected = {"rollback_paused": "update-paused", "rollback_completed": "rollback-unhealthy"}[state]
    assert (rc, doc["verdict"]["kind"]) == (1, expected), doc.get("verdict", doc)
    if expected == "update-paused":
        assert doc["verdict"]["summary"].startswith("Swarm paused the rollback")


def test_poisoned_rollback_that_continues_is_rollback_unhealthy(swarm, recipe_repo, capsys):
    recipe = recipe_repo(head_script="poison", rollback_failure_action="continue")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    rc, doc = wait_json(capsys, recipe, stack, *deploy_cmd(recipe, stack, order="stop-first"))
    assert (rc, doc["verdict"]["kind"]) == (1, "rollback-unhealthy"), doc.get("verdict", doc)


def test_late_crash_is_crash_after_monitor(swarm, recipe_repo, capsys):
    recipe = recipe_repo(head_script="late-crash")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    rc, doc = wait_json(capsys, recipe, stack, *deploy_cmd(recipe, stack, order="stop-first"))
    assert (rc, doc["verdict"]["kind"]) == (0, "converged"), doc  # the monitor saw nothing wrong
    deadline = time.monotonic() + 40
    kind = None
    while time.monotonic() < deadline:
        rc, doc = run_cli(capsys, "diagnose", stack, "--recipe", str(recipe.path), "--format", "json")
        kind = doc["verdict"]["kind"]
        if kind == "crash-after-monitor":
            break
        time.sleep(1)
    assert kind == "crash-after-monitor" and rc == 1
    assert "exited with code 1" in doc["verdict"]["summary"]


def test_in_progress_while_updating(swarm, recipe_repo, capsys):
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    deploy_recipe(recipe.path, stack)
    rc, doc = run_cli(capsys, "diagnose", stack, "--recipe", str(recipe.path), "--format", "json")
    assert (rc, doc["verdict"]["kind"]) == (3, "in-progress"), doc.get("verdict", doc)
