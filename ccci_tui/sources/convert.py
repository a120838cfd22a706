"""Engine API JSON (service inspect, task list, events) to the frozen domain model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ccci_tui.domain.model import (
    ROLE_CURRENT,
    ROLE_OTHER,
    ROLE_PREVIOUS,
    TERMINAL_TASK_STATES,
    Event,
    NodeContext,
    NodeTask,
    ServiceState,
    SpecSummary,
    TaskState,
    UpdatePolicy,
    UpdateStatus,
    template_fingerprint,
)
from ccci_tui.domain.redact import redact_mapping
from ccci_tui.domain.times import from_nanos, nanos_to_seconds, parse_engine_time

STACK_LABEL = "com.docker.stack.namespace"
_CONTAINER_ATTRS = frozenset(
    {"exitCode", "signal", "image", "com.docker.swarm.node.id", "com.docker.swarm.service.id", STACK_LABEL}
)
# Docker's healthcheck defaults when a field is zero or absent.
_HC_INTERVAL_S, _HC_RETRIES = 30.0, 3


def as_dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def update_policy(raw: object) -> UpdatePolicy | None:
    """An UpdateConfig/RollbackConfig; absent fields take the engine's defaults."""
    if not isinstance(raw, Mapping):
        return None
    return UpdatePolicy(
        parallelism=int(raw.get("Parallelism", 0) or 0),
        delay_s=nanos_to_seconds(raw.get("Delay"), 0.0),
        failure_action=str(raw.get("FailureAction") or "pause"),
        monitor_s=nanos_to_seconds(raw.get("Monitor"), 5.0) or 5.0,
        max_failure_ratio=float(raw.get("MaxFailureRatio", 0) or 0),
        order=str(raw.get("Order") or "stop-first"),
    )


def spec_summary(spec: object) -> SpecSummary:
    """Reduce a service Spec (or PreviousSpec) to what diagnosis needs; env values are dropped."""
    spec = as_dict(spec)
    template = as_dict(spec.get("TaskTemplate"))
    container = as_dict(template.get("ContainerSpec"))
    resources = as_dict(template.get("Resources"))
    mode = as_dict(spec.get("Mode"))
    health = as_dict(container.get("Healthcheck"))
    test = health.get("Test")
    hint = None
    if isinstance(test, list) and test and test[0] != "NONE":
        interval = nanos_to_seconds(health.get("Interval")) or _HC_INTERVAL_S
        retries = int(health.get("Retries") or _HC_RETRIES)
        hint = nanos_to_seconds(health.get("StartPeriod")) + interval * retries
    replicated = as_dict(mode.get("Replicated"))
    is_global = "Global" in mode
    return SpecSummary(
        # masked here, at the source: no later screen, timeline, recording or report can show them
        labels=redact_mapping({str(k): str(v) for k, v in as_dict(spec.get("Labels")).items()}),
        image=str(container.get("Image", "")),
        template_fp=template_fingerprint(template),
        update_config=update_policy(spec.get("UpdateConfig")),
        rollback_config=update_policy(spec.get("RollbackConfig")),
        replicas=None if is_global else int(replicated.get("Replicas", 1) or 0),
        mode="global" if is_global else "replicated",
        memory_limit=as_dict(resources.get("Limits")).get("MemoryBytes") or None,
        memory_reservation=as_dict(resources.get("Reservations")).get("MemoryBytes") or None,
        healthcheck=tuple(str(x) for x in test) if isinstance(test, list) else None,
        monitor_hint_s=hint,
        constraints=tuple(str(c) for c in as_dict(template.get("Placement")).get("Constraints") or ()),
    )


def update_status(raw: object) -> UpdateStatus | None:
    """The service's UpdateStatus, or None when the engine reports none."""
    raw = as_dict(raw)
    if not raw.get("State"):
        return None
    return UpdateStatus(
        state=str(raw["State"]),
        started_at=parse_engine_time(raw.get("StartedAt")),
        completed_at=parse_engine_time(raw.get("CompletedAt")),
        message=str(raw.get("Message", "")),
    )


def service_state(raw: Mapping[str, Any]) -> ServiceState:
    """One `GET /services/{id}` answer."""
    spec = as_dict(raw.get("Spec"))
    previous = raw.get("PreviousSpec")
    return ServiceState(
        id=str(raw.get("ID", "")),
        name=str(spec.get("Name", "")),
        stack=str(as_dict(spec.get("Labels")).get(STACK_LABEL, "")),
        index=int(as_dict(raw.get("Version")).get("Index", 0)),
        spec=spec_summary(spec),
        previous_spec=spec_summary(previous) if isinstance(previous, Mapping) else None,
        update_status=update_status(raw.get("UpdateStatus")),
        created_at=parse_engine_time(raw.get("CreatedAt")),
        updated_at=parse_engine_time(raw.get("UpdatedAt")),
    )


