"""Shared fixtures: the lab swarm, unique stacks that are always removed, throwaway recipes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from tests.support.lab import lab_problem
from tests.support.recipes import Recipe, build_recipe

REFERENCE = Path(__file__).parent / "fixtures" / "swarm-lab"


lab_problem = cache(lab_problem)  # asked once per session (and per xdist worker)


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
        import docker

        self.client = docker.from_env(timeout=30)
        self.stacks: list[str] = []

    def new_stack(self, prefix: str = "ccci-t") -> str:
        name = f"{prefix}{uuid.uuid4().hex[:8]}"
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
        """Remove the stacks now; their volumes go at the end of the session, once the containers
        are gone (waiting here would cost every live test the stop grace of its tasks)."""
        for stack in self.stacks:
            subprocess.run(["docker", "stack", "rm", stack], capture_output=True, timeout=60, check=False)
        REMOVED_STACKS.extend(self.stacks)
        self.client.close()


REMOVED_STACKS: list[str] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop the volumes of every stack this session removed, after their containers went."""
    if not REMOVED_STACKS:
        return
    import docker

    client = docker.from_env(timeout=30)
    try:
        deadline = time.monotonic() + 60
        for stack in REMOVED_STACKS:
            label = f"com.docker.stack.namespace={stack}"
            # the low-level list: the high-level one inspects each container and races their removal
            while time.monotonic() < deadline and client.api.containers(all=True, filters={"label": label}):
                time.sleep(0.3)
            for vol in (client.api.volumes(filters={"label": label}) or {}).get("Volumes") or []:
                with contextlib.suppress(Exception):  # best effort: a leftover volume harms nothing
                    client.api.remove_volume(vol["Name"], force=True)
    except Exception:  # noqa: BLE001 - cleanup must never fail the run
        pass
    finally:
        client.close()


@pytest.fixture
def swarm() -> Iterator[Swarm]:
    lab = Swarm()
    try:
        yield lab
    finally:
        lab.remove_all()


@pytest.fixture
def recipe_repo(tmp_path: Path):
    """Factory: `recipe_repo(head_script="contention"|"oom"|"base", memory=None)` -> Recipe."""

    def make(**kwargs) -> Recipe:
        return build_recipe(tmp_path / uuid.uuid4().hex[:6], **kwargs)

    return make
