"""Diagnosis over arbitrary observation sequences: never an uncaught exception, always the same verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccci_tui.domain import verdict as v
from ccci_tui.domain.diagnose import diagnose
from ccci_tui.domain.model import (
    TASK_STATES,
    UPDATE_STATES,
    Event,
    Observation,
    RecipeState,
    ServiceState,
    SpecSummary,
    TaskState,
    UpdatePolicy,
    UpdateStatus,
)
from ccci_tui.domain.stamp import parse_stamp
from ccci_tui.domain.timeline import TimelineBuilder
from ccci_tui.domain.verdict import Expectation

T0 = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
SHAS = ["eb96de94" + "0" * 32, "7ae7b0f7" + "1" * 32, "0123abcd" + "2" * 32]
text = st.text(max_size=40)
when = st.integers(min_value=0, max_value=600).map(lambda s: T0 + timedelta(seconds=s))
stamps = st.one_of(st.none(), st.sampled_from([s[:8] for s in SHAS]), st.sampled_from([s[:8] + "+U" for s in SHAS]),
                   text)
fps = st.sampled_from(["fp-base", "fp-head", "fp-other"])


@st.composite
def specs(draw):
    labels = {"com.docker.stack.namespace": "s"}
    stamp = draw(stamps)
    if stamp is not None:
        labels["coop-cloud.s.chaos-version"] = stamp
    policy = draw(st.one_of(st.none(), st.builds(
        UpdatePolicy, order=st.sampled_from(["stop-first", "start-first"]),
        failure_action=st.sampled_from(["pause", "rollback", "continue"]),
        monitor_s=st.floats(min_value=0, max_value=60), parallelism=st.integers(0, 3))))
    return SpecSummary(labels=labels, image="img", template_fp=draw(fps), update_config=policy,
                       replicas=draw(st.one_of(st.none(), st.integers(0, 3))),
                       healthcheck=draw(st.one_of(st.none(), st.just(("CMD", "true")))),
                       monitor_hint_s=draw(st.one_of(st.none(), st.floats(0, 100))))


@st.composite
def tasks(draw):
    return TaskState(
        id=draw(st.sampled_from(["t1aaaaaaaaaa", "t2bbbbbbbbbb", "t3cccccccccc", "t4dddddddddd"])),
        slot=draw(st.one_of(st.none(), st.integers(1, 2))), node_id="n1",
        desired=draw(st.sampled_from(["running", "shutdown", "ready"])),
        state=draw(st.sampled_from(TASK_STATES)), message=draw(text),
        err=draw(st.one_of(st.none(), text, st.just("no suitable node (insufficient resources on 1 node)"))),
        exit_code=draw(st.one_of(st.none(), st.integers(-1, 255))), created_at=draw(st.one_of(st.none(), when)),
        updated_at=draw(st.one_of(st.none(), when)), spec_fp=draw(fps),
        role=draw(st.sampled_from(["current", "previous", "other"])),
        oom_killed=draw(st.one_of(st.none(), st.booleans())))


@st.composite
def observations(draw):
    at = draw(when)
    if draw(st.integers(0, 9)) == 0:
        return Observation(at=at, service=None, error=draw(text))
    status = draw(st.one_of(st.none(), st.builds(
        UpdateStatus, state=st.sampled_from(UPDATE_STATES), started_at=st.one_of(st.none(), when),
        completed_at=st.one_of(st.none(), when),
        message=st.one_of(text, st.just("update rolled back due to failure or early termination of task t2bbbbbbbbbb"),
                          st.just("manually requested rollback")))))
    svc = ServiceState(id="svc", name="s_app", stack="s", index=draw(st.integers(0, 500)), spec=draw(specs()),
                       previous_spec=draw(st.one_of(st.none(), specs())), update_status=status, updated_at=at)
    return Observation(at=at, service=svc, tasks=tuple(draw(st.lists(tasks(), max_size=5))))


events = st.builds(Event, at=when, type=st.sampled_from(["service", "container"]),
                   action=st.sampled_from(["update", "oom", "die", "kill", "health_status: unhealthy", "start"]),
                   service=st.just("s_app"), task_id=st.sampled_from(["", "t1aaaaaaaaaa", "t2bbbbbbbbbb"]),
                   attributes=st.dictionaries(st.sampled_from(["updatestate.new", "updatestate.old", "exitCode"]),
                                              st.sampled_from(list(UPDATE_STATES) + ["137", "0"]), max_size=2))
expectations = st.builds(
    Expectation, head=st.one_of(st.none(), st.sampled_from(SHAS)), marker_taken=st.booleans(),
    marker_index=st.one_of(st.none(), st.integers(0, 500)), marker_started_at=st.one_of(st.none(), when),
    intent=st.one_of(st.none(), stamps))
recipes = st.one_of(st.none(), st.builds(RecipeState, path=st.just("/r"), head_sha=st.sampled_from(SHAS)))


def run(items, recipe, expect):
    builder = TimelineBuilder(maxlen=50)
    verdicts = []
    for item in items:
        if isinstance(item, Observation):
            builder.add_observation(item)
            verdicts.append((item, diagnose(item, recipe, expect, builder.snapshot())))
        else:
            builder.add_event(item)
    return verdicts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(observations(), events), min_size=1, max_size=12), recipes, expectations)
def test_any_sequence_gives_a_known_verdict_and_the_same_one_twice(items, recipe, expect):
    first = run(items, recipe, expect)
    assert first == run(items, recipe, expect)
    for obs, verdict in first:
        KINDS_SEEN.add(verdict.kind)
        assert verdict.kind in v.KINDS
        assert verdict.summary and verdict.exit_code in (0, 1, 2, 3)
        if verdict.kind in (v.CONVERGED, v.NO_ROLLING_UPDATE) and (expect.head or recipe):
            # the guardrail: green only when the deployed stamp is the expected head
            expected = expect.head or recipe.head_sha
            assert parse_stamp(obs.service.spec.label("coop-cloud.s.chaos-version")).matches(expected)


KINDS_SEEN: set[str] = set()


def test_the_fuzzer_reached_most_verdicts():
    # the property above must not be a fuzzer that only ever walks one path
    if not KINDS_SEEN:
        test_any_sequence_gives_a_known_verdict_and_the_same_one_twice()
    assert len(KINDS_SEEN) >= 8, KINDS_SEEN
