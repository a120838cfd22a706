"""No verdict before its evidence: with a `git` that sleeps, nothing says `converged` first.

The stack runs the base tag while the recipe checkout is at the head: the only true verdict is
`stamp-mismatch`. Made without the recipe, a verdict would say `converged` ("no expected head
given") and turn red once the slow read came in, with nothing deployed in between.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import git
import pytest

from ccci_tui.domain import verdict as v
from ccci_tui.domain.replay import RECIPE, VERDICT
from ccci_tui.sources.recording import read_recording
from ccci_tui.sources.swarm import SwarmSource
from ccci_tui.sources.target import resolve_target
from ccci_tui.tui.live_feed import LiveFeed
from ccci_tui.tui.replay_feed import ReplayFeed
from ccci_tui.tui.view import View
from tests.support.deploy import deploy_recipe
from tests.support.recipes import BASE_TAG

pytestmark = pytest.mark.live
ROOT = Path(__file__).resolve().parents[2]
GIT_DELAY_S = 1.0


@pytest.fixture
def slow_git(tmp_path: Path) -> Path:
    """A directory holding a `git` that sleeps before every call (a slow disk, a large repository)."""
    real = shutil.which("git")
    assert real is not None
    bin_dir = tmp_path / "slow-bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(f"#!/bin/sh\nsleep {GIT_DELAY_S}\nexec {real} \"$@\"\n")
    wrapper.chmod(0o755)
    return bin_dir


@pytest.fixture
def base_deployed_head_checked_out(swarm, recipe_repo):
    """A stack running the base tag; the recipe checkout is at the head (so the stamp is wrong)."""
    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    return recipe, stack


def ccci(slow_bin: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{slow_bin}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([sys.executable, "-m", "ccci_tui", *argv], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120, check=False)


def test_the_tui_feed_shows_the_service_first_and_no_verdict_until_the_slow_recipe_read(
        slow_git, base_deployed_head_checked_out, monkeypatch):
    recipe, stack = base_deployed_head_checked_out
    monkeypatch.setattr(git.Git, "GIT_PYTHON_GIT_EXECUTABLE", str(slow_git / "git"))  # GitPython's git
    views: list[View] = []
    got_verdict = threading.Event()

    def publish(view: View) -> None:
        views.append(view)
        if view.verdict is not None:
            got_verdict.set()

    feed = LiveFeed(SwarmSource(), stack, "app", publish, poll_interval=0.5, memory_interval=None,
                    resolver=lambda st, sv: resolve_target(st, sv, str(recipe.path)))
    feed.start()
    try:
        assert got_verdict.wait(60), [(x.mode, x.reading) for x in views]
    finally:
        feed.close()
    shown = list(views)
    first = next(i for i, x in enumerate(shown) if x.verdict is not None)
    # the service was on screen while the recipe was still being read, with no verdict
    assert any(x.observation is not None and x.verdict is None and x.reading for x in shown[:first]), \
        [(x.observation is not None, x.reading) for x in shown[:first]]
    assert all(x.verdict is None for x in shown[:first])
    kinds = [x.verdict.kind for x in shown if x.verdict is not None]
    assert kinds[0] == v.STAMP_MISMATCH, shown[first].verdict
    assert set(kinds) == {v.STAMP_MISMATCH}, kinds


@pytest.mark.serial
async def test_the_tui_paints_at_once_and_says_what_it_is_reading(slow_git, base_deployed_head_checked_out,
                                                                   monkeypatch):
    from ccci_tui.tui.app import AppOptions
    from tests.tui.support import screen_text

    recipe, stack = base_deployed_head_checked_out
    monkeypatch.setattr(git.Git, "GIT_PYTHON_GIT_EXECUTABLE", str(slow_git / "git"))  # GitPython's git
    app = AppOptions(source=SwarmSource(), stack=stack, service="app", cursor_blink=False,
                     resolver=lambda st, sv: resolve_target(st, sv, str(recipe.path))).build()
    banners: list[str] = []

    async def until(predicate, what: str) -> None:  # noqa: ANN001
        for _ in range(600):  # a bound on waiting for the app, not a timing assertion
            text = screen_text(app)
            banners.append(next((ln for ln in text.splitlines() if "VERDICT" in ln or "MISMATCH" in ln
                                 or "CONVERGED" in ln), ""))
            if predicate(text):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"never {what}; banners seen: {sorted(set(banners))}")

    async with app.run_test(size=(120, 36)):
        await until(lambda t: "NO VERDICT YET  reading the app env and recipe" in t and stack in t,
                    "said it was reading the recipe")
        await until(lambda t: "STAMP-MISMATCH" in t, "showed the verdict")
    assert not any("CONVERGED" in b for b in banners), sorted(set(banners))


def test_diagnose_with_slow_git_says_stamp_mismatch(slow_git, base_deployed_head_checked_out):
    recipe, stack = base_deployed_head_checked_out
    proc = ccci(slow_git, "diagnose", stack, "--recipe", str(recipe.path), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    assert '"kind": "stamp-mismatch"' in proc.stdout, proc.stdout


def test_record_and_its_replay_with_slow_git_never_say_converged(slow_git, base_deployed_head_checked_out,
                                                                  tmp_path):
    recipe, stack = base_deployed_head_checked_out
    out = tmp_path / "slow.jsonl"
    proc = ccci(slow_git, "record", stack, "--recipe", str(recipe.path), "-o", str(out), "--duration", "3")
    assert proc.returncode == 0, proc.stderr
    recording = read_recording(out)
    kinds = [r.kind for r in sorted(recording.records, key=lambda r: r.line)]
    assert RECIPE in kinds and VERDICT in kinds
    assert kinds.index(RECIPE) < kinds.index(VERDICT)  # the recipe is in before the first verdict
    verdicts = [r.value.kind for r in recording.of_kind(VERDICT)]
    assert verdicts[0] == v.STAMP_MISMATCH and v.CONVERGED not in verdicts, verdicts
    replay = ReplayFeed(recording, "slow.jsonl")
    shown = [replay.view_at(i).verdict for i in range(len(replay))]
    assert {x.kind for x in shown if x is not None} == {v.STAMP_MISMATCH}


def test_wait_reads_the_recipe_after_the_deploy_command_checked_out_the_head(slow_git, swarm, recipe_repo):
    """The deploy command checks the head out itself: the expected head is the recipe HEAD after it."""
    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    subprocess.run(["git", "-C", str(recipe.path), "checkout", "-q", BASE_TAG], check=True)
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    deploy = (f"git -C {recipe.path} checkout -q main && "
              f"{sys.executable} -m tests.support.deploy {recipe.path} {stack} --order stop-first")
    proc = ccci(slow_git, "wait", stack, "--recipe", str(recipe.path), "--format", "json", "--timeout", "90",
                "--", "sh", "-c", deploy)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert '"kind": "converged"' in proc.stdout and recipe.head in proc.stdout, proc.stdout
