"""One rule for the base and the compose chain: `record`, the compare screen, `compare` and `rerun --dry-run`
name the same ones for the same stack.

The stack runs the older release 0.6.0 while the recipe also has 0.7.0 and, off to the side, a tag
newer than HEAD: "the newest tag that is not HEAD" would say 1.0.0, "the newest tag before HEAD"
0.7.0; the stamp says 0.6.0, and so must every command. The app env's COMPOSE_FILE adds the overlay.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccci_tui.sources.recording import read_recording
from tests.support.deploy import deploy_recipe
from tests.support.recipes import BASE_TAG

pytestmark = pytest.mark.live
ROOT = Path(__file__).resolve().parents[2]
OLD = "0.6.0+3.2.0"
CHAIN = ("compose.yml", "compose.lab.yml")


@pytest.fixture
def stack_on_the_older_release(swarm, recipe_repo, tmp_path, monkeypatch):
    recipe = recipe_repo(head_script="base")
    repo = recipe.repo
    head_branch = repo.active_branch.name
    repo.git.checkout("-q", "-b", "side")  # a release made off to the side: newer than HEAD, not before it
    recipe.commit_file("NOTES.md", "side release\n", "side release")
    repo.create_tag("1.0.0+4.0.0", message="1.0.0+4.0.0")
    repo.git.checkout("-q", head_branch)
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=OLD)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    abra = tmp_path / "abra"
    (abra / "servers" / "lab").mkdir(parents=True)
    (abra / "servers" / "lab" / f"{stack}.env").write_text(
        f'TYPE=discourse\nDOMAIN={stack}\nCOMPOSE_FILE="{":".join(CHAIN)}"\n')
    monkeypatch.setenv("ABRA_DIR", str(abra))
    return recipe, stack


def ccci(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ccci_tui", *argv], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ), timeout=120, check=False)


def _files(labels: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(label.split("@")[0] for label in labels)


@pytest.mark.serial
async def test_record_compare_screen_compare_and_rerun_name_the_same_base_and_chain(stack_on_the_older_release,
                                                                                    tmp_path):
    from ccci_tui.sources.swarm import SwarmSource
    from ccci_tui.sources.target import resolve_target
    from ccci_tui.tui.app import AppOptions

    recipe, stack = stack_on_the_older_release
    named: dict[str, tuple[str, tuple[str, ...]]] = {}

    out = tmp_path / "r.jsonl"
    proc = ccci("record", stack, "--recipe", str(recipe.path), "-o", str(out), "--duration", "1")
    assert proc.returncode == 0, proc.stderr
    base = next(r.value for r in read_recording(out).of_kind("policy") if r.value.side == "base")
    named["record"] = (base.ref, _files(base.policy.files))

    proc = ccci("compare", "--recipe", str(recipe.path), "--stack", stack, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    named["compare"] = (doc["base"], tuple(proc.stderr.split("files ")[1].split()[0].split(":")))

    proc = ccci("rerun", stack, "--order", "stop-first", "--recipe", str(recipe.path), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    lines = {ln.split()[0]: ln.split()[1] for ln in proc.stdout.splitlines()[1:6] if ln.startswith("  ")}
    named["rerun --dry-run"] = (lines["base"], tuple(lines["compose"].split(":")))

    app = AppOptions(source=SwarmSource(), stack=stack, service="app", cursor_blink=False,
                     resolver=lambda st, sv: resolve_target(st, sv, str(recipe.path))).build()
    async with app.run_test(size=(120, 36)):
        await app.wait_settled()
        assert app.live is not None
        for _ in range(300):  # a bound on waiting for the feed's background reads, not a timing assertion
            if app.main.view is not None and app.main.view.verdict is not None:
                break
            await app.wait_settled()
        comparer, reason = app.comparer_for()
        assert comparer is not None, reason
        choices = comparer.choices()
        named["compare screen"] = (str(choices.base), ("compose.yml", *choices.chosen))

    assert set(named.values()) == {(OLD, CHAIN)}, named
    assert BASE_TAG != OLD  # the rule is the stamp's, not "the newest tag before HEAD"
