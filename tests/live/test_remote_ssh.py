"""DOCKER_HOST=ssh://root@127.0.0.1: the lab through a local sshd (scripts/swarm-lab ssh-up); one ssh
connection for a whole command and for a whole TUI session, event stream included, counted in the
sshd's own log. And the two Engine API transports against the same live cases: the plain client
(sources/engine_api.py) on the lab's unix socket, docker-py's APIClient over ssh."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ccci_tui.sources.errors import NotFound, SwarmError
from ccci_tui.sources.swarm import SwarmSource
from tests.support.deploy import deploy_recipe
from tests.support.lab import lab_docker_host
from tests.support.recipes import BASE_TAG
from tests.support.ssh import SSH_HOST, logins, sessions, shared_sshd, sshd_turn

# in the parallel phase: xdist workers share the lab's sshd (the last one stops it) and take turns on it
pytestmark = [pytest.mark.live]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def _sshd():
    with shared_sshd() as problem:
        yield problem


@pytest.fixture
def ssh_lab(_sshd):
    if _sshd is not None:
        reason = f"lab sshd unavailable: {_sshd}"
        if os.environ.get("CCCI_REQUIRE_SWARM") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    with sshd_turn():
        yield {**os.environ, "DOCKER_HOST": SSH_HOST}


def ssh_connections() -> int:
    """The established ssh connections this process holds to 127.0.0.1:22 right now."""
    out = subprocess.run(["ss", "-Htnp", "state", "established", "dst", "127.0.0.1", "dport", "= :22"],
                         capture_output=True, text=True, check=False).stdout
    return len(re.findall(rf"pid={os.getpid()},", out))


def ccci(env, *argv, timeout=120):
    return subprocess.run([sys.executable, "-m", "ccci_tui", *argv], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=timeout, check=False)


def test_diagnose_and_wait_over_ssh(ssh_lab, swarm, recipe_repo):
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)

    before = logins()
    proc = ccci(ssh_lab, "diagnose", stack, "--recipe", str(recipe.path), "--format", "json")
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1 and doc["source"] == SSH_HOST, proc.stderr
    assert doc["verdict"]["kind"] == "stamp-mismatch"  # the base runs; the recipe HEAD is the head
    assert logins() - before == 1  # one ssh connection for every call of the command

    # the deploy `wait` runs reaches the lab directly, so the sshd counts the watch's connections only
    before = logins()
    proc = ccci(ssh_lab, "wait", stack, "--recipe", str(recipe.path), "--format", "json", "--timeout", "90",
                "--", "env", f"DOCKER_HOST={lab_docker_host()}", sys.executable, "-m", "tests.support.deploy",
                str(recipe.path), stack)
    doc = json.loads(proc.stdout)
    assert (proc.returncode, doc["verdict"]["kind"]) == (1, "swarm-rollback"), proc.stderr
    assert any("attempted spec" in e["text"] for e in doc["verdict"]["evidence"])
    assert logins() - before == 1  # polls, memory samples, node contexts and the event stream: one connection


async def test_tui_over_ssh(ssh_lab, swarm, recipe_repo, monkeypatch, tmp_path):
    import asyncio

    from ccci_tui.sources.contexts import DockerContexts
    from ccci_tui.sources.swarm import SwarmSource
    from ccci_tui.sources.target import resolve_target
    from ccci_tui.tui.app import AppOptions
    from tests.tui.support import screen_text

    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    before, held = logins(), ssh_connections()
    source = SwarmSource(SSH_HOST)
    # the docker contexts: the default one is this daemon over ssh (no stored contexts in this DOCKER_CONFIG)
    contexts = DockerContexts({"DOCKER_HOST": SSH_HOST, "DOCKER_CONFIG": str(tmp_path)}, session=source)
    app = AppOptions(source=source, stack=stack, service="app", cursor_blink=False, contexts=contexts,
                     resolver=lambda st, sv: resolve_target(st, sv, str(recipe.path))).build()
    async with app.run_test(size=(120, 36)) as pilot:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while app.main.view is None or app.main.view.verdict is None:
            assert loop.time() < deadline, "no verdict over ssh within 60 s"
            await asyncio.sleep(0.2)
        await pilot.pause()
        text = screen_text(app)
        assert SSH_HOST in text and "LIVE" in text
        assert app.main.view.verdict.kind == "stamp-mismatch"  # the base runs; the recipe HEAD is the head
        await asyncio.sleep(5)  # polls every 2 s and a memory sample, with the event stream open
        assert ssh_connections() - held == 1
        app.action_pick_contexts()  # every context's stacks: this daemon's are read on the session's connection
        while getattr(app.screen, "_reads", None) is None or not app.screen._reads.wait(0):
            assert loop.time() < deadline + 30, f"the contexts picker never read its contexts: {app.screen}"
            await asyncio.sleep(0.2)
        await app.wait_settled()
        assert stack in screen_text(app)
        assert logins() - before == 1 and ssh_connections() - held == 1
        await pilot.press("escape")
    assert logins() - before == 1  # the whole session, event stream included
    source.close()
    assert ssh_connections() == held


def _up(source: SwarmSource, stack: str) -> bool:
    obs = source.observe(stack)
    return any(t.running for t in obs.tasks)


@pytest.fixture(params=["unix", "ssh"])
def transport(request):
    """The lab daemon through each transport: (address, the client's module)."""
    if request.param == "ssh":
        request.getfixturevalue("ssh_lab")
        return SSH_HOST, "docker.api.client"
    return lab_docker_host(), "ccci_tui.sources.engine_api"


def test_each_transport_reads_streams_and_maps_errors_alike(transport, swarm, recipe_repo):
    host, module = transport
    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    before, held = logins(), ssh_connections()
    source = SwarmSource(host, timeout=10)
    assert type(source.api).__module__ == module
    seen: list = []
    watcher = source.events(stack, seen.append)
    try:
        deploy_recipe(recipe.path, stack, ref=BASE_TAG)
        deadline = time.monotonic() + 60
        while not (any(e.type == "service" for e in seen) and _up(source, stack)):
            assert time.monotonic() < deadline, f"no service event and running task through {host} within 60 s"
            time.sleep(0.2)
        obs = source.observe(stack)
        assert source.sample_memory(obs)  # one-shot stats of the running task, beside the stream
        assert [s.name for s in source.stacks() if s.name == stack] == [stack]
        with pytest.raises(NotFound, match=f"inspect node nosuchnode00: not found on {host}"):
            source.node_context("nosuchnode00")
        # a 400 is a failed read of that thing: neither a missing one nor an unreachable daemon
        with pytest.raises(SwarmError, match=f"list tasks failed on {host}: .*bogus") as refused:
            source._call("list tasks", source.api.tasks, filters={"bogus": "x"})
        assert not isinstance(refused.value, NotFound)
        assert source.observe(stack).service is not None and watcher.connects == 1
        if host == SSH_HOST:  # reads, stats and the stream: one ssh connection
            assert ssh_connections() - held == 1 and logins() - before == 1
    finally:
        watcher.close()
        source.close()
    assert not watcher.alive and ssh_connections() == held


def test_a_lost_connection_is_unreachable_then_replaced(ssh_lab):
    before, others, held = logins(), set(sessions()), ssh_connections()
    source = SwarmSource(SSH_HOST, timeout=10)
    try:
        source.stacks()
        (mine,) = set(sessions()) - others  # the sshd process serving this source's connection
        os.kill(mine, 15)  # the connection ends on the sshd's side
        deadline = time.monotonic() + 10
        while mine in sessions():
            assert time.monotonic() < deadline, "the sshd session did not end"
            time.sleep(0.05)
        with pytest.raises(SwarmError, match=f"Docker daemon unreachable at {SSH_HOST} \\(list services\\)"):
            source.stacks()
        source.stacks()  # docker-py alone never reconnects: the source made a new client
        assert logins() - before == 2 and ssh_connections() - held == 1
    finally:
        source.close()


@pytest.mark.parametrize("host", ["unix:///nonexistent/docker.sock", "ssh://root@127.0.0.1:2"])
def test_a_daemon_that_is_not_there_is_unreachable(host):  # nothing listens on port 2
    with pytest.raises(SwarmError, match=f"Docker daemon unreachable at {host}"):
        SwarmSource(host, timeout=5).stacks()


def test_a_node_engine_over_ssh_keeps_one_connection_and_closes_with_its_source(ssh_lab, swarm, recipe_repo):
    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    cid = next(t["Status"]["ContainerStatus"]["ContainerID"] for t in swarm.tasks(stack)
               if t["Status"]["State"] == "running")
    before, held = logins(), ssh_connections()
    # the lab has one node: another node's engine is named by --node-host (this node's engine, over ssh)
    source = SwarmSource(lab_docker_host(), timeout=10, node_hosts={"othernode00": SSH_HOST})
    engine, why = source.engine_for("othernode00")
    assert engine is not None and engine is not source, why
    for _ in range(3):
        assert cid in engine.sample_containers([cid])
        assert source.engine_for("othernode00")[0] is engine  # kept for the session
    assert logins() - before == 1 and ssh_connections() - held == 1
    source.close()
    assert ssh_connections() == held
