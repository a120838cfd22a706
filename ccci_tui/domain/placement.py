"""Where Swarm put a task, and why it could put a task nowhere: placement constraints and memory per node."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ccci_tui.domain.memory import fmt_bytes
from ccci_tui.domain.model import NodeContext, TaskState

_CONSTRAINT = re.compile(r"\s*([\w.\-]+)\s*(==|!=)\s*(.*?)\s*$")


def constraint_met(constraint: str, node: NodeContext) -> bool | None:
    """Whether `node` meets one placement constraint (`node.role==manager`, `node.labels.disk!=hdd`, …);
    None when it cannot be told from what is known of the node (engine labels, platform)."""
    m = _CONSTRAINT.match(constraint)
    if m is None:
        return None
    key, op, want = m.group(1), m.group(2), m.group(3)
    if key == "node.hostname":
        have: str | None = node.hostname
    elif key == "node.id":
        have = node.id
    elif key == "node.role":
        have = node.role or None
    elif key.startswith("node.labels."):
        have = node.labels.get(key.removeprefix("node.labels."), "")
    else:
        return None
    if have is None:
        return None
    return (have == want) if op == "==" else (have != want)


def why_not_here(node: NodeContext, reservation: int | None, constraints: Sequence[str]) -> list[str]:
    """What keeps a task from `node`: unavailable, an unmet constraint, or too little unreserved memory."""
    reasons: list[str] = []
    if not node.available:
        reasons.append("not available for new tasks (down, drained or paused)")
    for c in constraints:
        met = constraint_met(c, node)
        if met is False:
            reasons.append(f"constraint {c} not met")
        elif met is None:
            reasons.append(f"constraint {c} cannot be checked here")
    free = node.free
    if reservation and free is not None and reservation > free:
        reasons.append(f"needs {fmt_bytes(reservation)} reserved, {fmt_bytes(max(0, free))} of "
                       f"{fmt_bytes(node.memory_bytes)} unreserved")
    return reasons


def unplaced_lines(nodes: Sequence[NodeContext], reservation: int | None, constraints: Sequence[str]) -> list[str]:
    """Per node, why a pending task could not go there (or that it could, once what holds it is gone)."""
    out = []
    for node in nodes:
        reasons = why_not_here(node, reservation, constraints)
        name = node.hostname or node.id[:12]
        out.append(f"node {name}: {'; '.join(reasons)}" if reasons else
                   f"node {name}: fits now ({fmt_bytes(node.free)} unreserved)")
    return out


def co_residence(head: TaskState, old: Sequence[TaskState], names: dict[str, str]) -> str | None:
    """Under start-first, where the head task ran against the old one: the same node (both at once) or not."""
    if not head.node_id or not old:
        return None
    here = names.get(head.node_id) or head.node or head.node_id[:12]
    if any(t.node_id == head.node_id for t in old):
        return (f"the head task ran on node {here} beside the old task (co-residence: both at once on one "
                "node's memory)")
    there = ", ".join(sorted({names.get(t.node_id) or t.node or t.node_id[:12] for t in old}))
    return f"the head task ran on node {here}, the old task on {there}: they did not share a node"
