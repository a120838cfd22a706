"""The two-node lab holds what issue 15's tests will rely on: two nodes with their own hostnames, tasks
placed on the worker from the manager (fast, no registry), an OOM kill on the worker that only the
worker's engine reports, and a worker dockerd that can be stopped and started again."""

from __future__ import annotations

import ipaddress
import json
import re
import time

import docker.errors
import pytest

from tests.support.multinode import MultiNodeLab
from tests.support.recipes import LAB_IMAGE

pytestmark = [pytest.mark.live, pytest.mark.multinode]

LOOP = "trap 'exit 0' TERM; while true; do sleep 1; done"
# The incident's allocation under a 32M limit: `tail` is OOM-killed. Engine 20.10 sets OOMKilled only
# when its OOM event arrives before the container's exit; exiting at once, that race was lost about
# once in 30-60 runs under load here (OOMKilled=false, exit 137), so the shell waits a second first.
OOM = "sleep 1; dd if=/dev/zero bs=1M count=300 | tail || { sleep 1; exit 137; }"


def _tasks(lab: MultiNodeLab, service: str) -> list[dict]:
    client = lab.client(lab.manager)
    try:
        return client.api.tasks(filters={"service": service})
    finally:
        client.close()


def _wait_task(lab: MultiNodeLab, service: str, states: set[str], timeout: float = 30.0) -> dict:
    """The service's first task once its state is one of `states`."""
    deadline = time.monotonic() + timeout
    tasks: list[dict] = []
    while time.monotonic() < deadline:
        tasks = _tasks(lab, service)
        if tasks and tasks[0]["Status"]["State"] in states:
            return tasks[0]
        time.sleep(0.2)
    seen = [(t["Status"]["State"], t["Status"].get("Err"), t.get("NodeID")) for t in tasks]
    raise AssertionError(f"{service}: no task in {states} within {timeout} s; tasks: {seen}")


def _create_on_worker(lab: MultiNodeLab, name: str, command: str, *options: str) -> None:
    lab.docker(lab.manager, "service", "create", "--detach", "--name", name, "--no-resolve-image",
               "--restart-condition", "none", "--constraint", f"node.hostname=={lab.worker_node}",
               *options, LAB_IMAGE, "sh", "-c", command)


def test_two_nodes_with_their_own_hostnames(multinode_lab: MultiNodeLab) -> None:
    lab = multinode_lab
    manager, worker = lab.client(lab.manager), lab.client(lab.worker)
    try:
        nodes = {n["ID"]: n for n in manager.api.nodes()}
        assert set(nodes) == {lab.manager_id, lab.worker_id}
        m, w = nodes[lab.manager_id], nodes[lab.worker_id]
        assert lab.manager_node != lab.worker_node
        assert (m["Description"]["Hostname"], w["Description"]["Hostname"]) == (lab.manager_node, lab.worker_node)
        assert (m["Spec"]["Role"], w["Spec"]["Role"]) == ("manager", "worker")
        assert m["ManagerStatus"]["Leader"] is True
        assert m["Status"]["State"] == w["Status"]["State"] == "ready"
        # each engine is its node: its own name and node id; only the manager can answer for the swarm
        minfo, winfo = manager.info(), worker.info()
        assert (minfo["Name"], minfo["Swarm"]["NodeID"]) == (lab.manager_node, lab.manager_id)
        assert (winfo["Name"], winfo["Swarm"]["NodeID"]) == (lab.worker_node, lab.worker_id)
        assert minfo["Swarm"]["ControlAvailable"] is True and winfo["Swarm"]["ControlAvailable"] is False
        addrs = [ipaddress.ip_address(n["Status"]["Addr"]) for n in (m, w)]
        assert addrs[0] != addrs[1] and all(a.is_private for a in addrs), addrs
        for client in (manager, worker):
            client.images.get(LAB_IMAGE)
    finally:
        manager.close()
        worker.close()


