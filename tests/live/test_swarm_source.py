"""The swarm source on the real lab engine: roles, OOM, memory, events and clean shutdown."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from ccci_tui.domain.model import ROLE_CURRENT, ROLE_PREVIOUS
from ccci_tui.sources.errors import SwarmError
from ccci_tui.sources.live import LiveWatch
from ccci_tui.sources.swarm import SwarmSource
from tests.support.deploy import deploy_recipe
from tests.support.recipes import BASE_TAG, LAB_IMAGE

pytestmark = pytest.mark.live

TERMINAL = {"completed", "paused", "rollback_completed", "rollback_paused"}


def _wait(predicate, timeout: float = 90.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _running(source: SwarmSource, stack: str) -> bool:
    obs = source.observe(stack)
    return obs.service is not None and any(t.running and t.desired == "running" for t in obs.tasks)


def test_task_roles_follow_the_template_fingerprint(swarm, recipe_repo):
    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    source = SwarmSource()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    _wait(lambda: _running(source, stack), what="base running")
    deploy_recipe(recipe.path, stack, order="stop-first")
    obs = _wait(
        lambda: (o := source.observe(stack)).service.update_status
        and o.service.update_status.state == "completed"
        and o,
        what="completed",
    )
    roles = {t.role for t in obs.tasks}
    assert roles == {ROLE_CURRENT, ROLE_PREVIOUS}, obs.tasks
    current = [t for t in obs.tasks if t.role == ROLE_CURRENT]
    assert all(t.running for t in current)
    # the stack list sees the stack with a settled badge
    assert any(s.name == stack and s.badge == "ok" for s in source.stacks())


def test_oom_head_carries_exit_137_oom_flag_and_memory_read_while_running(swarm, recipe_repo):
    recipe = recipe_repo(head_script="oom", memory="32M")
    stack = swarm.new_stack()
    source = SwarmSource()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    _wait(lambda: _running(source, stack), what="base running")
    watch = LiveWatch(source, stack, poll_interval=0.5, memory_interval=0.05).start()
    try:
        deploy_recipe(recipe.path, stack)
        _wait(
            lambda: watch.latest
            and watch.latest.service.update_status
            and watch.latest.service.update_status.state in TERMINAL,
            what="terminal update state",
        )
        time.sleep(1.0)  # let the poller pick up the container's final state
        obs = source.observe(stack)
    finally:
        watch.close()
    assert obs.service.update_status.state == "rollback_completed"
    failed = [t for t in obs.tasks if t.exit_code == 137]
    assert len(failed) >= 1, obs.tasks
    head_task = failed[0]
    assert head_task.err.startswith("task: non-zero exit (137)")
    assert head_task.oom_killed is True
    assert head_task.memory_limit == 32 * 1024 * 1024
    # memory in use was sampled while the head task ran
    assert head_task.memory_bytes is not None and 0 < head_task.memory_bytes <= head_task.memory_limit


def test_closing_during_a_deploy_ends_its_threads(swarm, recipe_repo):
    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    source = SwarmSource()
    seen: list = []
    watch = LiveWatch(source, stack, on_event=seen.append, poll_interval=0.2, memory_interval=0.2).start()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    _wait(lambda: seen, timeout=20, what="first event")
    before = {t.name for t in threading.enumerate()}
    watch.close(timeout=1.0)
    assert not watch.alive
    alive = {t.name for t in threading.enumerate() if t.is_alive()}
    # this watch's named threads (poll, memory, event stream, its stats pool) carry its stack's name; a
    # watch another test in this process closed may still be ending a slow read (close does not wait for it)
    assert not [n for n in before & alive if n.startswith("ccci-") and stack in n]


def test_unknown_stack_is_a_clear_error():
    source = SwarmSource()
    with pytest.raises(SwarmError, match="no stack named 'no-such-stack'"):
        source.services("no-such-stack")
    obs = source.observe("no-such-stack")
    assert obs.service is None and obs.error is None  # an answer (gone), not a failed read


def test_unreachable_daemon_is_a_clear_error():
    source = SwarmSource("unix:///nonexistent/docker.sock", timeout=2)
    with pytest.raises(SwarmError, match="unreachable at unix:///nonexistent/docker.sock"):
        source.stacks()


def _empty(answer: object) -> bool:
    """A stats answer with an empty body, as each client gives it: None, or docker-py failing to decode it."""
    return answer is None or (isinstance(answer, ValueError) and not str(getattr(answer, "doc", "-")).strip())


@pytest.mark.parametrize("client", ["plain", "docker-py"])
def test_stats_of_a_container_removed_while_they_wait_answer_nothing_and_sampling_goes_on(swarm, client):
    """The real engine: stats wait for the collector's next tick (up to 1 s); a container removed meanwhile gets a
    200 with an empty body. Sampling takes that as "gone" (the last reading stays), never as an error nor as a
    lost connection (docker-py, as over ssh) — a node's context reads every container on it, and other stacks'
    containers come and go all the time."""
    prefix = swarm.new_stack()
    containers = [swarm.client.containers.run(LAB_IMAGE, ["sleep", "300"], name=f"{prefix}-stats{i}", detach=True)
                  for i in range(12)]
    time.sleep(1.5)  # running for a while: their stats now wait for the collector's tick
    source = SwarmSource()
    if client == "docker-py":
        source._client = source._docker_client()
    api = source.api
    answers: list[object] = []
    real = api.stats

    def spy(cid: str, **kwargs: object) -> object:
        try:
            answer = real(cid, **kwargs)
        except Exception as exc:
            answers.append(exc)
            raise
        answers.append(answer)
        return answer

    api.stats = spy
    try:
        for i, container in enumerate(containers):
            out: dict[str, object] = {}

            def sample(cid: str = container.id, out: dict[str, object] = out) -> None:
                try:
                    out["found"] = source.sample_containers([cid])
                except Exception as exc:  # noqa: BLE001 - the assertion below names it
                    out["error"] = exc

            reader = threading.Thread(target=sample)
            reader.start()
            time.sleep(0.05 + 0.1 * (i % 4))
            container.remove(force=True)
            reader.join(timeout=10)
            assert "error" not in out, out
            if any(map(_empty, answers)):
                assert out["found"] == {}, out
                break
        assert api.stats is spy and source._client is api  # the connection was not taken as lost
        assert any(map(_empty, answers)), f"no empty stats answer in {len(answers)} removals: {answers!r:.300}"
    finally:
        source.close()
        for container in containers:
            with contextlib.suppress(Exception):
                container.remove(force=True)
