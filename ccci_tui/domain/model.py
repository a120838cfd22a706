"""Frozen observation model: what the sources produce and everything else reads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

# UpdateStatus.State values the engine uses (swarmkit api.UpdateStatus_UpdateState).
UPDATING = "updating"
PAUSED = "paused"
COMPLETED = "completed"
ROLLBACK_STARTED = "rollback_started"
ROLLBACK_PAUSED = "rollback_paused"
ROLLBACK_COMPLETED = "rollback_completed"
UPDATE_STATES = (UPDATING, PAUSED, COMPLETED, ROLLBACK_STARTED, ROLLBACK_PAUSED, ROLLBACK_COMPLETED)
ACTIVE_STATES = frozenset({UPDATING, ROLLBACK_STARTED})  # Swarm is still at work: the clock matters


def stack_badge(states: Iterable[str | None]) -> str:
    """A stack's badge in the picker from its services' UpdateStatus states: paused, rollback, updating or ok."""
    found = set(states)
    if found & {PAUSED, ROLLBACK_PAUSED}:
        return "paused"
    if found & {ROLLBACK_STARTED, ROLLBACK_COMPLETED}:
        return "rollback"
    if UPDATING in found:
        return "updating"
    return "ok"

# Task states in lifecycle order (swarmkit api.TaskState); terminal ones end a task.
TASK_STATES = (
    "new", "pending", "assigned", "accepted", "ready", "preparing", "starting", "running",
    "complete", "shutdown", "failed", "rejected", "remove", "orphaned",
)
TERMINAL_TASK_STATES = frozenset({"complete", "shutdown", "failed", "rejected", "remove", "orphaned"})

# Which spec a task ran.
ROLE_CURRENT = "current"
ROLE_PREVIOUS = "previous"
ROLE_ATTEMPTED = "attempted"
ROLE_OTHER = "other"

_FAILED_TASK = re.compile(r"\btask ([a-z0-9]{10,})\b")


def template_fingerprint(template: Mapping[str, Any] | None) -> str:
    """Fingerprint of a task spec: the service's TaskTemplate minus `Runtime` equals a task's Spec."""
    if not template:
        return ""
    import hashlib  # deferred: OpenSSL's hashlib (~3 ms) only for live reads; a replay's fingerprints are recorded

    reduced = {k: v for k, v in template.items() if k != "Runtime"}
    blob = json.dumps(reduced, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class UpdatePolicy:
    """A live spec's UpdateConfig or RollbackConfig (engine units: seconds, not nanoseconds)."""

    parallelism: int = 1
    delay_s: float = 0.0
    failure_action: str = "pause"
    monitor_s: float = 5.0
    max_failure_ratio: float = 0.0
    order: str = "stop-first"


@dataclass(frozen=True)
class SpecSummary:
    """A service spec reduced to what drift diagnosis needs (no env values: they may be secret)."""

    labels: Mapping[str, str]
    image: str
    template_fp: str
    update_config: UpdatePolicy | None = None
    rollback_config: UpdatePolicy | None = None
    replicas: int | None = None  # None for global mode
    mode: str = "replicated"
    memory_limit: int | None = None
    memory_reservation: int | None = None
    healthcheck: tuple[str, ...] | None = None
    monitor_hint_s: float | None = None  # start_period + interval x retries, when a healthcheck exists
    constraints: tuple[str, ...] = ()  # TaskTemplate.Placement.Constraints, e.g. node.role==manager

    def label(self, key: str) -> str | None:
        return self.labels.get(key)


@dataclass(frozen=True)
class UpdateStatus:
    """The service's UpdateStatus; absent (None on the service) after any spec write until `updating`."""

    state: str
    started_at: datetime | None = None
    completed_at: datetime | None = None
    message: str = ""

    @property
    def failed_task_id(self) -> str | None:
        """Task id named by a rollback or pause message, e.g. `...early termination of task abc`."""
        m = _FAILED_TASK.search(self.message or "")
        return m.group(1) if m else None

    @property
    def rollback(self) -> bool:
        return self.state.startswith("rollback_")


@dataclass(frozen=True)
class TaskState:
    """One task as the engine reports it, plus its container's OOM flag and memory when readable."""

    id: str
    slot: int | None
    node_id: str
    desired: str
    state: str
    message: str = ""
    err: str | None = None
    exit_code: int | None = None  # only once the task is terminal
    container_id: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None  # Status.Timestamp: when `state` was reached
    spec_fp: str = ""
    role: str = ROLE_OTHER
    oom_killed: bool | None = None  # None: container not on this node or gone
    memory_bytes: int | None = None  # in use (usage minus inactive file) at `memory_at`
    memory_limit: int | None = None
    memory_peak: int | None = None  # the cgroup's high-water mark (v1 max_usage) at `memory_at`
    memory_at: datetime | None = None  # when the memory was sampled
    memory_cgroup: str = ""  # "v1" or "v2" (v2: the engine reports no peak)
    node: str = ""  # the node's hostname, when known
    node_access: str = ""  # why the container facts could not be read on the task's node ("" when they were)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_TASK_STATES

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class ServiceState:
    """One read of a service: identity, spec, previous spec and update status."""

    id: str
    name: str
    stack: str
    index: int
    spec: SpecSummary
    previous_spec: SpecSummary | None = None
    update_status: UpdateStatus | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class NodeTask:
    """A task a node runs (desired running), with its memory limit, reservation and use when read."""

    task_id: str
    service: str
    state: str
    memory_limit: int | None = None
    memory_reservation: int | None = None
    memory_bytes: int | None = None  # in use, when the engine on that node was read


