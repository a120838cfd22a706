"""`ccci-tui rerun` on the lab: exact, safe, and nothing deployed on bad input."""

from __future__ import annotations

import json
import os
import threading

import pytest

from ccci_tui.cli import main
from ccci_tui.config import Config
from ccci_tui.domain.stamp import stamp_key
from ccci_tui.sources.swarm import SwarmSource
from ccci_tui.upgrade.plan import make_plan
from ccci_tui.upgrade.run import RerunCancelled, execute
from tests.support.deploy import base_running

pytestmark = pytest.mark.live



def rerun(capsys, *argv):
    capsys.readouterr()
    rc = main(["rerun", *argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_start_first_rerun_rolls_back_and_stop_first_converges(swarm, recipe_repo, capsys):
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)

    rc, out, err = rerun(capsys, stack, "--recipe", str(recipe.path), "--order", "start-first", "--yes",
                         "--format", "json")
    doc = json.loads(out)
    assert (rc, doc["verdict"]["kind"]) == (1, "swarm-rollback"), err
    assert "start-first" in doc["verdict"]["summary"]

    rc, out, err = rerun(capsys, stack, "--recipe", str(recipe.path), "--order", "stop-first", "--yes",
                         "--format", "json")
    doc = json.loads(out)
    assert (rc, doc["verdict"]["kind"]) == (0, "converged"), err
    svc = swarm.service(stack)
    assert svc["Spec"]["Labels"][stamp_key(stack)] == recipe.head[:8]
    assert svc["Spec"]["UpdateConfig"]["Order"] == "stop-first"
    # the operator's checkout was never touched, and no temporary worktree is left behind
    assert recipe.repo.head.commit.hexsha == recipe.head and not recipe.repo.is_dirty(untracked_files=True)
    assert len(recipe.repo.git.worktree("list").splitlines()) == 1


def test_dry_run_and_bad_input_deploy_nothing(swarm, recipe_repo, capsys, monkeypatch):
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    index = swarm.service(stack)["Version"]["Index"]

    rc, out, _ = rerun(capsys, stack, "--recipe", str(recipe.path), "--order", "start-first", "--dry-run")
    assert rc == 0 and "docker stack deploy --detach=true" in out and f"{recipe.head[:8]}" in out
    assert "risk:" in out

    cases = [
        (["--head", "no-such-ref"], "unknown ref 'no-such-ref'"),
        (["--base", "0.0.0+nope"], "unknown ref '0.0.0+nope'"),
        (["--service", "other_app"], "not part of stack"),
    ]
    for extra, message in cases:
        rc, _, err = rerun(capsys, stack, "--recipe", str(recipe.path), "--order", "stop-first", "--yes", *extra)
        assert rc == 2 and message in err and "nothing was deployed" in err, err

    rc, _, err = rerun(capsys, "no-such-stack", "--recipe", str(recipe.path), "--order", "stop-first", "--yes")
    assert rc == 2 and "no stack named 'no-such-stack'" in err

    (recipe.path / "scratch.txt").write_text("local change")
    rc, _, err = rerun(capsys, stack, "--recipe", str(recipe.path), "--order", "stop-first", "--yes")
    assert rc == 2 and "is dirty (1 untracked" in err
    (recipe.path / "scratch.txt").unlink()

    recipe.commit_file("compose.yml", "services: [not, a, mapping\n", "broken compose")
    rc, _, err = rerun(capsys, stack, "--recipe", str(recipe.path), "--order", "stop-first", "--yes")
    assert rc == 2 and "compose.yml" in err, err

    monkeypatch.setenv("PATH", "/nonexistent")
    rc, _, err = rerun(capsys, stack, "--recipe", str(recipe.path), "--order", "stop-first", "--yes")
    assert rc == 2 and "no docker CLI on PATH" in err
    monkeypatch.setenv("PATH", os.environ["PATH"])

    assert swarm.service(stack)["Version"]["Index"] == index  # nothing was written to the service


def test_without_yes_a_pipe_is_never_consent(swarm, recipe_repo, capsys, monkeypatch):
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    index = swarm.service(stack)["Version"]["Index"]
    monkeypatch.setattr("sys.stdin", open(os.devnull))  # noqa: SIM115 - closed by pytest's monkeypatch undo
    rc, _, err = rerun(capsys, stack, "--recipe", str(recipe.path), "--order", "stop-first")
    assert rc == 2 and "pass --yes" in err
    assert swarm.service(stack)["Version"]["Index"] == index


def test_cancel_mid_watch_stops_the_run_and_removes_the_worktrees(swarm, recipe_repo):
    # start-first contention keeps the head "updating" for seconds; the watch's own timeout is 600 s
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    source = SwarmSource()
    plan = make_plan(stack, "start-first", recipe.path, source, Config(), head_only=True, timeout=600.0)
    cancel, outcome = threading.Event(), {}

    def on_observation(obs, verdict):
        if verdict.kind == "in-progress" and obs.service.update_status is not None:
            cancel.set()  # the head is deployed and Swarm is updating: quit now

    def run():
        try:
            outcome["verdict"] = execute(plan, source, timeout=600.0, on_observation=on_observation, cancel=cancel)
        except RerunCancelled as exc:
            outcome["cancelled"] = str(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "the run did not stop after the cancel"
    assert "cancelled" in outcome.get("cancelled", ""), outcome
    assert swarm.service(stack)["Spec"]["Labels"][stamp_key(stack)] == recipe.head[:8]  # it did deploy
    assert not plan.workdir.exists()
    assert len(recipe.repo.git.worktree("list").splitlines()) == 1
    assert recipe.repo.head.commit.hexsha == recipe.head and not recipe.repo.is_dirty(untracked_files=True)
