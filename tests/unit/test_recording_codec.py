"""The recording codec: exact round trips of every model type, deltas, and redaction of a tree."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccci_tui.domain import codec
from ccci_tui.domain.codec import CodecError
from ccci_tui.domain.compose import ComposePolicy, load_policy
from ccci_tui.domain.diagnose import diagnose
from ccci_tui.domain.model import Event, Observation, RecipeState, TagInfo, TaskState
from ccci_tui.domain.replay import Header
from ccci_tui.domain.timeline import TimelineBuilder
from ccci_tui.domain.verdict import Expectation, Verdict
from ccci_tui.sources import convert
from ccci_tui.sources.recording_redact import redact_tree, redacted_observation_tree
from tests.support.reference import merged

COMPOSE_DIR = Path(__file__).parents[1] / "fixtures" / "swarm-lab" / "compose"
CAPTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "engine" / "rollback-capture.json").read_text())


def via_json(tree):
    """What a file gives back: the tree after a JSON round trip."""
    return json.loads(json.dumps(tree))


def capture_observation(state: str) -> Observation:
    snap = CAPTURE["snapshots"][state]
    svc = convert.service_state(snap["service"])
    tasks = tuple(convert.task_state(t, svc) for t in snap["tasks"])
    return Observation(at=datetime(2026, 11, 27, 19, 20, 1, 123456, tzinfo=UTC), service=svc, tasks=tasks)


@pytest.mark.parametrize("state", ["updating", "rollback_started", "rollback_completed"])
def test_real_engine_observations_round_trip_exactly(state):
    obs = capture_observation(state)
    back = codec.decode_observation(via_json(codec.encode_observation(obs)), obs.at)
    assert back == obs
    assert back.service.spec.update_config == obs.service.spec.update_config
    assert [type(t.memory_limit) for t in back.tasks] == [type(t.memory_limit) for t in obs.tasks]


@pytest.mark.parametrize("run", ["A", "C", "D", "F", "J"])
def test_reference_runs_round_trip_exactly(run):
    for item in merged(run):
        if isinstance(item, Observation):
            assert codec.decode_observation(via_json(codec.encode_observation(item)), item.at) == item
        else:
            assert codec.decode_event(via_json(codec.encode(item, skip=("at",))), item.at) == item


def test_verdicts_of_a_reference_run_round_trip():
    builder = TimelineBuilder()
    seen = 0
    for item in merged("C"):
        if isinstance(item, Event):
            builder.add_event(item)
            continue
        builder.add_observation(item)
        verdict = diagnose(item, None, Expectation(head="7ae7b0f7", now=item.at), builder.snapshot())
        assert codec.decode(Verdict, via_json(codec.encode(verdict))) == verdict
        seen += 1
    assert seen > 5


def test_recipe_state_and_header_round_trip():
    state = RecipeState(path="/r", head_sha="a" * 40, head_subject="chore: upgrade", describe="0.7.0+3.3.1-9-gaaaa",
                        tags=(TagInfo("0.7.0+3.3.1", "b" * 40), TagInfo("0.6.0", "c" * 40, annotated=False)),
                        untracked=("x.yml",), branch=None)
    assert codec.decode(RecipeState, via_json(codec.encode(state))) == state
    header = Header(format="ccci-recording", version=1, tool_version="0.1.0", host=None, stack="s",
                    created=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), notes=("n",), expect_head="a" * 40)
    assert codec.decode(Header, via_json(codec.encode(header))) == header


def test_compose_policy_round_trips_with_fields_and_ports():
    policy = load_policy([(n, (COMPOSE_DIR / n).read_text()) for n in ("oom-v2-startfirst.yml",)], {})
    text = "services:\n  web:\n    image: x\n    ports: ['80:8080', '443:8443/udp']\n    healthcheck:\n" \
           "      test: [CMD, curl, -f, http://localhost]\n"
    other = load_policy([("compose.yml", text)], {})
    for p in (policy, other):
        back = codec.decode(ComposePolicy, via_json(codec.encode(p)))
        assert back == p
    assert isinstance(codec.decode(ComposePolicy, via_json(codec.encode(other))).services["web"].ports, tuple)


def test_defaults_are_left_out_and_come_back():
    task = TaskState(id="t1", slot=None, node_id="n", desired="running", state="running")
    tree = codec.encode(task)
    assert set(tree) == {"id", "slot", "node_id", "desired", "state"}
    assert codec.decode(TaskState, tree) == task


def test_times_keep_microseconds_and_offsets():
    utc = datetime(2026, 11, 27, 19, 19, 56, 984698, tzinfo=UTC)
    assert codec.encode_time(utc) == "2026-11-27T19:19:56.984698Z"
    assert codec.decode_time(codec.encode_time(utc)) == utc
    plus2 = datetime(2026, 11, 27, 21, 0, tzinfo=timezone(timedelta(hours=2)))
    assert codec.decode_time(codec.encode_time(plus2)) == plus2
    assert codec.decode_time(codec.encode_time(plus2)).utcoffset() == timedelta(hours=2)
    with pytest.raises(CodecError, match="without a UTC offset"):
        codec.decode_time("2026-11-27T19:19:56")
    with pytest.raises(CodecError, match="not an RFC 3339 time"):
        codec.decode_time("yesterday")


def test_decode_names_the_missing_or_bad_field():
    with pytest.raises(CodecError, match="TaskState: field 'state' is missing"):
        codec.decode(TaskState, {"id": "t", "slot": 1, "node_id": "", "desired": "running"})
    with pytest.raises(CodecError, match="ServiceState.updated_at"):
        tree = codec.encode(capture_observation("updating").service)
        codec.decode(type(capture_observation("updating").service), {**tree, "updated_at": "never"})
    with pytest.raises(CodecError, match="unknown task"):
        codec.decode_observation({"service": None, "tasks": {}, "order": ["ghost"]}, datetime.now(UTC))


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3))
json_tree = st.recursive(
    st.dictionaries(st.text(max_size=3), json_leaf, max_size=4),
    lambda children: st.dictionaries(
        st.text(max_size=3), st.one_of(json_leaf, children, st.lists(json_leaf, max_size=2)), max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_tree, json_tree)
def test_a_delta_turns_old_into_new(old, new):
    delta = codec.diff_tree(old, new)
    assert codec.apply_delta(old, via_json(delta)) == new
    assert (delta == {}) == (old == new)


def test_apply_delta_shares_unchanged_branches_and_rejects_junk():
    old = {"a": {"x": 1}, "b": {"y": 2}}
    new = codec.apply_delta(old, {"~": {"a": {"=": {"x": 3}}}})
    assert new == {"a": {"x": 3}, "b": {"y": 2}} and new["b"] is old["b"] and old["a"] == {"x": 1}
    with pytest.raises(CodecError):
        codec.apply_delta(old, {"?": 1})
    with pytest.raises(CodecError):
        codec.apply_delta({"a": 1}, {"~": {"a": {"=": {"x": 1}}}})


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJlLXBhcnQ"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"


def test_redact_tree_masks_secret_labels_and_secret_text_but_keeps_ids_and_times():
    obs = capture_observation("rollback_completed")
    svc = obs.service
    spec = type(svc.spec)(**{**svc.spec.__dict__, "labels": {
        **svc.spec.labels, "coop-cloud.x.DB_PASSWORD": "hunter2", "api_token": "t0k3n", "plain": JWT, "keep": "me"}})
    task = type(obs.tasks[0])(**{**obs.tasks[0].__dict__, "err": f"connect postgres://app:s3cret@db failed; KEY={PEM}"})
    obs = Observation(at=obs.at, service=type(svc)(**{**svc.__dict__, "spec": spec}), tasks=(task, *obs.tasks[1:]))
    tree = redact_tree(codec.encode_observation(obs))
    text = json.dumps(tree)
    for secret in ("hunter2", "t0k3n", JWT, "s3cret", "MIIEowIBAAKCAQEA"):
        assert secret not in text
    labels = tree["service"]["spec"]["labels"]
    assert labels["keep"] == "me" and labels["coop-cloud.x.DB_PASSWORD"] == "<redacted>"
    assert tree["order"] == [t.id for t in obs.tasks] and tree["service"]["updated_at"].endswith("Z")


@pytest.mark.parametrize("run", ["A", "C", "F", "J"])
def test_the_recorders_cached_path_builds_the_same_trees(run):
    for item in merged(run):
        if isinstance(item, Observation):
            assert redacted_observation_tree(item) == redact_tree(codec.encode_observation(item))
