"""Record a real lab rollback with `ccci-tui record`, then diagnose and compare the recording."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ccci_tui.domain import verdict as v
from ccci_tui.sources.recording import RecordingError, read_recording
from tests.support.deploy import deploy_recipe
from tests.support.recipes import BASE_TAG

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]
TERMINAL = {"completed", "paused", "rollback_completed", "rollback_paused"}


def cli(*args: str, check_json: bool = True) -> dict:
    proc = subprocess.run([sys.executable, "-m", "ccci_tui", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout) if check_json else {"code": proc.returncode, "err": proc.stderr}


def start_recorder(stack: str, out: Path, *extra: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "ccci_tui", "record", stack, "-o", str(out), *extra],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # ready once the first observation is on disk
        try:
            if out.exists() and read_recording(out).observations():
                return proc
        except RecordingError:
            pass
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("the recorder wrote no observation within 30 s")


def _state(svc: dict) -> str | None:
    return (svc.get("UpdateStatus") or {}).get("State")


def _running(tasks: list[dict]) -> bool:
    return any(t["Status"]["State"] == "running" and t["DesiredState"] == "running" for t in tasks)


def node_lines(doc: dict) -> list[str]:
    return [e["text"] for e in doc["verdict"]["evidence"] if e["source"] == "node" and e["text"].startswith("node ")]


def without_samples(doc: dict) -> dict:
    """The verdict document without what a memory sample says (it differs between two reads)."""
    verdict = dict(doc["verdict"])
    verdict["evidence"] = [e for e in verdict["evidence"] if e["source"] != "node" and not (
        e["text"].startswith("memory: ") and not e["text"].startswith(("memory: reached", "memory: node OOM")))]
    tasks = [{k: x for k, x in t.items() if k != "memory"} for t in doc.get("tasks", [])]
    return {**{k: x for k, x in doc.items() if k not in ("source", "verdict", "tasks")}, "verdict": verdict,
            "tasks": tasks}


def test_record_a_rollback_then_the_recording_gives_the_live_verdicts(swarm, recipe_repo, tmp_path):
    recipe = recipe_repo(head_script="oom", memory="32M")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: _running(t), timeout=60)
    out = tmp_path / "rollback.jsonl.gz"
    recorder = start_recorder(stack, out, "--recipe", str(recipe.path))
    try:
        deploy_recipe(recipe.path, stack)  # the checkout as it is, like `abra app deploy --chaos`
        svc = swarm.wait_for(stack, lambda s, t: _state(s) in TERMINAL, timeout=90)
        assert _state(svc) == "rollback_completed"
        time.sleep(2.5)  # the recorder polls every second: it has read the settled service
        live = cli("diagnose", stack, "--recipe", str(recipe.path), "--format", "json")
        moment = datetime.now(UTC).isoformat()
        time.sleep(1.5)
    finally:
        recorder.send_signal(signal.SIGINT)  # Ctrl-C
        assert recorder.wait(30) == 0
    assert "interrupted" in recorder.stderr.read()

    rec = read_recording(out)
    assert rec.skipped == () and rec.warnings == ()  # Ctrl-C closed the gzip stream properly
    assert rec.of_kind("note")[-1].value == "recording stopped: interrupted"
    assert {r.value.side for r in rec.of_kind("policy")} == {"base", "head"}

    # a one-shot live `diagnose` reads only the service as it is now; the recording, read the same
    # way at the same moment, must say exactly the same (only `source` names where it came from)
    one_shot = cli("diagnose", "--recording", str(out), "--at", moment, "--no-timeline", "--format", "json")
    assert live["verdict"]["kind"] == v.SWARM_ROLLBACK
    # except memory in use, sampled at other instants by the recorder and by the one-shot read: the node's
    # own facts (its memory, what its tasks limit and reserve) agree, the use figures need not
    assert without_samples(one_shot) == without_samples(live)
    assert [n.split(";")[0] for n in node_lines(one_shot)] == [n.split(";")[0] for n in node_lines(live)]
    assert node_lines(live), live["verdict"]["evidence"]
    assert one_shot["source"] == f"recording {out}"

    # with its timeline the recording gives the verdict the recorder gave live, attempted stamp included
    replayed = cli("diagnose", "--recording", str(out), "--format", "json")
    assert replayed["verdict"] == rec.last_verdict().to_dict()
    assert replayed["verdict"]["kind"] == v.SWARM_ROLLBACK and "OOM-killed" in replayed["verdict"]["summary"]
    assert any("attempted spec" in e["text"] and recipe.head[:8] in e["text"]
               for e in replayed["verdict"]["evidence"])
    context = {k: x for k, x in without_samples(replayed).items() if k != "verdict"}
    assert context == {k: x for k, x in without_samples(one_shot).items() if k != "verdict"}

    recorded = cli("compare", "--recording", str(out), "--format", "json")
    compared = cli("compare", "--recipe", str(recipe.path), BASE_TAG, "HEAD", "--stack", stack, "--format", "json")
    assert recorded == compared


def test_duration_ends_a_plain_recording_and_a_killed_recorder_leaves_a_readable_file(swarm, recipe_repo, tmp_path):
    recipe = recipe_repo(head_script="base")
    stack = swarm.new_stack()
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: _running(t), timeout=60)

    plain = tmp_path / "short.jsonl"
    done = subprocess.run([sys.executable, "-m", "ccci_tui", "record", stack, "-o", str(plain), "--recipe",
                           str(recipe.path), "--duration", "3", "--no-host"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    rec = read_recording(plain)
    assert rec.header.host is None and rec.skipped == () and len(rec.observations()) >= 2
    assert rec.of_kind("note")[-1].value == "recording stopped: --duration 3 s reached"

    missing = cli("record", f"{stack}-none", "-o", str(tmp_path / "none.jsonl"), "--duration", "1", check_json=False)
    assert missing["code"] == 2 and len(missing["err"].strip().splitlines()) == 1 and "no stack named" in missing["err"]

    killed = tmp_path / "killed.jsonl.gz"
    proc = start_recorder(stack, killed, "--recipe", str(recipe.path))
    time.sleep(2)
    proc.send_signal(signal.SIGKILL)  # a crash: no chance to close anything
    proc.wait(10)
    rec = read_recording(killed)
    assert rec.observations() and len(rec.skipped) <= 1
    assert any("no end marker" in w for w in rec.warnings)
    assert cli("diagnose", "--recording", str(killed), "--format", "json")["stack"] == stack
