"""Timeline merging on real engine output (tests/fixtures/swarm-lab/runs) and its edge rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest

from ccci_tui.domain.model import (
    ROLE_ATTEMPTED,
    ROLE_CURRENT,
    ROLE_OTHER,
    ROLE_PREVIOUS,
    Event,
    Observation,
    ServiceState,
    SpecSummary,
    TaskState,
    UpdateStatus,
)
from ccci_tui.domain.timeline import Entry, Timeline, TimelineBuilder, build_timeline
from tests.support.reference import load_events, load_observations, load_run

MS = 0.001


def at(clock: str) -> datetime:
    """A time on the day the reference runs were recorded, e.g. `18:25:09.493694`."""
    return datetime.fromisoformat(f"2026-11-27T{clock}+00:00")


@cache
def timeline(run: str, events: bool = True) -> Timeline:
    obs, evs = load_run(run)
    return build_timeline(obs, evs if events else [])


def polls_then_events(run: str) -> Timeline:
    """All polls first, then all events: the worst arrival order for de-duplication."""
    obs, evs = load_run(run)
    builder = TimelineBuilder()
    for o in obs:
        builder.add_observation(o)
    for e in evs:
        builder.add_event(e)
    return builder.snapshot()


def states(tl: Timeline) -> list[str | None]:
    return [e.state for e in tl.statuses]


def status(tl: Timeline, state: str, nth: int = 0) -> Entry:
    return [e for e in tl.statuses if e.state == state][nth]


def secs(a: Entry, b: Entry) -> float:
    return (b.at - a.at).total_seconds()


def task_entries(tl: Timeline, task_id: str) -> list[Entry]:
    return [e for e in tl.entries if e.kind == "task" and e.task_id == task_id]


def running_at(tl: Timeline, when: datetime) -> set[str]:
    """Tasks whose latest task entry at or before `when` says running."""
    last: dict[str, str | None] = {}
    for e in tl.entries:
        if e.kind == "task" and e.at <= when and e.task_id:
            last[e.task_id] = e.state
    return {tid for tid, state in last.items() if state == "running"}


def outages(tl: Timeline) -> list[tuple[datetime, datetime]]:
    """Spans with no running task, from task entries (after the first task ran)."""
    running: dict[str, bool] = {}
    spans, down_since, started = [], None, False
    for e in tl.entries:
        if e.kind != "task" or not e.task_id:
            continue
        running[e.task_id] = e.state == "running"
        up = any(running.values())
        started = started or up
        if started and not up and down_since is None:
            down_since = e.at
        elif up and down_since is not None:
            spans.append((down_since, e.at))
            down_since = None
    return spans


# ---- the reference runs --------------------------------------------------------------------


@pytest.mark.parametrize("events", [True, False], ids=["events+polls", "polls-only"])
def test_a_start_first_unhealthy_rolls_back_with_engine_times(events: bool) -> None:
    tl = timeline("A", events)
    assert states(tl) == ["updating", "rollback_started", "rollback_completed", ""]
    updating, started = status(tl, "updating"), status(tl, "rollback_started")
    completed, cleared = status(tl, "rollback_completed"), status(tl, "")
    assert abs((updating.at - at("18:25:09.493694")).total_seconds()) < 1 * MS
    assert secs(updating, started) == pytest.approx(5.618, abs=5 * MS)
    assert secs(started, completed) == pytest.approx(5.001, abs=5 * MS)
    assert "cleared by a spec write" in cleared.text
    assert secs(completed, cleared) == pytest.approx(3.127, abs=5 * MS)
    if events:
        # the poll adds the message the service event lacks: it names the failed task
        assert "kio9tpipx8vk" in started.text
    # a task entry carries its Status.Timestamp, not the (later) poll time
    appeared = task_entries(tl, "kio9tpipx8vk")[0]
    assert appeared.at == at("18:25:09.495154")
    # start-first, failure before RUNNING: the old task is reused and serves throughout
    for entry in tl.statuses:
        assert "pj1mtl0idd1g" in running_at(tl, entry.at)


def test_a_keeps_the_attempted_spec_the_rollback_erased() -> None:
    obs, evs = load_run("A")
    final = next(o for o in obs if o.service and o.service.update_status
                 and o.service.update_status.state == "rollback_completed")
    assert final.service is not None
    assert final.service.spec.labels["research.version"] == "v1"
    assert final.service.previous_spec is None
    tl = timeline("A")
    assert tl.attempted_spec is not None
    assert tl.attempted_spec.labels["research.version"] == "v2"
    assert tl.attempted_spec.template_fp == "605405fc"
    assert tl.attempted_index == 88
    specs = [e.text for e in tl.entries if e.kind == "spec"]
    assert "spec write: research.version v1 -> v2, template changed" in specs
    assert ("spec rolled back: research.version v2 -> v1, template changed; PreviousSpec cleared"
            in specs)
    assert specs[-1] == "spec write: same spec redeployed"
    builder = TimelineBuilder()
    for o in obs:
        builder.add_observation(o)
    classified = builder.classify(final)
    roles = {t.id: t.role for t in classified.tasks}
    assert {t.id: t.role for t in final.tasks}["kio9tpipx8vk"] == ROLE_OTHER  # as the source says
    assert roles == {"pj1mtl0idd1g": ROLE_CURRENT, "kio9tpipx8vk": ROLE_ATTEMPTED,
                     "yb6mi5b6e046": ROLE_ATTEMPTED}
    ended = task_entries(tl, "kio9tpipx8vk")[-1]
    assert (ended.state, ended.role) == ("complete", ROLE_ATTEMPTED)
    # it ended `complete`, exit 0 (SIGTERM trapped): Swarm's "early termination", not a failure
    # by the first_failure rule (failed/rejected, non-zero exit or oom)
    assert "exit 0" in ended.text
    assert tl.first_failure is None


def test_b_stop_first_leaves_no_running_task_for_ten_seconds() -> None:
    tl = timeline("B")
    assert states(tl) == ["updating", "rollback_started", "rollback_completed"]
    assert secs(status(tl, "updating"), status(tl, "rollback_started")) == pytest.approx(
        10.197, abs=5 * MS)
    gaps = outages(tl)
    assert len(gaps) == 1
    down, up = gaps[0]
    assert down == at("18:26:39.462099")  # old v1 task shut down (stop-first)
    assert up == at("18:26:49.605128")  # the rollback's fresh v1 task running
    assert status(tl, "updating").at < down < status(tl, "rollback_started").at < up


def test_c_oom_kill_shows_as_exit_137_and_one_oom_entry() -> None:
    tl = timeline("C")
    assert states(tl) == ["updating", "rollback_started", "rollback_completed"]
    assert secs(status(tl, "updating"), status(tl, "rollback_started")) == pytest.approx(
        3.700, abs=5 * MS)
    failed = [e for e in task_entries(tl, "ilzqnbjdivzd") if e.state == "failed"]
    assert len(failed) == 1
    assert failed[0].role == ROLE_ATTEMPTED
    assert "exit 137" in failed[0].text
    assert "err task: non-zero exit (137)" in failed[0].text
    assert "oom" not in failed[0].text.lower()  # the task never says OOM
    ooms = [e for e in tl.entries if e.kind == "event" and e.state == "oom"]
    assert len(load_events("C")) > 6 and len(ooms) == 1  # six oom events, one entry
    assert ooms[0].task_id == "ilzqnbjdivzd"
    assert ooms[0].at == at("18:27:26.906447")
    assert tl.first_failure == ooms[0]
    assert ooms[0].at < failed[0].at < status(tl, "rollback_started").at


def test_e_pause_is_sticky_until_the_next_deploy() -> None:
    tl = timeline("E")
    assert states(tl) == ["updating", "paused", "", "updating", "completed"]
    paused = status(tl, "paused")
    assert abs((paused.at - at("18:29:35.202968")).total_seconds()) < 1 * MS
    assert secs(status(tl, "updating"), paused) == pytest.approx(5.778, abs=5 * MS)
    assert "c0fu0z5k6v93" in paused.text
    cleared = status(tl, "")
    assert secs(paused, cleared) == pytest.approx(20.075, abs=5 * MS)
    # while paused the restart supervisor keeps re-creating v2 tasks (current: Spec is still v2)
    born = [e for e in tl.entries if e.kind == "task" and "appeared" in e.text
            and paused.at < e.at < cleared.at]
    assert [e.task_id for e in born] == ["igy7fyhrj5t2", "lgpomxub2quz"]
    assert {e.role for e in born} == {ROLE_CURRENT}
    # the attempted spec at the time of the pause was v2; the recovery deploy is v1
    builder = TimelineBuilder()
    for o in load_observations("E"):
        builder.add_observation(o)
        if o.service and o.service.update_status and o.service.update_status.state == "paused":
            break
    snap = builder.snapshot()
    assert snap.attempted_spec is not None
    assert snap.attempted_spec.labels["research.version"] == "v2"
    assert tl.attempted_spec is not None
    assert tl.attempted_spec.labels["research.version"] == "v1"


def test_f_rollback_completes_in_two_ms_with_nothing_running() -> None:
    tl = timeline("F")
    assert states(tl) == ["updating", "rollback_started", "rollback_completed"]
    started, completed = status(tl, "rollback_started"), status(tl, "rollback_completed")
    assert 0 < secs(started, completed) < 5 * MS
    assert secs(started, completed) == pytest.approx(0.0023, abs=0.5 * MS)
    assert running_at(tl, completed.at) == set()
    failed = [e for e in task_entries(tl, "8xsqa0m1loqy") if e.state == "failed"]
    assert failed and failed[0].role == ROLE_ATTEMPTED and "exit 3" in failed[0].text
    assert tl.first_failure == failed[0]
    # the restored v1 then crash-loops under rollback_completed
    later = [e for e in tl.entries if e.kind == "task" and e.state == "failed"
             and e.role == ROLE_CURRENT and e.at > completed.at]
    assert len(later) == 2 and all("exit 3" in e.text for e in later)


def test_f_polls_alone_miss_rollback_started() -> None:
    # ~2 ms in rollback_started: 50 ms polls never see it; the service event does
    assert states(timeline("F", events=False)) == ["updating", "rollback_completed"]


def test_g_completed_then_up_to_date_tasks_crash() -> None:
    tl = timeline("G")
    assert states(tl) == ["updating", "completed"]
    completed = status(tl, "completed")
    assert completed.at == at("18:29:35.886048")
    crashes = [e for e in tl.entries if e.kind == "task" and e.state == "failed"]
    assert [e.task_id for e in crashes] == ["cxtjxzin5c8w", "jpvoml9qaq6e"]
    assert all(e.role == ROLE_CURRENT and e.at > completed.at and "exit 1" in e.text
               for e in crashes)
    assert tl.first_failure == crashes[0]
    assert secs(completed, crashes[0]) == pytest.approx(3.004, abs=5 * MS)


def test_h_pending_task_keeps_updating_forever() -> None:
    tl = timeline("H")
    assert states(tl) == ["updating"]
    stuck = [e for e in task_entries(tl, "xnwq3brlrc34") if "no suitable node" in e.text]
    assert len(stuck) == 1
    assert (stuck[0].state, stuck[0].role) == ("pending", ROLE_CURRENT)
    assert "err no suitable node (insufficient resources on 1 node)" in stuck[0].text
    assert "running" not in {e.state for e in task_entries(tl, "xnwq3brlrc34")}
    gone = [e for e in tl.entries if e.kind == "gone"]
    assert len(gone) == 1 and secs(status(tl, "updating"), gone[0]) > 30
    assert tl.first_failure is None


def test_d_label_only_deploy_and_manual_rollbacks() -> None:
    tl = timeline("D")
    assert states(tl)[:3] == ["updating", "completed", ""]
    assert states(tl)[3:] == ["rollback_started", "rollback_completed"] * 3
    specs = [e.text for e in tl.entries if e.kind == "spec"]
    assert "spec write: research.version v2 -> v3" in specs  # no template change: no update
    assert sum("(manual)" in s and "swapped" in s for s in specs) == 3


@pytest.mark.parametrize("run", ["A", "B", "C", "D", "E", "F", "G", "H"])
def test_arrival_order_does_not_change_the_status_history(run: str) -> None:
    merged, late = timeline(run), polls_then_events(run)
    assert states(late) == states(merged)
    for a, b in zip(merged.statuses, late.statuses, strict=True):
        assert abs((a.at - b.at).total_seconds()) < 1 * MS
    assert [e.at for e in late.entries] == sorted(e.at for e in late.entries)


# ---- de-duplication --------------------------------------------------------------------------


def _a_until_rollback() -> tuple[TimelineBuilder, Observation, Event]:
    obs = load_observations("A")
    i = next(i for i, o in enumerate(obs) if o.service and o.service.update_status
             and o.service.update_status.state == "rollback_started")
    event = next(e for e in load_events("A")
                 if e.attributes.get("updatestate.new") == "rollback_started")
    builder = TimelineBuilder()
    for o in obs[:i]:
        builder.add_observation(o)
    return builder, obs[i], event


def test_status_from_event_then_poll_is_one_entry_with_the_poll_message() -> None:
    builder, poll, event = _a_until_rollback()
    added = builder.add_event(event)
    assert [e.state for e in added] == ["rollback_started"]
    assert "kio9" not in added[0].text
    assert all(e.kind != "status" for e in builder.add_observation(poll))
    rollbacks = [e for e in builder.snapshot().statuses if e.state == "rollback_started"]
    assert len(rollbacks) == 1
    assert rollbacks[0].at == event.at
    assert "early termination of task kio9tpipx8vk" in rollbacks[0].text


def test_status_from_poll_then_event_is_one_entry() -> None:
    builder, poll, event = _a_until_rollback()
    assert "rollback_started" in [e.state for e in builder.add_observation(poll)]
    assert builder.add_event(event) == []
    assert states(builder.snapshot()) == ["updating", "rollback_started"]


def test_replayed_events_add_nothing() -> None:
    obs, evs = load_run("C")
    builder = TimelineBuilder()
    for e in evs:
        builder.add_event(e)
    before = builder.snapshot()
    assert all(builder.add_event(e) == [] for e in evs)
    assert builder.snapshot() == before


def test_unchanged_polls_add_nothing() -> None:
    builder = TimelineBuilder()
    for o in load_observations("B"):
        builder.add_observation(o)
        count = len(builder.snapshot().entries)
        assert builder.add_observation(replace(o, at=o.at + timedelta(seconds=1))) == []
        assert len(builder.snapshot().entries) == count


def test_a_running_task_whose_timestamp_moves_adds_nothing() -> None:
    # B 18:26:35.654: the old task's Status.Timestamp and exit (-1) move, its state does not
    obs = load_observations("B")
    i = next(i for i, o in enumerate(obs) if o.at == at("18:26:35.654129"))
    builder = TimelineBuilder()
    for o in obs[:i]:
        builder.add_observation(o)
    added = builder.add_observation(obs[i])
    assert [e.task_id for e in added] == ["sjhi5fs9ckh0"]


def test_service_gone_once_from_event_and_poll() -> None:
    gone = [e for e in timeline("A").entries if e.kind == "gone"]
    assert len(gone) == 1 and gone[0].text == "service removed"
    assert gone[0].at == at("18:25:30.263010")


# ---- bounds, classification, errors ---------------------------------------------------------


def test_maxlen_keeps_the_newest_entries_and_the_first_failure() -> None:
    obs, evs = load_run("G")
    full = build_timeline(obs, evs)
    builder = TimelineBuilder(maxlen=5)
    for item in sorted([*evs, *obs], key=lambda x: (x.at, isinstance(x, Observation))):
        if isinstance(item, Event):
            builder.add_event(item)
        else:
            builder.add_observation(item)
    small = builder.snapshot()
    assert len(small.entries) == 5
    assert small.entries == full.entries[-5:]
    assert small.first_failure == full.first_failure
    assert small.first_failure not in small.entries
    assert states(small) == states(full)


def test_maxlen_drops_a_late_entry_older_than_everything_kept() -> None:
    builder = TimelineBuilder(maxlen=2)
    obs = load_observations("A")
    for o in obs:
        builder.add_observation(o)
    kept = builder.snapshot().entries
    old = Event(at=at("18:25:00.000000"), type="container", action="kill",
                task_id="pj1mtl0idd1g", container_id="468b02617731", attributes={"signal": "9"})
    builder.add_event(old)
    assert builder.snapshot().entries == kept


def _task(task_id: str, fp: str, role: str) -> TaskState:
    return TaskState(id=task_id, slot=1, node_id="n", desired="running", state="running",
                     spec_fp=fp, role=role)


def test_classify_marks_only_other_tasks_of_the_attempted_spec() -> None:
    builder = TimelineBuilder()
    sample = Observation(at=at("18:00:00"), service=None, tasks=(
        _task("a" * 12, "f-attempt", ROLE_OTHER),
        _task("b" * 12, "f-attempt", ROLE_PREVIOUS),
        _task("c" * 12, "f-base", ROLE_CURRENT),
        _task("d" * 12, "f-elsewhere", ROLE_OTHER),
    ))
    assert builder.classify(sample) is sample  # nothing attempted yet
    spec = SpecSummary(labels={"v": "2"}, image="img", template_fp="f-attempt")
    svc = ServiceState(id="s", name="s", stack="st", index=10, spec=spec,
                       update_status=UpdateStatus("updating", started_at=at("18:00:00")))
    builder.add_observation(Observation(at=at("18:00:01"), service=svc))
    roles = [t.role for t in builder.classify(sample).tasks]
    assert roles == [ROLE_ATTEMPTED, ROLE_PREVIOUS, ROLE_CURRENT, ROLE_OTHER]


def test_read_errors_are_logged_once_per_distinct_error() -> None:
    obs = load_observations("A")[1]
    builder = TimelineBuilder()
    builder.add_observation(obs)
    broken = replace(obs, at=obs.at + timedelta(seconds=1), error="daemon unreachable")
    first = builder.add_observation(broken)
    assert [(e.kind, e.text) for e in first] == [("error", "read failed: daemon unreachable")]
    assert builder.add_observation(replace(broken, at=broken.at + timedelta(seconds=1))) == []
    assert builder.add_observation(replace(obs, at=obs.at + timedelta(seconds=3))) == []
    again = builder.add_observation(replace(broken, at=broken.at + timedelta(seconds=3)))
    assert [e.kind for e in again] == ["error"]


def test_spec_write_names_the_stamp_change() -> None:
    key = "coop-cloud.app_example_org.chaos-version"
    base = SpecSummary(labels={key: "eb96de94", "com.docker.stack.namespace": "app"},
                       image="img", template_fp="t1")
    head = replace(base, labels={**base.labels, key: "7ae7b0f7"}, template_fp="t2")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    first = ServiceState(id="s", name="app_app", stack="app", index=5, spec=base, updated_at=t0)
    second = replace(first, index=9, spec=head, previous_spec=base,
                     updated_at=t0 + timedelta(seconds=1))
    builder = TimelineBuilder()
    builder.add_observation(Observation(at=t0, service=first))
    added = builder.add_observation(Observation(at=t0 + timedelta(seconds=2), service=second))
    assert [(e.kind, e.text, e.at) for e in added] == [
        ("spec", "spec write: stamp eb96de94 -> 7ae7b0f7, template changed", second.updated_at),
    ]


def test_slow_polling_keeps_engine_times() -> None:
    obs, _ = load_run("A")
    slow, last = [], None
    for o in obs:  # one poll every 2 s at most
        if last is None or (o.at - last).total_seconds() >= 2:
            slow.append(o)
            last = o.at
    tl = build_timeline(slow)
    assert states(tl) == ["updating", "rollback_started", "rollback_completed", ""]
    assert secs(status(tl, "updating"), status(tl, "rollback_started")) == pytest.approx(
        5.618, abs=5 * MS)
