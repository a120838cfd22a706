"""Read-only by default: without --yes (or --write in the TUI) no write reaches the daemon.

Every command runs against a logging proxy in front of the real daemon, so the proof is what
crossed the socket, not what the code intends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.deploy import deploy_recipe
from tests.support.proxy import EngineProxy
from tests.support.recipes import BASE_TAG

pytestmark = pytest.mark.live
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def proxy():
    p = EngineProxy()
    yield p
    p.close()


def ccci(proxy, *argv, stdin=subprocess.DEVNULL):
    env = {**os.environ, "DOCKER_HOST": proxy.url}
    return subprocess.run([sys.executable, "-m", "ccci_tui", *argv], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120, stdin=stdin, check=False)


def test_headless_commands_only_read(proxy, swarm, recipe_repo):
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    index = swarm.service(stack)["Version"]["Index"]

    assert ccci(proxy, "diagnose", stack, "--recipe", str(recipe.path)).returncode == 1
    mark = json.loads(ccci(proxy, "mark", stack, "--format", "json").stdout)
    assert ccci(proxy, "wait", stack, "--since-index", str(mark["index"]), "--timeout", "2").returncode in (1, 3)
    assert ccci(proxy, "compare", "--recipe", str(recipe.path), BASE_TAG, "HEAD").returncode == 0
    dry = ccci(proxy, "rerun", stack, "--recipe", str(recipe.path), "--order", "stop-first", "--dry-run")
    assert dry.returncode == 0 and "docker stack deploy" in dry.stdout
    refused = ccci(proxy, "rerun", stack, "--recipe", str(recipe.path), "--order", "stop-first")
    assert refused.returncode == 2 and "pass --yes" in refused.stderr

    assert len(proxy.requests) > 10, proxy.requests  # the proxy really saw the traffic
    assert proxy.writes() == []
    assert swarm.service(stack)["Version"]["Index"] == index


def test_rerun_with_yes_is_the_one_that_writes(proxy, swarm, recipe_repo):
    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    done = ccci(proxy, "rerun", stack, "--recipe", str(recipe.path), "--order", "stop-first", "--yes",
                "--head-only")
    assert done.returncode == 0, done.stderr
    assert any(m == "POST" and "/services/" in p and p.endswith("/update") or "/update?" in p
               for m, p in proxy.writes()), proxy.writes()