def test_a_stack_placed_on_both_nodes_runs_there_at_once(multinode_lab: MultiNodeLab, tmp_path) -> None:
    """Deployed on the manager, one service constrained to each node: both run within seconds (no task
    waits in Preparing for a registry), each on its node, and their overlay network spans the two."""
    lab = multinode_lab
    stack = lab.new_name()
    compose = tmp_path / "compose.yml"
    service = {"image": LAB_IMAGE, "command": ["sh", "-c", LOOP]}
    compose.write_text(json.dumps({"version": "3.8", "services": {
        "app": {**service, "deploy": {"placement": {"constraints": [f"node.hostname == {lab.worker_node}"]}}},
        "peer": {**service, "deploy": {"placement": {"constraints": [f"node.hostname == {lab.manager_node}"]}}},
    }}))
    started = time.monotonic()
    lab.docker(lab.manager, "stack", "deploy", "--detach=true", "--resolve-image", "never", "-c", str(compose), stack)
    try:
        app = _wait_task(lab, f"{stack}_app", {"running"}, timeout=30)
        peer = _wait_task(lab, f"{stack}_peer", {"running"}, timeout=30)
        took = time.monotonic() - started
        assert app["NodeID"] == lab.worker_id and peer["NodeID"] == lab.manager_id
        assert took < 10, f"tasks took {took:.1f} s to run: image resolution is not failing fast"
        # the worker's own engine runs the container; the manager's knows nothing of it
        cid = app["Status"]["ContainerStatus"]["ContainerID"]
        assert lab.docker(lab.worker, "inspect", "--format", "{{.State.Running}}", cid).stdout.strip() == "true"
        assert lab.docker(lab.manager, "inspect", cid, check=False).returncode != 0
        ping = lab.docker(lab.worker, "exec", cid, "busybox", "ping", "-c1", "-W3", "tasks.peer", check=False)
        assert ping.returncode == 0, f"the worker's task cannot reach the manager's over the overlay: {ping.stdout}"
    finally:
        lab.docker(lab.manager, "stack", "rm", stack, check=False)


def test_an_oom_kill_on_the_worker_is_known_only_to_the_worker(multinode_lab: MultiNodeLab) -> None:
    """LAB.md: the manager's task says only `task: non-zero exit (N)`; the worker's engine says OOMKilled."""
    lab = multinode_lab
    name = lab.new_name()
    _create_on_worker(lab, name, OOM, "--limit-memory", "32M")
    try:
        task = _wait_task(lab, name, {"failed", "complete", "rejected"}, timeout=30)
        assert task["NodeID"] == lab.worker_id
        status = task["Status"]
        assert status["State"] == "failed", status
        assert re.fullmatch(r"task: non-zero exit \(\d+\)", status["Err"]), status
        exit_code = status["ContainerStatus"]["ExitCode"]
        assert exit_code != 0
        # nothing about memory in what the manager has: an exit code and ids
        assert set(status["ContainerStatus"]) <= {"ContainerID", "PID", "ExitCode"}, status
        assert "oom" not in json.dumps(status).lower(), status
        cid = status["ContainerStatus"]["ContainerID"]
        manager, worker = lab.client(lab.manager), lab.client(lab.worker)
        try:
            with pytest.raises(docker.errors.NotFound):
                manager.api.inspect_container(cid)
            state = worker.api.inspect_container(cid)["State"]
        finally:
            manager.close()
            worker.close()
        assert state["OOMKilled"] is True, state
        assert state["ExitCode"] == exit_code
    finally:
        lab.docker(lab.manager, "service", "rm", name, check=False)


@pytest.mark.serial
def test_the_workers_dockerd_stops_and_starts_again(multinode_lab: MultiNodeLab) -> None:
    lab = multinode_lab
    with lab.worker_stopped():
        assert not lab.engine_up(lab.worker)
        assert lab.engine_up(lab.manager)
        # the manager notices (its heartbeat timeout: ~10 s here); until then it still says ready
        deadline = time.monotonic() + 40
        state = "?"
        while time.monotonic() < deadline:
            client = lab.client(lab.manager)
            try:
                state = client.api.inspect_node(lab.worker_id)["Status"]["State"]
            finally:
                client.close()
            if state == "down":
                break
            time.sleep(0.5)
        assert state == "down", f"the manager still says the stopped worker is {state!r}"
        lab.start_worker()
    assert lab.engine_up(lab.worker)
    client = lab.client(lab.worker)
    try:
        info = client.info()
    finally:
        client.close()
    # the same node came back: same id and hostname, Ready, and it takes tasks again
    assert (info["Name"], info["Swarm"]["NodeID"]) == (lab.worker_node, lab.worker_id)
    name = lab.new_name()
    _create_on_worker(lab, name, LOOP)
    try:
        task = _wait_task(lab, name, {"running"}, timeout=30)
        assert task["NodeID"] == lab.worker_id
    finally:
        lab.docker(lab.manager, "service", "rm", name, check=False)
