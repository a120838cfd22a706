"""Replaying recordings: the replay source, the verdict a recording gives, and the commands on it."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import timedelta

import pytest

from ccci_tui.cli import main
from ccci_tui.domain import verdict as v
from ccci_tui.domain.model import Event, Observation, RecipeState, TagInfo
from ccci_tui.domain.replay import OBSERVATION, Recording
from ccci_tui.domain.verdict import Expectation
from ccci_tui.sources.recording import RecordingWriter, new_header, read_recording
from ccci_tui.sources.replay_source import diagnose_recording
from ccci_tui.sources.target import upgrade_sides
from ccci_tui.sources.watch import ServiceWatch
from tests.support.recipes import BASE_TAG, build_recipe
from tests.support.reference import BASE_SHA, HEAD_SHA, merged

EXPECT = Expectation(head=HEAD_SHA, head_ref="pr-head")
RECIPE = RecipeState(path="/recipes/discourse", head_sha=HEAD_SHA, head_subject="chore: upgrade to 0.9.0+3.5.0",
                     describe="0.7.0+3.3.1-9-g7ae7b0f", tags=(TagInfo("0.7.0+3.3.1", BASE_SHA),))


def record_run(path, run="C", keyframe_every=5, recipe=RECIPE):
    """Drive the recorder as LiveWatch would, with a reference run's observations and events."""
    header = new_header("research_oom", expect_head=EXPECT.head, expect_ref=EXPECT.head_ref,
                        recipe_path=recipe.path if recipe else None, notes=("app env not used: none found",))
    writer = RecordingWriter(path, header, keyframe_every=keyframe_every)
    recorder = ServiceWatch(None, "research_oom", expect=EXPECT, writer=writer)  # type: ignore[arg-type]
    if recipe is not None:
        recorder.take_recipe(recipe)
    for item in merged(run):
        if isinstance(item, Observation):
            recorder.take_observation(item)
        else:
            recorder.take_event(item)
    recorder.close("test done")
    writer.close()
    return recorder


def last_present(rec):
    """The time of the last observation that still shows the service (run C ends with `stack rm`)."""
    return next(r.at for r in reversed(rec.records) if r.kind == OBSERVATION and r.value.service is not None)


@pytest.mark.parametrize("run", ["A", "C", "E", "F", "J"])
@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_a_recording_gives_the_verdict_the_recorder_gave_live(tmp_path, run, suffix):
    path = tmp_path / f"{run}{suffix}"
    recorder = record_run(path, run)
    rec = read_recording(path)
    replayed = diagnose_recording(rec)
    assert replayed.verdict == recorder.verdict == rec.last_verdict()
    assert replayed.verdict.to_dict() == recorder.verdict.to_dict()


def test_the_oom_run_replays_as_the_incident_with_the_attempted_stamp(tmp_path):
    record_run(tmp_path / "c.jsonl.gz")
    rec = read_recording(tmp_path / "c.jsonl.gz")
    kinds = [r.value.kind for r in rec.of_kind("verdict")]
    assert kinds[-2:] == [v.SWARM_ROLLBACK, v.SERVICE_GONE] and v.IN_PROGRESS in kinds
    verdict = diagnose_recording(rec, last_present(rec)).verdict
    assert "OOM-killed 2 s into the 5 s monitor under start-first" in verdict.summary
    assert any("attempted spec" in e.text and HEAD_SHA[:8] in e.text for e in verdict.evidence)
    # without the timeline (a one-shot read of the last observation) the attempted stamp is unknown
    one_shot = diagnose_recording(rec, last_present(rec), use_timeline=False).verdict
    assert one_shot.kind == v.SWARM_ROLLBACK and not any("attempted spec" in e.text for e in one_shot.evidence)


def test_diagnose_at_a_moment_sees_only_what_was_recorded_by_then(tmp_path):
    record_run(tmp_path / "c.jsonl")
    rec = read_recording(tmp_path / "c.jsonl")
    updating = next(r for r in rec.of_kind(OBSERVATION) if r.value.service and r.value.service.update_status
                    and r.value.service.update_status.state == "updating")
    result = diagnose_recording(rec, updating.at)
    assert result.verdict.kind == v.IN_PROGRESS and result.observation is updating.value
    with pytest.raises(Exception, match="no observation of service 'app' at or before"):
        diagnose_recording(rec, rec.start - timedelta(seconds=1))


