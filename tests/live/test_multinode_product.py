"""Issue 15 on the two-node lab: a task's container facts come from the engine on its own node.

The head of the incident's recipe is placed on the worker; its OOM kill is known only to the worker's
engine. With `--node-host` the verdict names the OOM as it does on one node; without it the evidence says
which node could not be read. A worker whose dockerd stops never takes the view down with it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from ccci_tui.cli import main
from ccci_tui.sources.swarm import SwarmSource
from tests.support.deploy import deploy_recipe
from tests.support.multinode import MultiNodeLab
from tests.support.recipes import BASE_TAG

pytestmark = [pytest.mark.live, pytest.mark.multinode]


def on_worker(lab: MultiNodeLab, tmp_path: Path) -> list[Path]:
    """An overlay outside the recipe that places the app on the worker (base and head alike)."""
    path = tmp_path / "compose.worker.yml"
    path.write_text(json.dumps({"version": "3.8", "services": {"app": {"deploy": {
        "placement": {"constraints": [f"node.hostname == {lab.worker_node}"]}}}}}))
    return [path]


def service(lab: MultiNodeLab, stack: str) -> tuple[dict, list[dict]]:
    client = lab.client(lab.manager)
    try:
        svc = client.api.inspect_service(f"{stack}_app")
        return svc, client.api.tasks(filters={"service": svc["ID"]})
    finally:
        client.close()


def wait_for(lab: MultiNodeLab, stack: str, done: Any, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    svc: dict = {}
    while time.monotonic() < deadline:
        svc, tasks = service(lab, stack)
        if done(svc, tasks):
            return svc
        time.sleep(0.5)
    raise AssertionError(f"{stack}: not there within {timeout} s: {svc.get('UpdateStatus')}")


def diagnose(capsys, monkeypatch, lab: MultiNodeLab, stack: str, recipe: Any, *extra: str) -> tuple[int, dict]:
    monkeypatch.setenv("DOCKER_HOST", lab.manager)
    capsys.readouterr()
    rc = main(["diagnose", stack, "--recipe", str(recipe.path), "--format", "json", *extra])
    out = capsys.readouterr().out
    return rc, json.loads(out)


def test_an_oom_on_the_worker_is_named_with_its_engine_and_not_confirmed_without(
        multinode_lab: MultiNodeLab, recipe_repo, capsys, monkeypatch, tmp_path) -> None:
    lab = multinode_lab
    recipe = recipe_repo(head_script="oom", memory="32M")
    placed = on_worker(lab, tmp_path)
    stack = lab.new_name()
    env = {"DOCKER_HOST": lab.manager}
    deploy_recipe(recipe.path, stack, ref=BASE_TAG, env=env, extra_files=placed)
    wait_for(lab, stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    deploy_recipe(recipe.path, stack, env=env, extra_files=placed)  # the head, start-first, on the worker
    wait_for(lab, stack, lambda s, t: (s.get("UpdateStatus") or {}).get("State") == "rollback_completed")
    _, tasks = service(lab, stack)
    dead = [t for t in tasks if t["Status"].get("ContainerStatus", {}).get("ExitCode") == 137]
    assert dead and all(t["NodeID"] == lab.worker_id for t in dead), [t["Status"] for t in tasks]

    rc, blind = diagnose(capsys, monkeypatch, lab, stack, recipe)
    assert (rc, blind["verdict"]["kind"]) == (1, "swarm-rollback"), blind["verdict"]
    assert (f"exit 137 on node {lab.worker_node} (OOM not confirmed: no engine access to {lab.worker_node} "
            f"(use --node-host {lab.worker_node}=DOCKER_HOST))") in blind["verdict"]["summary"]
    (task,) = [t for t in blind["tasks"] if t["id"] == dead[0]["ID"]]
    assert (task["node_name"], task["oom_killed"]) == (lab.worker_node, None)
    assert task["node_access"].startswith(f"no engine access to {lab.worker_node}")

    rc, seen = diagnose(capsys, monkeypatch, lab, stack, recipe, "--node-host", f"{lab.worker_node}={lab.worker}")
    assert (rc, seen["verdict"]["kind"]) == (1, "swarm-rollback"), seen["verdict"]
    assert "was OOM-killed" in seen["verdict"]["summary"], seen["verdict"]["summary"]
    evidence = [(e["source"], e["text"]) for e in seen["verdict"]["evidence"]]
    assert ("task", "memory: reached the limit (OOM): the kernel killed it at its 32M limit") in evidence
    assert any(s == "node" and t.startswith(f"node {lab.worker_node}: ") for s, t in evidence), evidence
    assert any(s == "node" and "beside the old task (co-residence" in t for s, t in evidence), evidence
    # the node id works as well as its name, and so does an abbreviated id
    rc, by_id = diagnose(capsys, monkeypatch, lab, stack, recipe, "--node-host", f"{lab.worker_id[:10]}={lab.worker}")
    assert by_id["verdict"]["summary"] == seen["verdict"]["summary"]


@pytest.mark.serial  # it stops the worker's dockerd
def test_a_worker_that_stops_is_stale_and_never_blocks_the_view(multinode_lab: MultiNodeLab, recipe_repo,
                                                                 tmp_path) -> None:
    lab = multinode_lab
    recipe = recipe_repo(head_script="base")
    stack = lab.new_name()
    deploy_recipe(recipe.path, stack, env={"DOCKER_HOST": lab.manager}, extra_files=on_worker(lab, tmp_path))
    wait_for(lab, stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    source = SwarmSource(lab.manager, timeout=5.0, node_hosts={lab.worker_node: lab.worker})
    obs = source.observe(stack)
    assert source.sample_memory(obs), "the worker's engine gives the task's memory"
    obs = source.observe(stack)
    running = next(t for t in obs.tasks if t.running)
    assert (running.node, running.node_access, running.memory_bytes is not None) == (lab.worker_node, "", True)
    with lab.worker_stopped():
        source.sample_memory(obs)  # the worker's engine fails: marked, retried later with backoff
        started = time.monotonic()
        stale = source.observe(stack)  # the manager still answers; the worker's facts are stale
        took = time.monotonic() - started
        task = next(t for t in stale.tasks if t.id == running.id)
        assert task.node_access.startswith(f"the engine on {lab.worker_node} ({lab.worker}) is unreachable"), task
        assert took < source.timeout, f"a read waited {took:.1f} s on the stopped worker"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # back: the next try after the backoff reads the worker again
        obs = source.observe(stack)
        source.sample_memory(obs)
        again = source.observe(stack)
        if any(t.running and t.node == lab.worker_node and not t.node_access for t in again.tasks):
            break
        time.sleep(2)
    else:
        raise AssertionError(f"the worker's facts did not come back: {[t.node_access for t in again.tasks]}")


def test_a_task_no_node_takes_names_each_nodes_reason(multinode_lab: MultiNodeLab, capsys, monkeypatch,
                                                      tmp_path) -> None:
    """A service constrained to the manager's role and asking for more memory than the manager has: the worker
    fails the constraint, the manager the memory; the evidence says so per node, then the verdict is stuck."""
    lab = multinode_lab
    stack = lab.new_name()
    client = lab.client(lab.manager)
    try:
        manager_memory = client.api.inspect_node(lab.manager_id)["Description"]["Resources"]["MemoryBytes"]
    finally:
        client.close()
    compose = tmp_path / "compose.yml"
    compose.write_text(json.dumps({"version": "3.8", "services": {"app": {
        "image": "ccci-lab/busybox:1", "command": ["sleep", "3600"],
        "deploy": {"placement": {"constraints": ["node.role == manager"]},
                   "resources": {"reservations": {"memory": str(manager_memory + 1024**3)}}}}}}))
    lab.docker(lab.manager, "stack", "deploy", "--detach=true", "--resolve-image", "never", "-c", str(compose), stack)
    monkeypatch.setenv("DOCKER_HOST", lab.manager)
    deadline = time.monotonic() + 60
    doc: dict = {}
    while time.monotonic() < deadline:
        capsys.readouterr()
        main(["diagnose", stack, "--format", "json"])
        doc = json.loads(capsys.readouterr().out)
        if doc["verdict"]["kind"] == "update-stuck":
            break
        time.sleep(2)
    assert doc["verdict"]["kind"] == "update-stuck" and doc["verdict"]["summary"].startswith(
        "No task can be placed: task "), doc["verdict"]
    lines = [e["text"] for e in doc["verdict"]["evidence"] if e["source"] == "node"]
    assert any(t.startswith(f"node {lab.worker_node}: ") and "constraint node.role == manager not met" in t
               for t in lines), lines
    assert any(t.startswith(f"node {lab.manager_node}: needs ") and " unreserved" in t for t in lines), lines
