"""Every docker context at once on the real labs: a DOCKER_CONFIG written by the docker CLI holding the
single-node lab, the two-node lab's manager and a context at a dead socket; each lab's stacks come with
their context, the dead one is reported unreachable without holding up the others."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccci_tui.sources.contexts import ContextStacks, DockerContext, DockerContexts, list_contexts, read_contexts
from tests.support.deploy import deploy_recipe
from tests.support.multinode import MultiNodeLab
from tests.support.recipes import BASE_TAG

pytestmark = pytest.mark.live

LAB_HOST = os.environ["DOCKER_HOST"]  # tests/conftest.py points this process at the single-node lab


@pytest.fixture
def dead_socket() -> Iterator[str]:
    """A unix socket file nobody listens on: connecting is refused at once."""
    where = Path(tempfile.mkdtemp(prefix="ccci-dead-", dir="/tmp"))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(where / "docker.sock"))
    sock.close()  # the file stays; no process listens behind it
    try:
        yield f"unix://{where / 'docker.sock'}"
    finally:
        shutil.rmtree(where, ignore_errors=True)


def docker_config(root: Path, contexts: dict[str, str]) -> dict[str, str]:
    """A DOCKER_CONFIG holding `contexts` (name -> endpoint), written by the docker CLI itself; the env to
    read it with (its DOCKER_HOST makes `default` the single-node lab: nothing here reads this machine's own
    daemon)."""
    docker = shutil.which("docker")
    assert docker is not None, "the live tests deploy with the docker CLI"
    env = {"DOCKER_CONFIG": str(root), "DOCKER_HOST": LAB_HOST, "HOME": str(root)}
    for name, host in contexts.items():
        subprocess.run([docker, "--config", str(root), "context", "create", name, "--docker", f"host={host}"],
                       check=True, capture_output=True, timeout=30, env={"PATH": os.environ.get("PATH", "")})
    return env


def read_all(contexts: tuple[DockerContext, ...]) -> list[ContextStacks]:
    """Every context's result, in the order they came in."""
    results: list[ContextStacks] = []
    lock = threading.Lock()

    def collect(result: ContextStacks) -> None:
        with lock:
            results.append(result)

    assert read_contexts(contexts, collect, timeout=10.0).wait(60)
    return results


def test_the_lab_s_stacks_with_its_context_and_a_dead_context_unreachable(swarm, recipe_repo, tmp_path,
                                                                          dead_socket) -> None:  # noqa: ANN001
    stack = swarm.new_stack()
    deploy_recipe(recipe_repo(head_script="base").path, stack, ref=BASE_TAG)
    env = docker_config(tmp_path / "docker", {"single": LAB_HOST, "dead": dead_socket})
    contexts = tuple(c for c in list_contexts(env) if c.name != "default")
    assert [(c.name, c.host) for c in contexts] == [("dead", dead_socket), ("single", LAB_HOST)]
    results = {r.name: r for r in read_all(contexts)}
    single, dead = results["single"], results["dead"]
    assert single.error is None and single.host == LAB_HOST
    assert stack in [s.name for s in single.stacks or ()]
    assert next(s for s in single.stacks or () if s.name == stack).services == (f"{stack}_app",)
    assert dead.stacks is None and f"Docker daemon unreachable at {dead_socket}" in (dead.error or "")


@pytest.mark.multinode
def test_both_labs_as_two_contexts(swarm, multinode_lab: MultiNodeLab, recipe_repo, tmp_path,
                                   dead_socket) -> None:  # noqa: ANN001
    lab = multinode_lab
    recipe = recipe_repo(head_script="base")
    single_stack, multi_stack = swarm.new_stack(), lab.new_name()  # each swept by its lab's fixture
    deploy_recipe(recipe.path, single_stack, ref=BASE_TAG)
    deploy_recipe(recipe.path, multi_stack, ref=BASE_TAG, env={"DOCKER_HOST": lab.manager})
    env = docker_config(tmp_path / "docker", {"single": LAB_HOST, "multi": lab.manager, "dead": dead_socket})
    contexts = tuple(c for c in list_contexts(env) if c.name != "default")
    results = read_all(contexts)
    by_name = {r.name: r for r in results}
    assert sorted(by_name) == ["dead", "multi", "single"]
    assert by_name["multi"].host == lab.manager and by_name["single"].host == LAB_HOST
    listed = {(r.name, s.name) for r in results for s in r.stacks or ()}
    # each lab's stack under its own context, and only there
    assert ("single", single_stack) in listed and ("multi", multi_stack) in listed
    assert ("multi", single_stack) not in listed and ("single", multi_stack) not in listed
    assert by_name["dead"].stacks is None and "unreachable" in (by_name["dead"].error or "")
    # choosing the two-node lab's stack watches it there, named so in the header
    ctx = next(c for c in contexts if c.name == "multi")
    source = DockerContexts(env).source(ctx)
    try:
        obs = source.observe(multi_stack)
    finally:
        source.close()
    assert obs.service is not None and obs.service.name == f"{multi_stack}_app"
    assert source.label == f"context multi ({lab.manager})"
