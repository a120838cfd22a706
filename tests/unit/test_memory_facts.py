"""Memory told truthfully: what a figure is and when it was taken, the limit an OOM kill reached, a node
OOM where there was no limit, the node's memory beside it, and the samples over time."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ccci_tui.domain.codec import decode_observation, encode_observation
from ccci_tui.domain.diagnose import diagnose
from ccci_tui.domain.fold import Fold
from ccci_tui.domain.memory import (
    MemorySeries,
    fmt_bytes,
    memory_cell,
    memory_dict,
    memory_facts,
    node_facts,
    series,
    starved,
    wants_node_context,
)
from ccci_tui.domain.model import NodeContext, NodeTask, Observation, TaskState
from ccci_tui.sources import convert

T0 = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
MB = 1024 * 1024


def task(**kw: object) -> TaskState:
    base: dict[str, object] = dict(id="t" * 25, slot=1, node_id="node1", desired="running", state="running",
                                   container_id="c1", memory_limit=32 * MB)
    base.update(kw)
    return TaskState(**base)  # type: ignore[arg-type]


def test_oom_at_the_limit_never_shows_the_stale_sample() -> None:
    """The lab's OOM head: sampled at 840K when it started, killed by the kernel at its 32M limit."""
    t = task(state="failed", desired="shutdown", exit_code=137, oom_killed=True, memory_bytes=840 * 1024,
             memory_at=T0, memory_cgroup="v1", memory_peak=1 * MB)
    assert memory_cell(t) == ("OOM: 32M limit", 1.0)
    facts = memory_facts(t, T0 + timedelta(seconds=5))
    assert facts[0] == "reached the limit (OOM): the kernel killed it at its 32M limit"
    assert "last sample before it ended, not its use when it was killed: 840K in use" in facts[1]
    assert "840K/32M" not in " ".join(facts)


def test_oom_without_a_limit_is_a_node_oom() -> None:
    t = task(state="failed", exit_code=137, oom_killed=True, memory_limit=None)
    assert memory_cell(t) == ("node OOM (no limit)", None)
    assert memory_facts(t, T0)[0].startswith("node OOM: it had no memory limit")
    assert memory_dict(t, T0)["oom"] == "node"


def test_a_running_task_says_what_and_when() -> None:
    t = task(memory_bytes=12 * MB, memory_at=T0, memory_peak=20 * MB, memory_cgroup="v1")
    assert memory_cell(t) == ("12M/32M", 12 / 32)
    current, peak = memory_facts(t, T0 + timedelta(seconds=3))
    assert current == "current: 12M in use (sampled 12:00:00 UTC, 3 s ago; limit 32M)"
    assert peak.startswith("peak: 20M (cgroup v1 max_usage")
    v2 = replace(t, memory_peak=None, memory_cgroup="v2")
    assert memory_facts(v2, T0)[-1] == "peak: no peak on cgroup v2 (the engine reports none)"
    assert memory_facts(task(), T0) == ("not sampled (limit 32M)",)
    assert memory_cell(task(state="complete", memory_bytes=5 * MB)) == ("last 5M", None)


def test_stats_of_both_cgroup_versions() -> None:
    v1 = {"memory_stats": {"usage": 696320, "max_usage": 12849152, "limit": 33554432,
                           "stats": {"total_inactive_file": 4096, "hierarchical_memory_limit": 33554432}}}
    assert convert.memory_sample(v1) == (696320 - 4096, 12849152, "v1")
    v2 = {"memory_stats": {"usage": 5000, "limit": 9, "stats": {"inactive_file": 1000, "anon": 4000}}}
    assert convert.memory_sample(v2) == (4000, None, "v2")
    assert convert.memory_sample({"memory_stats": {}}) == (None, None, "")


def node() -> NodeContext:
    return NodeContext("node1", "lab-1", 8 * 1024 * MB, (
        NodeTask("t" * 25, "s_app", "running", 32 * MB, None, 12 * MB),
        NodeTask("u" * 25, "other_db", "running", 1024 * MB, 512 * MB, 300 * MB),
    ), T0, usage_read=True)


def test_node_facts_list_every_task_there() -> None:
    head, mine, other = node_facts(node(), "s_app")
    assert head == "node lab-1: 8G memory; its 2 task(s) reserve 512M, limit 1.0G, use 312M"
    assert "s_app tttttttttttt (this service): running, limit 32M, reservation none, in use 12M" in mine
    assert "other_db" in other and "reservation 512M" in other
    unread = replace(node(), usage_read=False)
    assert node_facts(unread)[0].endswith("use not readable from this engine")


def test_the_verdict_names_the_limit_and_the_node() -> None:
    """Reference run C (the incident's OOM rollback, real engine output): with the node's context in the read,
    the evidence gives the task's memory facts and the node's (source `node`)."""
    from ccci_tui.domain import verdict as v
    from ccci_tui.domain.timeline import TimelineBuilder
    from ccci_tui.domain.verdict import Expectation
    from tests.support.reference import HEAD_SHA, merged

    builder, verdict = TimelineBuilder(), None
    for item in merged("C"):
        if not isinstance(item, Observation):
            builder.add_event(item)
            continue
        # the run's compact poll does not carry task resources: its compose file (oom-v2) sets the 32M limit
        item = replace(item, tasks=tuple(replace(t, memory_limit=32 * MB) for t in item.tasks))
        builder.add_observation(item)
        dead = next((t for t in item.tasks if t.exit_code == 137), None)
        if item.service is not None and dead is not None:
            at_node = replace(item, nodes=(replace(node(), id=dead.node_id),))
            verdict = diagnose(at_node, None, Expectation(head=HEAD_SHA, now=item.at), builder.snapshot())
            if verdict.kind == v.SWARM_ROLLBACK:
                break
    assert verdict is not None and verdict.kind == v.SWARM_ROLLBACK
    lines = [(e.source, e.text) for e in verdict.evidence]
    assert lines[1] == ("task", "memory: reached the limit (OOM): the kernel killed it at its 32M limit")
    assert ("node", "node lab-1: 8G memory; its 2 task(s) reserve 512M, limit 1.0G, use 312M") in lines