@dataclass(frozen=True)
class NodeContext:
    """A node's memory and what its tasks limit, reserve and use, read at `at` (node inspect + tasks)."""

    id: str
    hostname: str
    memory_bytes: int | None  # Description.Resources.MemoryBytes: what the scheduler places against
    tasks: tuple[NodeTask, ...] = ()
    at: datetime | None = None
    usage_read: bool = False  # whether the tasks' use was read (by the engine on that node)
    role: str = ""  # manager or worker
    labels: Mapping[str, str] = field(default_factory=dict)  # node labels (Spec.Labels), for constraints
    available: bool = True  # ready and active: the scheduler may place tasks there

    @property
    def free(self) -> int | None:
        """Memory not reserved by its tasks: what the scheduler can still place against."""
        return None if self.memory_bytes is None else self.memory_bytes - self.reserved

    @property
    def reserved(self) -> int:
        return sum(t.memory_reservation or 0 for t in self.tasks)

    @property
    def limited(self) -> int:
        return sum(t.memory_limit or 0 for t in self.tasks)

    @property
    def in_use(self) -> int | None:
        known = [t.memory_bytes for t in self.tasks if t.memory_bytes is not None]
        return sum(known) if self.usage_read else None


@dataclass(frozen=True)
class Observation:
    """Service and tasks read together at `at`; `service` None means the service is gone."""

    at: datetime
    service: ServiceState | None
    tasks: tuple[TaskState, ...] = ()
    error: str | None = None  # set when the read failed; the rest is then the last good state
    nodes: tuple[NodeContext, ...] = ()  # the nodes of tasks whose memory matters, when read

    def node(self, node_id: str) -> NodeContext | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def task(self, task_id: str) -> TaskState | None:
        for t in self.tasks:
            if t.id == task_id or (len(task_id) >= 10 and t.id.startswith(task_id)):
                return t
        return None


@dataclass(frozen=True)
class Event:
    """An engine event reduced to what the timeline uses."""

    at: datetime
    type: str  # "service" or "container"
    action: str  # update, create, remove, oom, die, kill, health_status: unhealthy, ...
    service: str = ""
    task_id: str = ""
    container_id: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TagInfo:
    """A git tag and the commit it points to."""

    name: str
    sha: str
    annotated: bool = True


@dataclass(frozen=True)
class RecipeState:
    """A recipe repo's git state as read without changing it."""

    path: str
    head_sha: str
    head_subject: str = ""
    describe: str | None = None
    tags: tuple[TagInfo, ...] = ()  # newest version first
    untracked: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    shallow: bool = False
    branch: str | None = None  # None when HEAD is detached

    @property
    def dirty(self) -> bool:
        return bool(self.untracked or self.modified)

    def tags_at(self, sha: str) -> tuple[str, ...]:
        """Names of tags on the commit `sha` (full or abbreviated)."""
        sha = sha.lower()
        return tuple(t.name for t in self.tags if t.sha.startswith(sha) or sha.startswith(t.sha))


# ---- spec comparison helpers (used by the timeline; pure) ---------------------------------


def same_spec(a: SpecSummary | None, b: SpecSummary | None) -> bool:
    """Whether two specs (or their absence) agree on labels, image, template and policies."""
    if a is None or b is None:
        return a is b
    return (
        dict(a.labels) == dict(b.labels)
        and a.image == b.image
        and a.template_fp == b.template_fp
        and a.update_config == b.update_config
        and a.rollback_config == b.rollback_config
    )


def label_display_name(key: str) -> str:
    """`stamp` for abra's chaos-version label, `version` for its version label, else the key."""
    if key.endswith(".chaos-version"):
        return "stamp"
    if key.startswith("coop-cloud.") and key.endswith(".version"):
        return "version"
    return key


def describe_spec_change(old: SpecSummary, new: SpecSummary) -> str:
    """What differs between two specs, e.g. `stamp eb96de94 -> 7ae7b0f7, template changed`."""
    labels = []
    # the stamp first: it is what HC1 compares; stack bookkeeping labels are noise here
    keys = sorted(set(old.labels) | set(new.labels), key=lambda k: (not k.endswith(".chaos-version"), k))
    for key in keys:
        a, b = old.labels.get(key), new.labels.get(key)
        if a != b and not key.startswith("com.docker.stack."):
            labels.append(f"{label_display_name(key)} {a or '(none)'} -> {b or '(none)'}")
    parts = labels[:4] + ([f"{len(labels) - 4} more labels changed"] if len(labels) > 4 else [])
    if old.image != new.image:
        parts.append(f"image {old.image or '?'} -> {new.image or '?'}")
    if old.template_fp and new.template_fp and old.template_fp != new.template_fp:
        parts.append("template changed")
    if old.update_config != new.update_config or old.rollback_config != new.rollback_config:
        parts.append("update/rollback config changed")
    return ", ".join(parts) or "same spec redeployed"


def spec_brief(spec: SpecSummary) -> str:
    """A one-line summary of a spec: up to four labels and the template fingerprint."""
    keys = sorted(k for k in spec.labels if not k.startswith("com.docker.stack."))
    shown = [f"{label_display_name(k)} {spec.labels[k]}" for k in keys[:4]]
    return ", ".join(shown + ([f"template {spec.template_fp}"] if spec.template_fp else []))


def mark_attempted(obs: Observation, attempted: SpecSummary | None) -> Observation:
    """`obs` with the attempted spec's tasks (role "other" at the source) marked "attempted"."""
    fp = attempted.template_fp if attempted is not None else ""
    if not fp or not any(t.role == ROLE_OTHER and t.spec_fp == fp for t in obs.tasks):
        return obs
    tasks = tuple(
        replace(t, role=ROLE_ATTEMPTED) if t.role == ROLE_OTHER and t.spec_fp == fp else t for t in obs.tasks
    )
    return replace(obs, tasks=tasks)
