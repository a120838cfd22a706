"""DOCKER_HOST=ssh://root@127.0.0.1: the lab through a local sshd (scripts/swarm-lab ssh-up)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.deploy import deploy_recipe
from tests.support.recipes import BASE_TAG

# serial: the module's sshd is started and stopped by a module fixture, so both tests must run in one
# process (under xdist a second worker's teardown stopped the sshd the first was using)
pytestmark = [pytest.mark.live, pytest.mark.serial]
ROOT = Path(__file__).resolve().parents[2]
SSH_HOST = "ssh://root@127.0.0.1"


@pytest.fixture(scope="module")
def ssh_lab():
    proc = subprocess.run([str(ROOT / "scripts" / "swarm-lab"), "ssh-up"], capture_output=True, text=True,
                          timeout=300, check=False)
    if proc.returncode != 0:
        reason = f"lab sshd unavailable: {proc.stderr.strip().splitlines()[-1:]}"
        if os.environ.get("CCCI_REQUIRE_SWARM") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    yield {**os.environ, "DOCKER_HOST": SSH_HOST}
    subprocess.run([str(ROOT / "scripts" / "swarm-lab"), "ssh-down"], capture_output=True, timeout=60, check=False)


def ccci(env, *argv, timeout=120):
    return subprocess.run([sys.executable, "-m", "ccci_tui", *argv], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=timeout, check=False)


def test_diagnose_and_wait_over_ssh(ssh_lab, swarm, recipe_repo):
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)

    proc = ccci(ssh_lab, "diagnose", stack, "--recipe", str(recipe.path), "--format", "json")
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1 and doc["source"] == SSH_HOST, proc.stderr
    assert doc["verdict"]["kind"] == "stamp-mismatch"  # the base runs; the recipe HEAD is the head

    proc = ccci(ssh_lab, "wait", stack, "--recipe", str(recipe.path), "--format", "json", "--timeout", "90",
                "--", sys.executable, "-m", "tests.support.deploy", str(recipe.path), stack)
    doc = json.loads(proc.stdout)
    assert (proc.returncode, doc["verdict"]["kind"]) == (1, "swarm-rollback"), proc.stderr
    assert any("attempted spec" in e["text"] for e in doc["verdict"]["evidence"])


async def test_tui_over_ssh(ssh_lab, swarm, recipe_repo, monkeypatch):
    import asyncio

    from ccci_tui.sources.swarm import SwarmSource
    from ccci_tui.sources.target import resolve_target
    from ccci_tui.tui.app import AppOptions
    from tests.tui.support import screen_text

    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    app = AppOptions(source=SwarmSource(SSH_HOST), stack=stack, service="app", cursor_blink=False,
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
