"""A node running many tasks: each context read takes stats of a bounded few, stalest first, on daemon threads."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from ccci_tui.sources.memory_reads import NODE_STATS_BUDGET
from ccci_tui.sources.swarm import SwarmSource

NODE = "node1"


class _Engine:
    """The Engine API calls a node context makes, for one node running `n` tasks of one service."""

    def __init__(self, n: int) -> None:
        self.tasks_ = [{"ID": f"t{i:03}", "ServiceID": "svc", "NodeID": NODE,
                        "Status": {"State": "running", "ContainerStatus": {"ContainerID": f"c{i:03}"}}}
                       for i in range(n)]
        self.stats_of: list[str] = []
        self.threads: set[tuple[int | None, bool]] = set()
        self.lock = threading.Lock()
        self.together: threading.Barrier | None = None  # set: the first calls wait for each other

    def info(self) -> dict[str, Any]:
        return {"Name": "vm", "Swarm": {"NodeID": NODE}}

    def inspect_node(self, node_id: str) -> dict[str, Any]:
        return {"ID": node_id, "Description": {"Hostname": "vm", "Resources": {"MemoryBytes": 1 << 30}}}

    def tasks(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        return self.tasks_

    def services(self) -> list[dict[str, Any]]:
        return [{"ID": "svc", "Spec": {"Name": "big_app"}}]

    def stats(self, cid: str, stream: bool, one_shot: bool) -> dict[str, Any]:
        with self.lock:
            self.stats_of.append(cid)
            me = threading.current_thread()
            self.threads.add((me.ident, me.daemon))
            together, first = self.together, len(self.stats_of) <= 2
        if together is not None and first:
            together.wait(timeout=10)  # broken (an error) unless two stats calls run at once
        return {"read": datetime.now(UTC).isoformat(), "memory_stats": {"usage": 1 << 20}}


def _source(engine: _Engine) -> SwarmSource:
    source = SwarmSource("unix:///nonexistent.sock")
    source._client = engine  # the read client, as `api` hands it out
    return source


def test_a_context_read_takes_stats_of_a_bounded_few_and_the_next_read_takes_the_others() -> None:
    engine = _Engine(3 * NODE_STATS_BUDGET + 4)
    source = _source(engine)
    first = source.node_context(NODE)
    assert len(first.tasks) == len(engine.tasks_)  # every task is listed with its limits
    assert len(engine.stats_of) == NODE_STATS_BUDGET
    assert sum(t.memory_bytes is not None for t in first.tasks) == NODE_STATS_BUDGET

    source.node_context(NODE)  # the first ones are fresh: the next read takes ones never read
    assert len(engine.stats_of) == 2 * NODE_STATS_BUDGET
    assert len(set(engine.stats_of)) == 2 * NODE_STATS_BUDGET


def test_the_stalest_readings_are_taken_again_first() -> None:
    engine = _Engine(NODE_STATS_BUDGET + 2)
    source = _source(engine)
    source.sample_containers([f"c{i:03}" for i in range(NODE_STATS_BUDGET + 2)])
    old = datetime(2026, 1, 1, tzinfo=UTC)
    for cid in ("c003", "c001"):
        source._memory[cid] = source._memory[cid]._replace(at=old)
    source._memory["c002"] = source._memory["c002"]._replace(at=old.replace(year=2025))
    assert source._stalest(list(source._memory), NODE_STATS_BUDGET) == ["c002", "c001", "c003"]


def test_stats_run_on_daemon_threads_so_quitting_never_waits_for_them() -> None:
    engine = _Engine(8)
    engine.together = threading.Barrier(2)
    source = _source(engine)
    assert len(source.sample_containers([f"c{i:03}" for i in range(8)])) == 8  # two at once, or the barrier breaks
    assert len(engine.threads) > 1 and all(daemon for _, daemon in engine.threads), engine.threads


def test_a_container_removed_while_its_stats_are_read_keeps_its_last_reading() -> None:
    """The engine answers 200 with an empty body when the container goes while stats wait for the collector
    (tests/live/test_swarm_source.py shows it on the real engine): no reading, and the others still count."""
    engine = _Engine(3)
    source = _source(engine)
    assert set(source.sample_containers(["c000", "c001", "c002"])) == {"c000", "c001", "c002"}
    before = source._memory["c001"]
    real = engine.stats
    engine.stats = lambda cid, stream, one_shot: None if cid == "c001" else real(cid, stream, one_shot)
    assert set(source.sample_containers(["c000", "c001", "c002"])) == {"c000", "c002"}
    assert source._memory["c001"] == before
