"""The gate and the recording in one step: `wait --record`, and `record --until-verdict`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ccci_tui.domain import verdict as v
from ccci_tui.domain.replay import OBSERVATION, VERDICT
from ccci_tui.sources.recording import RecordingError, read_recording
from tests.support.deploy import base_running, deploy_recipe

pytestmark = pytest.mark.live
ROOT = Path(__file__).resolve().parents[2]


def ccci(*argv: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ccci_tui", *argv], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, check=False)



def test_wait_record_writes_exactly_what_the_gate_watched(swarm, recipe_repo, tmp_path):
    recipe = recipe_repo(head_script="contention")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    before = swarm.service(stack)["Version"]["Index"]
    out = tmp_path / "gate.jsonl.gz"
    proc = ccci("wait", stack, "--recipe", str(recipe.path), "--format", "json", "--timeout", "120",
                "--record", str(out), "--", sys.executable, "-m", "tests.support.deploy", str(recipe.path), stack)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    gate = json.loads(proc.stdout)["verdict"]
    assert gate["kind"] == v.SWARM_ROLLBACK

    recording = read_recording(out)
    header = recording.header
    assert header.marker is not None and (header.marker.index or 0) >= before  # the read before the deploy
    recorded_recipe = recording.recipe_at()
    assert header.recipe_path == str(recipe.path) and recorded_recipe and recorded_recipe.head_sha == recipe.head
    kinds = [r.kind for r in sorted(recording.records, key=lambda r: r.line)]
    assert kinds.count(OBSERVATION) >= 3 and kinds[-1] == "note"
    written = recording.last_verdict()
    assert written is not None and written.to_dict() == gate  # the file ends on the gate's own verdict
    # no verdict in the file is terminal before the last: the gate stopped at its first terminal one
    assert all(r.value.kind in (v.IN_PROGRESS, v.STALE_STATUS) for r in recording.of_kind(VERDICT)[:-1])
    # and the reviewer's replay gives the same verdict from the file alone
    proc = ccci("diagnose", "--recording", str(out), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == gate


def test_record_until_verdict_waits_for_the_next_deploy_then_stops(swarm, recipe_repo, tmp_path):
    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    base_running(swarm, recipe, stack)
    out = tmp_path / "until.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "ccci_tui", "record", stack, "--recipe", str(recipe.path),
                             "-o", str(out), "--until-verdict", "--duration", "150"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):  # a bound on waiting for the recorder's first read, not a timing assertion
            try:
                if read_recording(out).observations():
                    break
            except RecordingError:
                pass
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        assert proc.poll() is None  # a settled service is no answer: it waits for the next deploy
        deploy_recipe(recipe.path, stack, order="stop-first")
        _, err = proc.communicate(timeout=150)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "terminal verdict converged" in err, err
    recording = read_recording(out)
    verdicts = [r.value.kind for r in recording.of_kind(VERDICT)]
    assert verdicts[0] == v.STALE_STATUS and verdicts[-1] == v.CONVERGED, verdicts
    assert recording.header.marker is not None
