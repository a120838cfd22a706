"""What a task's memory was, said truthfully: which sample, how old, the peak where the engine has one,
the limit an OOM kill reached, a node OOM where there was no limit; the node's memory beside it; and
each task's samples over time for a sparkline.

One home for memory wording: the tasks pane, the task detail, the verdict's evidence and `preflight`
all say it from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ccci_tui.domain.failure import waits_for_node
from ccci_tui.domain.model import NodeContext, Observation, TaskState

Samples = tuple[tuple[datetime, int], ...]  # (when, bytes in use), oldest first
SERIES_KEPT = 120  # samples per task (20 minutes at the TUI's 10 s cadence)
_SPARK = "▁▂▃▄▅▆▇█"


def fmt_bytes(n: int | None) -> str:
    """`908K`, `21.5M`, `32M`: one decimal only where it says something (powers of 1024)."""
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "K", "M", "G"):
        if size < 1024 or unit == "G":
            if unit == "B" or size >= 100 or size == int(size):
                return f"{size:.0f}{unit}"
            return f"{size:.1f}{unit}"
        size /= 1024
    return f"{size:.0f}G"


def _age(then: datetime | None, now: datetime | None) -> str:
    if then is None or now is None:
        return ""
    seconds = max(0.0, (now - then).total_seconds())
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def oom_at_limit(task: TaskState) -> bool:
    """The kernel killed the task for its own cgroup limit: OOM-killed with a memory limit set."""
    return task.oom_killed is True and task.memory_limit is not None


def node_oom(task: TaskState) -> bool:
    """OOM-killed without a memory limit: the node ran out of memory, not the task's cgroup."""
    return task.oom_killed is True and task.memory_limit is None


def memory_cell(task: TaskState) -> tuple[str, float | None]:
    """The tasks pane's memory column: text, and how full the limit is (0..1) when that is known.

    An OOM kill at the limit shows the limit as reached, never the last sample, which was taken
    before the task allocated what killed it."""
    if oom_at_limit(task):
        return f"OOM: {fmt_bytes(task.memory_limit)} limit", 1.0
    if node_oom(task):
        return "node OOM (no limit)", None
    if task.memory_bytes is None:
        return ("not read on its node" if task.node_access else "-"), None
    if task.terminal:  # a sample of a task that has ended is history: say so
        return f"last {fmt_bytes(task.memory_bytes)}", None
    limit = task.memory_limit
    if limit:
        return f"{fmt_bytes(task.memory_bytes)}/{fmt_bytes(limit)}", min(1.0, task.memory_bytes / limit)
    return fmt_bytes(task.memory_bytes), None


def memory_facts(task: TaskState, now: datetime | None) -> tuple[str, ...]:
    """Every memory fact of a task, each labelled with what it is and when it was taken."""
    out: list[str] = []
    limit = f"limit {fmt_bytes(task.memory_limit)}" if task.memory_limit else "no memory limit"
    if oom_at_limit(task):
        out.append(f"reached the limit (OOM): the kernel killed it at its {fmt_bytes(task.memory_limit)} limit")
    elif node_oom(task):
        out.append("node OOM: it had no memory limit, so the kernel killed it because the node ran out of memory")
    if task.memory_bytes is None:
        out.append(f"not read: {task.node_access} ({limit})" if task.node_access else f"not sampled ({limit})")
    else:
        when = f"sampled {task.memory_at:%H:%M:%S} UTC" if task.memory_at else "sample time not recorded"
        age = _age(task.memory_at, now)
        if task.terminal:
            what = "last sample before it ended" + (", not its use when it was killed" if task.oom_killed else "")
            out.append(f"{what}: {fmt_bytes(task.memory_bytes)} in use ({when}; {limit})")
        else:
            out.append(f"current: {fmt_bytes(task.memory_bytes)} in use ({when}{', ' + age if age else ''}; {limit})")
        if task.memory_peak is not None:
            out.append(f"peak: {fmt_bytes(task.memory_peak)} (cgroup v1 max_usage, page cache included, {when})")
        elif task.memory_cgroup == "v2":
            out.append("peak: no peak on cgroup v2 (the engine reports none)")
    return tuple(out)


def memory_dict(task: TaskState, now: datetime | None) -> dict[str, object]:
    """A task's memory for JSON: the numbers, when they were taken, and the same facts as text."""
    return {
        "in_use": task.memory_bytes, "peak": task.memory_peak, "limit": task.memory_limit,
        "sampled_at": task.memory_at.isoformat().replace("+00:00", "Z") if task.memory_at else None,
        "cgroup": task.memory_cgroup or None,
        "oom": "limit" if oom_at_limit(task) else "node" if node_oom(task) else None,
        "facts": list(memory_facts(task, now)),
    }


def node_facts(node: NodeContext, service: str = "") -> tuple[str, ...]:
    """A node's memory and what its tasks limit, reserve and use; the tasks of `service` are marked."""
    name = node.hostname or node.id[:12]
    total = fmt_bytes(node.memory_bytes) if node.memory_bytes else "unknown"
    use = node.in_use
    head = (f"node {name}: {total} memory; its {len(node.tasks)} task(s) reserve {fmt_bytes(node.reserved)}, "
            f"limit {fmt_bytes(node.limited)}"
            + (f", use {fmt_bytes(use)}" if use is not None else ", use not readable from this engine"))
    out = [head]
    for t in node.tasks:
        bits = [f"{t.service} {t.task_id[:12]}{' (this service)' if service and t.service == service else ''}: "
                f"{t.state}",
                f"limit {fmt_bytes(t.memory_limit) if t.memory_limit else 'none'}",
                f"reservation {fmt_bytes(t.memory_reservation) if t.memory_reservation else 'none'}"]
        if t.memory_bytes is not None:
            bits.append(f"in use {fmt_bytes(t.memory_bytes)}")
        out.append("  " + ", ".join(bits))
    return tuple(out)


def starved(obs: Observation) -> bool:
    """A task of `obs` waits for a node that can take it (`no suitable node …`)."""
    return any(waits_for_node(t) for t in obs.tasks)


def wants_node_context(obs: Observation) -> tuple[str, ...]:
    """Nodes whose context the evidence needs: where a task was OOM-killed or exited 137 (a starved task needs
    every node: see `starved`)."""
    return tuple(dict.fromkeys(t.node_id for t in obs.tasks
                               if (t.oom_killed is True or t.exit_code == 137) and t.node_id))


def series(samples: Sequence[tuple[datetime, int]], width: int = 24) -> str:
    """A sparkline of memory samples (the last `width`), scaled from zero to the highest sample."""
    values = [v for _, v in samples][-width:]
    if not values:
        return ""
    top = max(values) or 1
    return "".join(_SPARK[min(len(_SPARK) - 1, int(v / top * (len(_SPARK) - 1) + 0.5))] for v in values)


class MemorySeries:
    """Each task's memory samples in the order they were read (a sample counts once, by its time)."""

    def __init__(self, kept: int = SERIES_KEPT) -> None:
        self.kept = kept
        self._by_task: dict[str, list[tuple[datetime, int]]] = {}

    def add(self, obs: Observation) -> None:
        for t in obs.tasks:
            if t.memory_bytes is None or t.memory_at is None:
                continue
            samples = self._by_task.setdefault(t.id, [])
            if samples and samples[-1][0] >= t.memory_at:
                continue
            samples.append((t.memory_at, t.memory_bytes))
            del samples[:-self.kept]

    def of(self, task_id: str) -> Samples:
        return tuple(self._by_task.get(task_id, ()))
