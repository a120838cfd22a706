"""Where a task went, and why it could go nowhere: constraints and memory per node."""

from __future__ import annotations

from datetime import UTC, datetime

from ccci_tui.domain.model import NodeContext, NodeTask, TaskState
from ccci_tui.domain.placement import co_residence, constraint_met, unplaced_lines, why_not_here

GiB = 1024**3
T0 = datetime(2026, 11, 30, tzinfo=UTC)


def node(name: str, role: str = "worker", memory: int = 8 * GiB, reserved: int = 0, **kw: object) -> NodeContext:
    tasks = (NodeTask("t" + name, "x_db", "running", None, reserved),) if reserved else ()
    return NodeContext(f"id-{name}", name, memory, tasks, T0, role=role, **kw)  # type: ignore[arg-type]


def test_constraints_against_what_is_known_of_a_node() -> None:
    n = node("w1", labels={"disk": "ssd"})
    assert constraint_met("node.role==worker", n) is True
    assert constraint_met("node.role == manager", n) is False
    assert constraint_met("node.hostname!=w1", n) is False
    assert constraint_met("node.labels.disk==ssd", n) is True
    assert constraint_met("node.labels.gpu==yes", n) is False
    assert constraint_met("engine.labels.os==linux", n) is None


def test_why_a_task_goes_nowhere_on_each_node() -> None:
    nodes = [node("m1", role="manager", reserved=7 * GiB), node("w1"), node("w2", available=False)]
    lines = unplaced_lines(nodes, 2 * GiB, ("node.role==manager",))
    assert lines == [
        "node m1: needs 2G reserved, 1G of 8G unreserved",
        "node w1: constraint node.role==manager not met",
        "node w2: not available for new tasks (down, drained or paused); constraint node.role==manager not met",
    ]
    assert why_not_here(node("w1"), GiB, ()) == []


def test_co_residence_under_start_first() -> None:
    head = TaskState(id="h", slot=1, node_id="id-w1", desired="shutdown", state="failed")
    old_same = TaskState(id="o", slot=1, node_id="id-w1", desired="running", state="running")
    old_elsewhere = TaskState(id="o", slot=1, node_id="id-m1", desired="running", state="running")
    names = {"id-w1": "w1", "id-m1": "m1"}
    assert co_residence(head, [old_same], names) == (
        "the head task ran on node w1 beside the old task (co-residence: both at once on one node's memory)")
    assert co_residence(head, [old_elsewhere], names) == (
        "the head task ran on node w1, the old task on m1: they did not share a node")
    assert co_residence(head, [], names) is None
