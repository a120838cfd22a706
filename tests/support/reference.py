"""The recorded swarm-lab runs (tests/fixtures/swarm-lab/runs) as model Observations and Events.

`poll.jsonl` lines carry the service's labels, PreviousSpec labels, UpdateStatus and tasks, but not
the fingerprint of the service's own TaskTemplate. The adapter derives it from the tasks, with this
rule: a spec is identified by its label set; its template fingerprint is the `spec_fp` of the first
task that appears (a task id not seen before) while that label set is the service's Spec and whose
desired state is not `shutdown`. The desired-state filter drops the "ghost" tasks the restart
supervisor creates from the spec an automatic rollback has just replaced (they are born with
desired=shutdown, e.g. run A `yb6mi5b6e046`). A label set under which no task ever appears was a
spec write that dirtied no task (label-only, DESIGN.md §3 fact 1), so it keeps the fingerprint of
the spec it replaced. Task roles then follow the real source: `spec_fp` equal to the Spec's
fingerprint -> current, to the PreviousSpec's -> previous, else other.

Exit codes are recorded for live tasks too (0 or -1 while running); like the real source, the
adapter passes `exit_code` only once the task state is terminal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ccci_tui.domain.diagnose import diagnose
from ccci_tui.domain.model import (
    ROLE_CURRENT,
    ROLE_OTHER,
    ROLE_PREVIOUS,
    TERMINAL_TASK_STATES,
    Event,
    Observation,
    ServiceState,
    SpecSummary,
    TaskState,
    UpdatePolicy,
    UpdateStatus,
)
from ccci_tui.domain.timeline import TimelineBuilder
from ccci_tui.domain.verdict import Expectation, Verdict

RUNS = Path(__file__).resolve().parent.parent / "fixtures" / "swarm-lab" / "runs"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

LabelKey = tuple[tuple[str, str], ...]


def run_dir(run: str) -> Path:
    """The directory of run `run` ("A", "F2", ...)."""
    found = sorted(RUNS.glob(f"{run}-*"))
    if len(found) != 1:
        raise FileNotFoundError(f"no single reference run {run!r} under {RUNS}")
    return found[0]


def engine_time(value: str | None) -> datetime | None:
    """An RFC 3339 engine timestamp, nanoseconds cut to microseconds."""
    return datetime.fromisoformat(value) if value else None


def nanos_time(nanos: int) -> datetime:
    """An event's `timeNano`, exactly (no float rounding)."""
    return _EPOCH + timedelta(microseconds=nanos // 1000)


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _key(labels: Mapping[str, str]) -> LabelKey:
    return tuple(sorted(labels.items()))


def template_fps(polls: list[dict[str, Any]]) -> dict[LabelKey, str]:
    """Template fingerprint of each spec (by label set), by the rule in the module docstring."""
    fps: dict[LabelKey, str] = {}
    order: list[LabelKey] = []
    seen: set[str] = set()
    for rec in polls:
        if "error" in rec:
            continue  # a failed read while the service was being removed (run K): no observation
        if rec.get("service", True) is None:
            continue
        key = _key(rec["labels"])
        if not order or order[-1] != key:
            order.append(key)
        for task in rec["tasks"]:
            if task["id"] in seen:
                continue
            seen.add(task["id"])
            if task["desired"] != "shutdown" and key not in fps:
                fps[key] = task["spec_fp"]
    for before, after in zip(order, order[1:], strict=False):
        if after not in fps and before in fps:
            fps[after] = fps[before]
    return fps


def _spec(labels: Mapping[str, str], fps: Mapping[LabelKey, str], rec: Mapping[str, Any]) -> SpecSummary:
    # the recordings keep only the current spec's update order and each task's healthcheck test;
    # every run used one order for base and head, and every compose file there has a healthcheck
    fp = fps.get(_key(labels), "")
    hc = next((t.get("hc") for t in rec.get("tasks", []) if t.get("spec_fp") == fp and t.get("hc")), None)
    order = rec.get("update_order")
    return SpecSummary(
        labels=dict(labels),
        image=labels.get("com.docker.stack.image", ""),
        template_fp=fp,
        update_config=UpdatePolicy(order=order) if order else None,
        healthcheck=tuple(hc) if hc else None,
    )


def _status(raw: Mapping[str, Any] | None) -> UpdateStatus | None:
    if raw is None:
        return None
    return UpdateStatus(
        state=raw["State"],
        started_at=engine_time(raw.get("StartedAt")),
        completed_at=engine_time(raw.get("CompletedAt")),
        message=raw.get("Message", ""),
    )


def _task(raw: Mapping[str, Any], spec: SpecSummary, prev: SpecSummary | None) -> TaskState:
    fp = raw["spec_fp"]
    role = ROLE_OTHER
    if fp == spec.template_fp:
        role = ROLE_CURRENT
    elif prev is not None and fp == prev.template_fp:
        role = ROLE_PREVIOUS
    terminal = raw["state"] in TERMINAL_TASK_STATES
    return TaskState(
        id=raw["id"],
        slot=raw.get("slot"),
        node_id=raw.get("node") or "",
        desired=raw["desired"],
        state=raw["state"],
        message=raw.get("msg") or "",
        err=raw.get("err") or None,
        exit_code=raw.get("exit") if terminal else None,
        container_id=raw.get("cid") or "",
        updated_at=engine_time(raw.get("ts")),
        spec_fp=fp,
        role=role,
    )


def load_events(run: str) -> list[Event]:
    """`events-compact.jsonl` of a run (empty when the run has none), healthcheck execs dropped."""
    path = run_dir(run) / "events-compact.jsonl"
    if not path.exists():
        return []
    events = []
    for raw in _lines(path):
        action = raw["Action"]
        if action.startswith("exec_"):
            continue
        attrs = {str(k): str(v) for k, v in raw["Actor"].get("Attributes", {}).items()}
        container = raw["Type"] == "container"
        events.append(
            Event(
                at=nanos_time(raw["timeNano"]),
                type=raw["Type"],
                action=action,
                service=attrs.get("com.docker.swarm.service.name" if container else "name", ""),
                task_id=attrs.get("com.docker.swarm.task.id", ""),
                container_id=raw["Actor"]["ID"] if container else "",
                attributes=attrs,
            )
        )
    return events


def load_observations(run: str, events: list[Event] | None = None) -> list[Observation]:
    """`poll.jsonl` of a run; `{"service": null}` lines become observations of a missing service."""
    polls = list(_lines(run_dir(run) / "poll.jsonl"))
    fps = template_fps(polls)
    events = load_events(run) if events is None else events
    service_events = [e for e in events if e.type == "service"]
    out = []
    created: dict[str, datetime | None] = {}
    for rec in polls:
        at = engine_time(rec["t"])
        assert at is not None
        if "error" in rec:
            continue  # a failed read while the service was being removed (run K): no observation
        if rec.get("service", True) is None:
            out.append(Observation(at=at, service=None))
            continue
        spec = _spec(rec["labels"], fps, rec)
        prev = _spec(rec["prev_spec"]["labels"], fps, rec) if rec.get("prev_spec") else None
        stack = rec["labels"].get("com.docker.stack.namespace", "")
        name = service_events[0].service if service_events else f"{stack}_app"
        service = ServiceState(
            id=name,  # the recording has no service id; the name is unique within a run
            name=name,
            stack=stack,
            index=rec["index"],
            spec=spec,
            previous_spec=prev,
            update_status=_status(rec.get("update_status")),
            updated_at=engine_time(rec.get("updated_at")),
        )
        for t in rec["tasks"]:  # the recordings have no CreatedAt: the first sighting stands in
            created.setdefault(t["id"], engine_time(t.get("ts")))
        tasks = tuple(replace(_task(t, spec, prev), created_at=created[t["id"]]) for t in rec["tasks"])
        out.append(Observation(at=at, service=service, tasks=tasks))
    return out


def load_run(run: str) -> tuple[list[Observation], list[Event]]:
    """Observations and events of a recorded run."""
    events = load_events(run)
    return load_observations(run, events), events


BASE_SHA = "eb96de94aa00112233445566778899aabbccddee"
HEAD_SHA = "7ae7b0f76efb3a1f0c2d1e4b5a6978877665544a"
EXPECT = Expectation(head=HEAD_SHA, head_ref="pr-head")  # the head the stamped runs deploy


def _stamp_spec(spec: SpecSummary | None, stack: str, base: str, head: str, dirty: bool) -> SpecSummary | None:
    if spec is None:
        return None
    sha = base if spec.labels.get("research.version") == "v1" else head
    key = f"coop-cloud.{stack}.chaos-version"
    return replace(spec, labels={**spec.labels, key: sha[:8] + ("+U" if dirty else "")})


def stamped(obs: Observation, base: str = BASE_SHA, head: str = HEAD_SHA, dirty: bool = False) -> Observation:
    """The run's `research.version` label read as abra's stamp: v1 is the base commit, v2* the head."""
    svc = obs.service
    if svc is None:
        return obs
    spec = _stamp_spec(svc.spec, svc.stack, base, head, dirty)
    assert spec is not None
    prev = _stamp_spec(svc.previous_spec, svc.stack, base, head, dirty)
    return replace(obs, service=replace(svc, spec=spec, previous_spec=prev))


def merged(run: str, **stamp_args: Any) -> list[Observation | Event]:
    """A run's stamped observations and its events in time order (events first on a tie)."""
    observations, events = load_run(run)
    items: list[tuple[datetime, int, Observation | Event]] = [(e.at, 0, e) for e in events]
    items += [(o.at, 1, stamped(o, **stamp_args)) for o in observations]
    items.sort(key=lambda x: (x[0], x[1]))
    return [it for _, _, it in items]


def verdicts(items: Iterable[Observation | Event], expect: Expectation = EXPECT) -> list[tuple[Observation, Verdict]]:
    """Every observation's verdict, folded through the timeline as `wait` and the TUI fold them."""
    builder, out = TimelineBuilder(), []
    for item in items:
        if isinstance(item, Observation):
            builder.add_observation(item)
            if item.service is not None:
                out.append((item, diagnose(item, None, replace(expect, now=item.at), builder.snapshot())))
        else:
            builder.add_event(item)
    return out