def test_cli_diagnose_recording_json_and_at(tmp_path, capsys):
    recorder = record_run(tmp_path / "c.jsonl.gz")
    path = str(tmp_path / "c.jsonl.gz")
    assert main(["diagnose", "--recording", path, "--format", "json"]) == 2  # the run ends with `stack rm`
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == recorder.verdict.to_dict() and doc["verdict"]["kind"] == v.SERVICE_GONE
    assert doc["source"] == f"recording {path}" and doc["stack"] == "research_oom"
    assert doc["notes"] == ["app env not used: none found"] and doc["expected_head"] == HEAD_SHA
    assert main(["diagnose", "research_oom", "--recording", path, "--at", "+7", "--format", "json"]) == 3
    assert json.loads(capsys.readouterr().out)["verdict"]["kind"] == v.IN_PROGRESS
    assert main(["diagnose", "other", "--recording", path]) == 2
    assert "recorded stack 'research_oom', not 'other'" in capsys.readouterr().err
    assert main(["diagnose", "--recording", path, "--at", "soon"]) == 2
    at = last_present(read_recording(path)).isoformat()
    assert main(["diagnose", "--recording", path, "--at", at, "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["verdict"]["kind"] == v.SWARM_ROLLBACK
    # expecting the base instead, the rolled-back service is just what was asked for
    assert main(["diagnose", "--recording", path, "--at", at, "--expect-head", "0.7.0+3.3.1", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["expected_head"] == BASE_SHA and doc["verdict"]["kind"] == v.CONVERGED


def test_a_recording_seeks_like_the_live_source_reads(tmp_path):
    record_run(tmp_path / "c.jsonl")
    rec = read_recording(tmp_path / "c.jsonl")
    middle = rec.observations()[len(rec.observations()) // 2]
    assert rec.observation_at(middle.at) == middle and rec.observation_at(rec.end) == rec.observations()[-1]
    assert rec.observation_at(rec.start - timedelta(days=1)) is None  # nothing read yet
    assert rec.observation_at(middle.at, "db") is None  # a service the recording does not hold
    assert rec.events() and all(isinstance(e, Event) for e in rec.events())

def test_seeking_agrees_with_a_linear_scan(tmp_path):
    record_run(tmp_path / "a.jsonl", run="A")
    rec = read_recording(tmp_path / "a.jsonl")
    rng = random.Random(5)
    span = (rec.end - rec.start).total_seconds()
    for _ in range(200):
        at = rec.start + timedelta(seconds=rng.uniform(-1, span + 1))
        linear = next((r.value for r in reversed(rec.records) if r.kind == OBSERVATION and r.at <= at), None)
        assert rec.observation_at(at) is linear
        recipe = next((r.value for r in reversed(rec.records) if r.kind == "recipe" and r.at <= at), None)
        assert rec.recipe_at(at) is recipe


def test_other_services_have_their_own_track(tmp_path):
    items = [i for i in merged("C") if isinstance(i, Observation)]
    path = tmp_path / "multi.jsonl"
    with RecordingWriter(path, new_header("research_oom"), keyframe_every=3) as w:
        for i, obs in enumerate(items):
            w.observation(obs)
            w.observation(replace(obs, at=obs.at + timedelta(milliseconds=1)), "db")
            if i % 2:
                w.observation(replace(obs, at=obs.at + timedelta(milliseconds=2)), "web")
    rec = read_recording(path)
    assert rec.services() == ("app", "db", "web")
    assert rec.observations() == items and len(rec.observations("db")) == len(items)
    at = items[5].at + timedelta(milliseconds=1)
    assert rec.observation_at(at) == items[5] and rec.observation_at(at, "db").at == at
    assert all(r.service in ("app", "db", "web") for r in rec.records)


def test_a_recording_built_in_memory_still_indexes(tmp_path):
    record_run(tmp_path / "c.jsonl")
    rec = read_recording(tmp_path / "c.jsonl")
    # consumers may build a Recording themselves, from records without a service name
    bare = Recording(header=rec.header, records=tuple(replace(r, service="") for r in rec.records))
    assert bare.observations() == rec.observations()
    assert bare.observation_at(rec.end) == rec.observation_at(rec.end)


def test_compare_recording_prints_the_recorded_policies_like_live_compare(tmp_path, capsys):
    recipe = build_recipe(tmp_path, head_script="oom", memory="32M")
    path = tmp_path / "p.jsonl.gz"
    with RecordingWriter(path, new_header("lab_stack")) as w:
        sides, _ = upgrade_sides(recipe.path, "lab_stack", ("compose.yml",), base=BASE_TAG)
        for side in sides:
            w.policy(side.side, side.ref, side.commit, side.policy)
    assert main(["compare", "--recording", str(path), "--format", "json"]) == 0
    replayed = capsys.readouterr().out
    assert main(["compare", "--recipe", str(recipe.path), BASE_TAG, "HEAD", "--stack", "lab_stack",
                 "--format", "json"]) == 0
    live = capsys.readouterr().out
    assert json.loads(replayed) == json.loads(live)
    assert any(r["kind"] for r in json.loads(live)["risks"]["head"])
    assert main(["compare", "--recording", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"recorded in {path}: base {BASE_TAG} ({recipe.base[:8]})")
    assert main(["compare", "--recording", str(path), BASE_TAG, "HEAD"]) == 2
    record_run(tmp_path / "nopolicy.jsonl")
    assert main(["compare", "--recording", str(tmp_path / "nopolicy.jsonl")]) == 2
    assert "holds no base and no head compose policy" in capsys.readouterr().err
