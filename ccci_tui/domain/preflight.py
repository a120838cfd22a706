"""Before an upgrade: can the head be rolled out with this update order? Weighed per service and node from
the old tasks' memory (current and peak), the head's limits and reservations, each node's memory and what
its other tasks reserve and use, and the policy risks `compare` knows that make an update fail.

Pure: the caller reads the swarm and the recipe (headless/preflight.py) and hands the facts in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ccci_tui.domain.compare import (
    MONITOR_SHORTER_THAN_HEALTH,
    START_FIRST_HOST_PORTS,
    START_FIRST_ROLLBACK,
    service_risks,
)
from ccci_tui.domain.compose import ComposePolicy, Field, ServicePolicy
from ccci_tui.domain.memory import fmt_bytes
from ccci_tui.domain.model import NodeContext, Observation, TaskState

# the policy risks that make an update of this order fail (not those that only cost downtime)
FAILING_POLICY_RISKS = (START_FIRST_ROLLBACK, MONITOR_SHORTER_THAN_HEALTH, START_FIRST_HOST_PORTS)
UNSCHEDULABLE = "unschedulable"
NODE_MEMORY = "node-memory"
LIMIT_BELOW_USE = "limit-below-use"
NEAR_LIMIT = 0.9  # an old task using this share of the head's limit already is at risk


@dataclass(frozen=True)
class Risk:
    kind: str
    message: str
    numbers: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "numbers": dict(self.numbers)}


@dataclass(frozen=True)
class ServiceCheck:
    """One service of the head: the order weighed, what is at risk, and what cannot be known."""

    service: str
    order: str
    risks: tuple[Risk, ...]
    unknown: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "order": self.order, "at_risk": bool(self.risks),
                "risks": [r.to_dict() for r in self.risks], "unknown": list(self.unknown)}


@dataclass(frozen=True)
class Preflight:
    stack: str
    head: str
    services: tuple[ServiceCheck, ...]
    nodes: tuple[NodeContext, ...]

    @property
    def at_risk(self) -> bool:
        return any(s.risks for s in self.services)

    @property
    def exit_code(self) -> int:
        return 1 if self.at_risk else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack, "head": self.head, "at_risk": self.at_risk,
            "services": [s.to_dict() for s in self.services],
            "nodes": [{"id": n.id, "hostname": n.hostname, "memory": n.memory_bytes, "reserved": n.reserved,
                       "in_use": n.in_use, "tasks": len(n.tasks)} for n in self.nodes],
        }

    def to_text(self) -> str:
        verdict = "AT RISK" if self.at_risk else "OK"
        lines = [f"preflight {self.stack} -> {self.head}: {verdict}"]
        for n in self.nodes:
            lines.append(f"  node {n.hostname or n.id[:12]}: {fmt_bytes(n.memory_bytes)} memory, "
                         f"{fmt_bytes(n.reserved)} reserved by {len(n.tasks)} task(s)"
                         + (f", {fmt_bytes(n.in_use)} in use" if n.in_use is not None else ""))
        for s in self.services:
            lines.append(f"{s.service} ({s.order}): {'at risk' if s.risks else 'ok'}")
            for r in s.risks:
                lines.append(f"  ! {r.kind}: {r.message}")
            lines += [f"  ? {u}" for u in s.unknown]
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        out = [f"## Preflight: `{self.stack}` to `{self.head}`: **{'at risk' if self.at_risk else 'ok'}**", ""]
        for s in self.services:
            out.append(f"### {s.service} ({s.order}): {'at risk' if s.risks else 'ok'}")
            out += [f"- **{r.kind}**: {_md(r.message)}" for r in s.risks]
            out += [f"- _cannot know_: {_md(u)}" for u in s.unknown]
            out.append("")
        return "\n".join(out)


def _md(text: str) -> str:
    for ch in "\\`*_[]<>|#":
        text = text.replace(ch, "\\" + ch)
    return text


def _with_order(policy: ServicePolicy, order: str) -> ServicePolicy:
    if policy.update_config.order.value == order:
        return policy
    return replace(policy, update_config=replace(policy.update_config, order=Field(order, True, "as asked")))


def _reservation(task: TaskState, node: NodeContext | None, obs: Observation) -> int:
    if node is not None:
        for t in node.tasks:
            if t.task_id == task.id:
                return t.memory_reservation or 0
    svc = obs.service
    return (svc.spec.memory_reservation or 0) if svc is not None else 0


def _free(node: NodeContext) -> int | None:
    return None if node.memory_bytes is None else node.memory_bytes - node.reserved


def check_service(policy: ServicePolicy, order: str, obs: Observation | None,
                  nodes: Sequence[NodeContext]) -> ServiceCheck:
    """Weigh one service of the head against the swarm as it runs now."""
    policy = _with_order(policy, order)
    start_first = order == "start-first"
    risks: list[Risk] = []
    unknown: list[str] = []
    by_id = {n.id: n for n in nodes}
    old = [t for t in (obs.tasks if obs is not None else ()) if t.running and t.desired == "running"]
    want, limit = policy.memory_reservation, policy.memory_limit
    if obs is None or obs.service is None:
        unknown.append(f"{policy.name} is not running in the stack: nothing old to weigh the head against")
    if want:
        risks += _placement(policy.name, want, order, old, obs, by_id, nodes)
    for task in old:
        node = by_id.get(task.node_id)
        name = node.hostname if node is not None and node.hostname else task.node_id[:12]
        use, peak = task.memory_bytes, task.memory_peak
        seen = f"{fmt_bytes(use)}" + (f" (peak {fmt_bytes(peak)})" if peak else "") if use is not None else None
        if use is None:
            unknown.append(f"the old task {task.id[:12]} on node {name}: its memory use is not readable from this "
                           "engine (only the engine on its node can read it)")
        elif limit and use >= NEAR_LIMIT * limit:
            risks.append(Risk(LIMIT_BELOW_USE,
                              f"the head's {fmt_bytes(limit)} limit is below what the old task {task.id[:12]} uses "
                              f"now ({seen}): the head task is likely OOM-killed once it does the same work",
                              {"head limit": fmt_bytes(limit), "old in use": fmt_bytes(use),
                               "old peak": fmt_bytes(peak) if peak else "unknown"}))
        if start_first and node is not None and use is not None:
            head_need = limit or peak or use  # the head may grow to its limit; without one, like the old task
            if node.memory_bytes is None:
                unknown.append(f"node {name}'s memory is not known")
            elif node.in_use is None:
                unknown.append(f"what node {name}'s other tasks use is not readable from this engine")
            else:
                others = node.in_use - use
                room = node.memory_bytes - others
                if use + head_need > room:
                    risks.append(Risk(
                        NODE_MEMORY,
                        f"start-first runs the old task ({seen}) beside the head "
                        f"({'limit ' + fmt_bytes(limit) if limit else 'no limit, sized like the old task'}) on node "
                        f"{name} with {fmt_bytes(node.memory_bytes)}, where its other tasks use {fmt_bytes(others)}: "
                        f"together they need {fmt_bytes(use + head_need)} of {fmt_bytes(room)} left, so the kernel "
                        "may OOM-kill one of them",
                        {"node": name, "node memory": fmt_bytes(node.memory_bytes), "others in use": fmt_bytes(others),
                         "old in use": fmt_bytes(use), "head needs": fmt_bytes(head_need)}))
    if not want and not limit:
        used = [t.memory_bytes for t in old if t.memory_bytes is not None]
        now = f"; the old task uses {fmt_bytes(max(used))} now" if used else ""
        unknown.append(f"{policy.name} sets no memory limit or reservation: what the head will use cannot be known "
                       f"from the recipe{now}" + ("; start-first needs room for both at once" if start_first else ""))
    for note in service_risks(policy, "head"):
        if note.kind in FAILING_POLICY_RISKS:
            risks.append(Risk(note.kind, note.message, note.evidence))
    return ServiceCheck(policy.name, order, tuple(risks), tuple(unknown))


def _placement(name: str, want: int, order: str, old: list[TaskState], obs: Observation | None,
               by_id: Mapping[str, NodeContext], nodes: Sequence[NodeContext]) -> list[Risk]:
    """Whether some node has `want` unreserved for the head task (start-first: while the old one holds its own)."""
    if not nodes:
        return []
    start_first = order == "start-first"
    room: dict[str, int] = {}
    for n in nodes:
        free = _free(n)
        if free is None:
            continue
        if not start_first and obs is not None:  # stop-first: the old task frees its reservation first
            free += sum(_reservation(t, n, obs) for t in old if t.node_id == n.id)
        room[n.id] = free
    if not room or max(room.values()) >= want:
        return []
    worst = [by_id[i] for i in room]
    detail = "; ".join(
        f"node {n.hostname or n.id[:12]} has {fmt_bytes(n.memory_bytes)}, {fmt_bytes(n.reserved)} reserved, "
        f"{fmt_bytes(max(0, room[n.id]))} free" + (" once the old task stops" if not start_first else "")
        for n in worst)
    held = sum(_reservation(t, by_id.get(t.node_id), obs) for t in old) if obs is not None else 0
    if not start_first:
        needs = f"stop-first needs {fmt_bytes(want)} reserved for the head task"
    elif held == want:
        needs = f"start-first needs 2 × {fmt_bytes(want)} reserved at once (old and head task)"
    else:
        needs = f"start-first needs {fmt_bytes(held)} (old task) + {fmt_bytes(want)} (head task) reserved at once"
    return [Risk(UNSCHEDULABLE,
                 f"{needs}; {detail}: the head task of {name} cannot be placed"
                 + (" while the old one runs, and the update stays pending" if start_first else ""),
                 {"head reservation": fmt_bytes(want), "old reservation": fmt_bytes(held),
                  **{f"free on {n.hostname or n.id[:12]}": fmt_bytes(max(0, room[n.id])) for n in worst}})]


def preflight(stack: str, head_ref: str, head: ComposePolicy, observed: Mapping[str, Observation],
              nodes: Sequence[NodeContext], order: str | None = None) -> Preflight:
    """Every service of the head, with `order` (default: each service's own)."""
    checks = tuple(
        check_service(policy, order or policy.update_config.order.value, observed.get(name), nodes)
        for name, policy in head.services.items())
    return Preflight(stack, head_ref, checks, tuple(nodes))
