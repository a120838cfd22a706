"""Which task failed an update, and why: OOM, unhealthy, exit code, early exit, unschedulable."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ccci_tui.domain.model import (
    ROLE_ATTEMPTED,
    ROLE_CURRENT,
    ROLE_OTHER,
    Observation,
    TaskState,
    UpdateStatus,
)
from ccci_tui.domain.timeline import EVENT, TASK, Timeline

NO_NODE = "no suitable node"
_EXIT = re.compile(r"non-zero exit \((-?\d+)\)")


@dataclass(frozen=True)
class Failure:
    """A failed task and the cause read from it."""

    task: TaskState
    cause: str  # oom | unhealthy | exit | early-exit | unschedulable | rejected | unknown
    phrase: str  # "was OOM-killed", "never became healthy", "exited with code 3", ...
    exit_code: int | None
    running_for_s: float | None  # from RUNNING to the failure; None when it never ran
    failed_at: datetime | None


def _exit_code(task: TaskState) -> int | None:
    if task.exit_code is not None:
        return task.exit_code
    m = _EXIT.search(task.err or "")
    return int(m.group(1)) if m else None


def _events_for(timeline: Timeline | None, task_id: str) -> set[str]:
    if timeline is None:
        return set()
    return {e.state or "" for e in timeline.entries if e.kind == EVENT and e.task_id == task_id}


def oom_seen(task: TaskState, timeline: Timeline | None) -> bool:
    """The task was OOM-killed: its container's flag, or the engine's `oom` event for it."""
    return task.oom_killed is True or "oom" in _events_for(timeline, task.id)


def _ran_at(timeline: Timeline | None, task_id: str) -> datetime | None:
    if timeline is None:
        return None
    for e in timeline.entries:
        if e.kind == TASK and e.task_id == task_id and e.state == "running":
            return e.at
    return None


def waits_for_node(task: TaskState) -> bool:
    """A task no node can take yet (`no suitable node (insufficient resources …)`, an unmet constraint)."""
    return bool(task.err and NO_NODE in task.err and not task.terminal)


def is_failed(task: TaskState) -> bool:
    """A task that ended badly: failed or rejected, a non-zero exit, or an exit while meant to run."""
    if task.state in ("failed", "rejected"):
        return True
    code = _exit_code(task)
    if task.terminal and code not in (None, 0):
        return True
    return bool(task.err and NO_NODE in task.err)


def explain(task: TaskState, timeline: Timeline | None, healthcheck: bool) -> Failure:
    """Read the cause of one task's failure from the task, its container and the events seen."""
    events = _events_for(timeline, task.id)
    code = _exit_code(task)
    ran = _ran_at(timeline, task.id)
    ran_for = (task.updated_at - ran).total_seconds() if ran and task.updated_at else None
    if task.err and NO_NODE in task.err:
        cause, phrase = "unschedulable", f"could not be scheduled ({task.err})"
    elif oom_seen(task, timeline):
        cause, phrase = "oom", "was OOM-killed"
    elif "health_status: unhealthy" in events or (
        healthcheck and task.terminal and ran is None and code in (None, 0) and task.state != "rejected"
    ):
        cause, phrase = "unhealthy", "never became healthy"
    elif task.state == "rejected":
        cause, phrase = "rejected", f"was rejected ({task.err or task.message})"
    elif code == 137:
        # 137 alone is ambiguous: OOM, SIGKILL after the stop grace period, or an unhealthy kill. And
        # the flag itself can miss: when the exit reaches dockerd before the OOM event, OOMKilled
        # stays false (seen on the lab engine under load), so "false" is not "no OOM"
        if task.node_access:  # on a node whose engine this tool cannot read
            why = task.node_access
        elif task.oom_killed is None:
            why = "its container is gone or on another node"
        else:
            why = "the engine did not flag an OOM kill, which it can miss"
        where = f" on node {task.node}" if task.node else ""
        cause, phrase = "exit", f"was killed with exit 137{where} (OOM not confirmed: {why})"
    elif code not in (None, 0):
        cause, phrase = "exit", f"exited with code {code}"
    elif task.terminal and code == 0:
        cause, phrase = "early-exit", "exited early with code 0"
    else:
        cause, phrase = "unknown", f"ended in state {task.state}"
    return Failure(task, cause, phrase, code, ran_for, task.updated_at)


def failing_task(
    obs: Observation,
    tasks: tuple[TaskState, ...],
    status: UpdateStatus | None,
    timeline: Timeline | None,
    roles: tuple[str, ...] = (ROLE_ATTEMPTED, ROLE_OTHER),
) -> TaskState | None:
    """The task an update or rollback failed on: named by the status, first seen failing, or newest failed."""
    by_id = {t.id: t for t in tasks}
    if status is not None and status.failed_task_id:
        named = by_id.get(status.failed_task_id) or next(
            (t for t in tasks if t.id.startswith(status.failed_task_id)), None
        )
        if named is not None:
            return named
    if timeline is not None and timeline.first_failure is not None and timeline.first_failure.task_id:
        seen = by_id.get(timeline.first_failure.task_id)
        if seen is not None and seen.role in roles:
            return seen
    since = status.started_at if status is not None else None
    candidates = [
        t for t in tasks
        if t.role in roles and (is_failed(t) or _ended_by_itself(t))
        and (since is None or t.created_at is None or t.created_at >= since)
    ]
    candidates.sort(key=lambda t: t.updated_at or obs.at)
    return candidates[0] if candidates else None


def _ended_by_itself(task: TaskState) -> bool:
    # `complete` = the container exited on its own, or was killed for never turning healthy
    # (reference run A: unhealthy head -> kill -> exit 0 -> complete "finished")
    return task.state == "complete"


def current_failures(tasks: tuple[TaskState, ...], after: datetime | None, ended: bool = False) -> list[TaskState]:
    """Up-to-date tasks that failed after `after` (e.g. the update's CompletedAt); with `ended`, also those that
    ended by themselves (`complete`: exited 0, or killed for never turning healthy). A task waiting for a node
    has not failed: it waits."""
    return [
        t for t in tasks
        if t.role == ROLE_CURRENT and (is_failed(t) or (ended and _ended_by_itself(t))) and not waits_for_node(t)
        and (after is None or (t.updated_at or after) > after)
    ]


def running(tasks: tuple[TaskState, ...], role: str = ROLE_CURRENT) -> list[TaskState]:
    """Tasks of `role` that run and are meant to."""
    return [t for t in tasks if t.role == role and t.running and t.desired == "running"]


