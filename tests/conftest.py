"""Shared fixtures: the lab swarm, unique stacks that are always removed, throwaway recipes.

Everything talks to the lab daemon only: DOCKER_HOST is set to it here, at import, before any docker
client exists; xdist workers and every subprocess a test starts inherit it. What a session created
is swept by the session's own stack prefix when it ends.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from tests.support.lab import (
    LabDaemon,
    lab_client,
    lab_env,
    named_host,
    owns_daemon,
    point_at_lab,
    start_lab_daemon,
    swarm_lab,
)
from tests.support.lab import lab_problem as _lab_problem
from tests.support.multinode import multinode_lab  # noqa: F401 - the two-node lab fixture
from tests.support.recipes import Recipe, build_recipe
from tests.support.replays import replay_problems
from tests.support.sweep import sweep

REFERENCE = Path(__file__).parent / "fixtures" / "swarm-lab"
LAB_HOST = point_at_lab()

lab_problem = cache(_lab_problem)  # asked once per session (and per xdist worker)

# `ccci-t` + 4 hex per test session: the sweep at its end removes only its own stacks, never those of
# another session on the same lab. Set in pytest_configure; xdist workers get the controller's.
SESSION_PREFIX = ""


def pytest_configure(config: pytest.Config) -> None:
    global SESSION_PREFIX
    workerinput = getattr(config, "workerinput", None)
    SESSION_PREFIX = workerinput["ccci_session_prefix"] if workerinput else f"ccci-t{uuid.uuid4().hex[:4]}"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist (controller): hand this session's prefix to each worker."""
    node.workerinput["ccci_session_prefix"] = SESSION_PREFIX


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("live") is None:
        return
    problem = lab_problem()
    if problem is None:
        return
    if os.environ.get("CCCI_REQUIRE_SWARM") == "1":
        pytest.fail(f"live test needs the lab swarm (CCCI_REQUIRE_SWARM=1): {problem}", pytrace=False)
    pytest.skip(f"live tests skipped: {problem}")


class Swarm:
    """A docker client on the lab swarm and a factory of unique stack names."""

    def __init__(self) -> None:
        self.client = lab_client(timeout=30)
        self.stacks: list[str] = []

    def new_stack(self) -> str:
        """A fresh stack name: the session's prefix + 6 hex."""
        name = f"{SESSION_PREFIX}{uuid.uuid4().hex[:6]}"
        self.stacks.append(name)
        return name

    def service(self, stack: str, name: str = "app") -> dict:
        return self.client.api.inspect_service(f"{stack}_{name}")

    def tasks(self, stack: str, name: str = "app") -> list[dict]:
        return self.client.api.tasks(filters={"service": f"{stack}_{name}"})

    def wait_for(self, stack: str, predicate, timeout: float = 60.0, name: str = "app") -> dict:
        """Poll the service until `predicate(service, tasks)` holds; returns the service."""
        deadline = time.monotonic() + timeout
        svc: dict = {}
        tasks: list[dict] = []
        while time.monotonic() < deadline:
            svc = self.service(stack, name)
            tasks = self.tasks(stack, name)
            if predicate(svc, tasks):
                return svc
            time.sleep(0.25)
        seen = "; ".join(
            f"{t['ID'][:10]} v{t['Version']['Index']} {t['Status']['State']}/{t['DesiredState']}"
            f" {t['Status'].get('Err') or t['Status'].get('Message', '')!r}"
            f" exit={(t['Status'].get('ContainerStatus') or {}).get('ExitCode')}"
            for t in tasks
        )
        raise AssertionError(
            f"timed out after {timeout}s; last UpdateStatus: {svc.get('UpdateStatus')}; tasks: {seen}"
        )

    def remove_all(self) -> None:
        """Remove the stacks now; their volumes go with the session's sweep, once the containers are gone
        (waiting here would cost every live test the stop grace of its tasks)."""
        for stack in self.stacks:
            subprocess.run(["docker", "stack", "rm", stack], capture_output=True, env=lab_env(), timeout=60,
                           check=False)
        self.client.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Sweep what this session created from the lab: once, in the controller after every worker ended
    (or in the only process without xdist); also after failures and daemon restarts."""
    if hasattr(session.config, "workerinput") or not SESSION_PREFIX:
        return
    result = sweep(SESSION_PREFIX)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    if result.found:
        reporter.write_line(f"lab sweep ({SESSION_PREFIX}*): removed {len(result.found)} leftovers")
    if result.left:
        reporter.write_line(f"lab sweep ({SESSION_PREFIX}*): still there: {', '.join(result.left)}", yellow=True)


@pytest.fixture(scope="session", autouse=True)
def every_recording_replays(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """When this process's tests are done, every recording they made (CLI, TUI, `wait --record`) is
    replayed: it must give, record for record, the verdicts its recorder wrote (one pipeline)."""
    yield
    checked, problems = replay_problems(tmp_path_factory.getbasetemp())
    assert not problems, f"{len(problems)} of {checked} recordings replay to other verdicts:\n" + "\n".join(problems)


@pytest.fixture
def session_prefix() -> str:
    """This session's stack prefix (what its sweep removes)."""
    return SESSION_PREFIX


@pytest.fixture
def swarm() -> Iterator[Swarm]:
    lab = Swarm()
    try:
        yield lab
    finally:
        lab.remove_all()


@pytest.fixture
def lab_daemon() -> Iterator[LabDaemon]:
    """Stop and start the lab's own dockerd (by its recorded pid); never a daemon the lab did not start."""
    if not owns_daemon():
        reason = ("needs the lab's own dockerd (root, scripts/swarm-lab up, no CCCI_LAB_DOCKER_HOST): "
                  "this test stops and restarts it")
        # a named daemon is never stopped, so there the test is skipped even in CI mode
        if os.environ.get("CCCI_REQUIRE_SWARM") == "1" and not named_host():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    try:
        yield LabDaemon()
    finally:
        # whatever the test did, the next one finds the lab running (fast when it is)
        if swarm_lab("pid").returncode != 0 or _lab_problem() is not None:
            start_lab_daemon()


@pytest.fixture
def recipe_repo(tmp_path: Path):
    """Factory: `recipe_repo(head_script="contention"|"oom"|"base", memory=None)` -> Recipe."""

    def make(**kwargs) -> Recipe:
        return build_recipe(tmp_path / uuid.uuid4().hex[:6], **kwargs)

    return make