def task_state(raw: Mapping[str, Any], service: ServiceState | None) -> TaskState:
    """One task from `GET /tasks`; its role compares its spec with the service's templates."""
    status = as_dict(raw.get("Status"))
    cstatus = as_dict(status.get("ContainerStatus"))
    state = str(status.get("State", ""))
    fp = template_fingerprint(as_dict(raw.get("Spec")))
    role = ROLE_OTHER
    if service is not None:
        if fp == service.spec.template_fp:
            role = ROLE_CURRENT
        elif service.previous_spec is not None and fp == service.previous_spec.template_fp:
            role = ROLE_PREVIOUS
    exit_code = cstatus.get("ExitCode") if state in TERMINAL_TASK_STATES else None
    limits = as_dict(as_dict(as_dict(raw.get("Spec")).get("Resources")).get("Limits"))
    slot = raw.get("Slot")
    return TaskState(
        id=str(raw.get("ID", "")),
        slot=int(slot) if isinstance(slot, int) else None,
        node_id=str(raw.get("NodeID", "")),
        desired=str(raw.get("DesiredState", "")),
        state=state,
        message=str(status.get("Message", "")),
        err=str(status["Err"]) if status.get("Err") else None,
        exit_code=int(exit_code) if isinstance(exit_code, int) else None,
        container_id=str(cstatus.get("ContainerID", "")),
        created_at=parse_engine_time(raw.get("CreatedAt")),
        updated_at=parse_engine_time(status.get("Timestamp")),
        spec_fp=fp,
        role=role,
        memory_limit=limits.get("MemoryBytes") or None,
    )


def event(raw: Mapping[str, Any]) -> Event | None:
    """A `GET /events` message, or None for one the timeline does not use."""
    kind = raw.get("Type")
    if kind not in ("service", "container"):
        return None
    action = str(raw.get("Action", ""))
    if action.startswith("exec_"):
        return None  # healthcheck probes: one per interval, pure noise
    actor = as_dict(raw.get("Actor"))
    attrs = {str(k): str(v) for k, v in as_dict(actor.get("Attributes")).items()}
    nanos = raw.get("timeNano")
    at: datetime = from_nanos(nanos) if isinstance(nanos, int) else from_nanos(int(raw.get("time", 0)) * 10**9)
    if kind == "service":
        return Event(at=at, type="service", action=action, service=attrs.get("name", ""), attributes=attrs)
    return Event(
        at=at,
        type="container",
        action=action,
        service=attrs.get("com.docker.swarm.service.name", ""),
        task_id=attrs.get("com.docker.swarm.task.id", ""),
        container_id=str(actor.get("ID", "")),
        # container attributes carry every container label; keep only what the timeline reads
        attributes={k: v for k, v in attrs.items() if k in _CONTAINER_ATTRS},
    )


def memory_in_use(stats: Mapping[str, Any]) -> int | None:
    """Memory in use as `docker stats` shows it: usage minus inactive file (cgroup v1 or v2)."""
    return memory_sample(stats)[0]


def memory_sample(stats: Mapping[str, Any]) -> tuple[int | None, int | None, str]:
    """(in use, peak, cgroup) from a one-shot stats answer. The peak is cgroup v1's `max_usage` (usage,
    page cache included, at its highest since the container started); on cgroup v2 the engine reports
    none. The cgroup is "v1" or "v2" by the keys the engine's memory stats carry ("" when none)."""
    mem = as_dict(stats.get("memory_stats"))
    detail = as_dict(mem.get("stats"))
    v1 = "max_usage" in mem or "total_inactive_file" in detail or "hierarchical_memory_limit" in detail
    cgroup = "v1" if v1 else "v2" if detail else ""
    peak = mem.get("max_usage")
    usage = mem.get("usage")
    if not isinstance(usage, int):
        return None, None, cgroup
    inactive = detail.get("total_inactive_file", detail.get("inactive_file", 0))
    return max(0, usage - int(inactive or 0)), peak if isinstance(peak, int) and peak > 0 else None, cgroup


def node_task(raw: Mapping[str, Any], service_names: Mapping[str, str]) -> NodeTask:
    """A `GET /tasks?filters={"node":…}` item as node context: its service, state, memory limit and reservation."""
    resources = as_dict(as_dict(as_dict(raw.get("Spec")).get("Resources")))
    sid = str(raw.get("ServiceID", ""))
    return NodeTask(
        task_id=str(raw.get("ID", "")),
        service=service_names.get(sid, sid[:12]),
        state=str(as_dict(raw.get("Status")).get("State", "")),
        memory_limit=as_dict(resources.get("Limits")).get("MemoryBytes") or None,
        memory_reservation=as_dict(resources.get("Reservations")).get("MemoryBytes") or None,
    )


def node_context(raw: Mapping[str, Any], tasks: Sequence[NodeTask], at: datetime, usage_read: bool) -> NodeContext:
    """A node as `GET /nodes/{id}` describes it, with the tasks it runs."""
    desc, spec = as_dict(raw.get("Description")), as_dict(raw.get("Spec"))
    memory = as_dict(desc.get("Resources")).get("MemoryBytes")
    return NodeContext(
        id=str(raw.get("ID", "")), hostname=str(desc.get("Hostname", "")),
        memory_bytes=memory if isinstance(memory, int) and memory > 0 else None,
        tasks=tuple(tasks), at=at, usage_read=usage_read, role=str(spec.get("Role", "")),
        labels={str(k): str(v) for k, v in as_dict(spec.get("Labels")).items()},
        available=node_available(raw),
    )


def node_available(raw: Mapping[str, Any]) -> bool:
    """A node (`GET /nodes` item) the scheduler may place tasks on: ready and active."""
    return (as_dict(raw.get("Status")).get("State") == "ready"
            and as_dict(raw.get("Spec")).get("Availability", "active") == "active")


def node_brief(raw: Mapping[str, Any]) -> tuple[str, str, str]:
    """(id, hostname, address) of a `GET /nodes` item."""
    return (str(raw.get("ID", "")), str(as_dict(raw.get("Description")).get("Hostname", "")),
            str(as_dict(raw.get("Status")).get("Addr", "")))
