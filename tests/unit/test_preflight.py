"""preflight's rules on known numbers (the lab tests check them against the real engine)."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

from ccci_tui.domain.compose import load_policy
from ccci_tui.domain.model import NodeContext, NodeTask, Observation, ServiceState, SpecSummary, TaskState
from ccci_tui.domain.preflight import LIMIT_BELOW_USE, NODE_MEMORY, UNSCHEDULABLE, preflight

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
GiB = 1024**3
MiB = 1024**2


def head(resources: str = "", order: str = "start-first", action: str = "pause") -> object:
    text = textwrap.dedent(f"""\
        services:
          app:
            image: x
            deploy:
              update_config: {{order: {order}, failure_action: {action}}}
        {textwrap.indent(resources, '      ')}
        """)
    return load_policy([("compose.yml", text)], {"STACK_NAME": "s"})


def running(use: int | None = None, reservation: int | None = None, node: str = "n1") -> Observation:
    spec = SpecSummary(labels={}, image="x", template_fp="fp", memory_reservation=reservation)
    svc = ServiceState(id="sid", name="s_app", stack="s", index=1, spec=spec)
    task = TaskState(id="old" + "x" * 22, slot=1, node_id=node, desired="running", state="running",
                     memory_bytes=use, memory_at=T0 if use is not None else None)
    return Observation(T0, svc, (task,))


def node(memory: int, tasks: tuple[NodeTask, ...] = (), read: bool = True, nid: str = "n1") -> NodeContext:
    return NodeContext(nid, f"host-{nid}", memory, tasks, T0, usage_read=read)


def test_a_reservation_that_fits_once_is_named_with_its_numbers() -> None:
    """The issue's own example: 2 × 13 GiB on a node with 23.4 GiB."""
    policy = head("resources: {reservations: {memory: 13G}}")
    old = NodeTask("old" + "x" * 22, "s_app", "running", None, 13 * GiB, 100 * MiB)
    n = node(int(23.4 * GiB), (old,))
    report = preflight("s", "HEAD", policy, {"app": running(100 * MiB, 13 * GiB)}, [n])  # type: ignore[arg-type]
    (check,) = report.services
    (risk,) = [r for r in check.risks if r.kind == UNSCHEDULABLE]
    assert risk.message.startswith("start-first needs 2 × 13G reserved at once (old and head task); node host-n1 "
                                   "has 23.4G, 13G reserved, 10.4G free: the head task of app cannot be placed "
                                   "while the old one runs")
    assert report.exit_code == 1 and "! unschedulable:" in report.to_text()
    stop_first = preflight("s", "HEAD", policy, {"app": running(100 * MiB, 13 * GiB)}, [n], order="stop-first")  # type: ignore[arg-type]
    assert stop_first.exit_code == 0, stop_first.to_text()
    # a second node with room takes the head task: nothing at risk
    roomy = preflight("s", "HEAD", policy, {"app": running(100 * MiB, 13 * GiB)}, [n, node(32 * GiB, nid="n2")])  # type: ignore[arg-type]
    assert not [r for r in roomy.services[0].risks if r.kind == UNSCHEDULABLE]


def test_start_first_beyond_the_node_memory_and_a_limit_below_use() -> None:
    policy = head("resources: {limits: {memory: 1G}}")
    others = NodeTask("db" + "y" * 23, "s_db", "running", None, None, 2 * GiB)
    old = NodeTask("old" + "x" * 22, "s_app", "running", GiB, None, 950 * MiB)
    report = preflight("s", "HEAD", policy, {"app": running(950 * MiB)}, [node(3 * GiB, (others, old))])  # type: ignore[arg-type]
    kinds = [r.kind for r in report.services[0].risks]
    assert kinds == [LIMIT_BELOW_USE, NODE_MEMORY]
    memory = report.services[0].risks[1]
    assert "together they need 1.9G of 1G left" in memory.message
    assert memory.numbers["others in use"] == "2G"


def test_what_it_cannot_know() -> None:
    policy = head()
    unread = node(8 * GiB, read=False)
    report = preflight("s", "HEAD", policy, {"app": running(None)}, [unread], order="stop-first")  # type: ignore[arg-type]
    (check,) = report.services
    assert check.risks == () and report.exit_code == 0
    assert any("its memory use is not readable from this engine" in u for u in check.unknown)
    assert any(u.startswith("app sets no memory limit or reservation") for u in check.unknown)
    not_running = preflight("s", "HEAD", policy, {}, [unread], order="stop-first")  # type: ignore[arg-type]
    assert not_running.services[0].unknown[0] == (
        "app is not running in the stack: nothing old to weigh the head against")


def test_policy_risks_that_fail_an_update_count() -> None:
    policy = head(action="rollback")
    report = preflight("s", "HEAD", policy, {"app": running(10 * MiB)}, [node(8 * GiB)])  # type: ignore[arg-type]
    assert [r.kind for r in report.services[0].risks] == ["start-first-rollback"]
    assert preflight("s", "HEAD", policy, {"app": running(10 * MiB)}, [node(8 * GiB)],  # type: ignore[arg-type]
                     order="stop-first").exit_code == 0
    assert "**start-first-rollback**" in report.to_markdown()