def test_which_nodes_the_evidence_needs() -> None:
    ok = Observation(T0, None, (task(),))
    assert wants_node_context(ok) == ()
    died = Observation(T0, None, (task(), task(id="d" * 25, node_id="node2", state="failed", exit_code=137)))
    assert wants_node_context(died) == ("node2",)
    pending = task(id="p" * 25, node_id="", state="pending",
                   err="no suitable node (insufficient resources on 1 node)")
    waiting = Observation(T0, None, (task(), pending))
    assert wants_node_context(waiting) == () and starved(waiting) and not starved(died)  # every node, then


def test_samples_over_time_and_the_recording_keeps_them() -> None:
    fold = Fold()
    for i, used in enumerate((2, 4, 4, 8)):
        t = task(memory_bytes=used * MB, memory_at=T0 + timedelta(seconds=10 * i))
        obs = Observation(T0 + timedelta(seconds=10 * i + 1), None, (t,), nodes=(node(),))
        again = decode_observation(json.loads(json.dumps(encode_observation(obs))), obs.at)
        assert again == obs  # memory time, peak and node context survive a recording
        fold.observation(again)
        fold.observation(again)  # the same sample read twice counts once
    samples = fold.memory_series()["t" * 25]
    assert [v // MB for _, v in samples] == [2, 4, 4, 8]
    assert series(samples) == "▃▅▅█"
    kept = MemorySeries(kept=2)
    kept.add(Observation(T0, None, (task(memory_bytes=1, memory_at=T0),)))
    kept.add(Observation(T0, None, (task(memory_bytes=2, memory_at=T0 + timedelta(seconds=1)),)))
    kept.add(Observation(T0, None, (task(memory_bytes=3, memory_at=T0 + timedelta(seconds=2)),)))
    assert [v for _, v in kept.of("t" * 25)] == [2, 3]
    assert fmt_bytes(840 * 1024) == "840K"


def test_a_stop_first_head_pending_a_moment_is_not_stuck() -> None:
    """Reference run H is start-first: stuck at once. Under stop-first the old task's reservation is freed only
    as it stops, so a head pending for resources is in progress until it has waited PENDING_GRACE_S."""
    from ccci_tui.domain import verdict as v
    from ccci_tui.domain.diagnose import PENDING_GRACE_S
    from ccci_tui.domain.model import UpdatePolicy
    from ccci_tui.domain.verdict import Expectation
    from tests.support.reference import merged

    obs = next(o for o in merged("H") if isinstance(o, Observation) and o.service is not None
               and any(t.err and "no suitable node" in t.err for t in o.tasks))
    pending = next(t for t in obs.tasks if t.err and "no suitable node" in t.err)
    assert diagnose(obs, None, Expectation(now=obs.at)).kind == v.UPDATE_STUCK
    spec = obs.service.spec
    stop_first = replace(obs, service=replace(obs.service, spec=replace(
        spec, update_config=replace(spec.update_config or UpdatePolicy(), order="stop-first"))))
    just_now = Expectation(now=pending.created_at + timedelta(seconds=2))
    later = Expectation(now=pending.created_at + timedelta(seconds=PENDING_GRACE_S + 1))
    assert diagnose(stop_first, None, just_now).kind == v.IN_PROGRESS
    stuck = diagnose(stop_first, None, later)
    assert stuck.kind == v.UPDATE_STUCK
    assert [e.text for e in stuck.evidence][1].startswith("memory: the task ")


def test_a_recording_keeps_node_contexts_through_deltas(tmp_path) -> None:
    """The writer's delta records and the reader's patches carry node contexts (added, changed, gone)."""
    from ccci_tui.domain.replay import Header
    from ccci_tui.sources.recording import RecordingWriter, read_recording

    path = tmp_path / "nodes.jsonl"
    header = Header(format="ccci-recording", version=1, tool_version="0.1.0", host=None, stack="s", created=T0)
    writer = RecordingWriter(path, header, heartbeat_s=0)
    t = task(memory_bytes=2 * MB, memory_at=T0)
    reads = [
        Observation(T0, None, (t,)),
        Observation(T0 + timedelta(seconds=1), None, (t,), nodes=(node(),)),
        Observation(T0 + timedelta(seconds=2), None, (t,), nodes=(replace(node(), tasks=node().tasks[:1]),)),
        Observation(T0 + timedelta(seconds=3), None, (t,), nodes=(replace(node(), tasks=node().tasks[:1]),)),
        Observation(T0 + timedelta(seconds=4), None, (t,)),
    ]
    for obs in reads:
        writer.observation(obs)
    writer.close()
    back = [r.value for r in read_recording(path).of_kind("observation")]
    assert [o.nodes for o in back] == [o.nodes for o in reads]
