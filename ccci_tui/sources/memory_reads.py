"""What a source reads of memory: one-shot stats of containers (in parallel, on daemon threads) and node
contexts (a node's memory and the limits, reservations and use of the tasks it runs), cached for a while."""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from ccci_tui.domain.memory import starved
from ccci_tui.domain.model import NodeContext, Observation
from ccci_tui.domain.times import parse_engine_time
from ccci_tui.sources import convert
from ccci_tui.sources.errors import NotFound, SwarmError

if TYPE_CHECKING:
    from typing import Self

_T = TypeVar("_T")
_R = TypeVar("_R")
STATS_WORKERS = 4
_CACHE_MAX = 4096
_CONTAINER_UP = frozenset({"starting", "running"})
NODE_SAMPLE_FRESH_S = 5.0  # a memory sample this young is used as is for a node context
NODE_REFRESH_S = 10.0  # the memory loop reads a node's context at most this often
# stats of at most this many of a node's other containers per context read, stalest first: a stats read takes
# 0.5-1 s on a busy engine, so a node running 200 tasks would otherwise cost a minute of reads every 10 s
NODE_STATS_BUDGET = 16


class MemoryReading(NamedTuple):
    """One memory sample of a container: in use, the cgroup's peak (v1), when, and the cgroup version."""

    current: int
    peak: int | None
    at: datetime
    cgroup: str


def _parallel(fn: Callable[[_T], _R], items: Sequence[_T], workers: int) -> list[_R]:
    """`fn` over `items` on up to `workers` daemon threads, results in order; the first exception is raised
    once all are done. Daemon threads: a process that exits never waits for a slow engine's answer."""
    results: list[Any] = [None] * len(items)
    errors: list[BaseException] = []
    todo = iter(enumerate(items))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                nxt = next(todo, None)
            if nxt is None:
                return
            try:
                results[nxt[0]] = fn(nxt[1])
            except BaseException as exc:  # noqa: BLE001 - handed to the caller below
                errors.append(exc)

    threads = [threading.Thread(target=work, name="ccci-stats", daemon=True) for _ in range(min(workers, len(items)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _container_id(raw_task: Mapping[str, Any]) -> str:
    return str(convert.as_dict(convert.as_dict(raw_task.get("Status")).get("ContainerStatus")).get("ContainerID", ""))


class MemoryReads:
    """Mixed into SwarmSource: container stats and node contexts, with what it needs of the source below."""

    if TYPE_CHECKING:  # SwarmSource's

        _memory: OrderedDict[str, MemoryReading]
        _nodes: dict[str, NodeContext]
        _service_names: dict[str, str]

        @property
        def api(self) -> Any: ...

        def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...

        def engine_for(self, node_id: str) -> tuple[Self | None, str]: ...

        def _failed(self, node_id: str, exc: SwarmError) -> str: ...

        def _recovered(self, node_id: str) -> None: ...

    def _with_nodes(self, obs: Observation) -> Observation:
        """`obs` with the node contexts known for its tasks' nodes (read on demand or by `refresh_nodes`);
        with every node known when a task waits for one."""
        ids = sorted(self._nodes) if starved(obs) else sorted({t.node_id for t in obs.tasks if t.node_id})
        nodes = tuple(self._nodes[n] for n in ids if n in self._nodes)
        return replace(obs, nodes=nodes) if nodes else obs

    def node_contexts(self, node_ids: Sequence[str]) -> tuple[NodeContext, ...]:
        """The contexts of `node_ids`: read now unless read within NODE_REFRESH_S (raises SwarmError)."""
        for node_id in node_ids:
            if self._stale(node_id, NODE_REFRESH_S):
                self._nodes[node_id] = self.node_context(node_id)
        return tuple(self._nodes[n] for n in node_ids)

    def _stale(self, node_id: str, max_age_s: float) -> bool:
        """Whether `node_id`'s context is unknown or older than `max_age_s`."""
        cached = self._nodes.get(node_id)
        return cached is None or cached.at is None or (datetime.now(UTC) - cached.at).total_seconds() >= max_age_s

    def _read_node(self, node_id: str) -> None:
        with contextlib.suppress(SwarmError):  # a node that cannot be read keeps its last context (or none)
            self._nodes[node_id] = self.node_context(node_id)

    def refresh_nodes(self, obs: Observation) -> None:
        """Read the context of every node a task of `obs` runs on, at most every NODE_REFRESH_S (the memory loop
        may run every 2 s; a node's memory and its other tasks change more slowly)."""
        for node_id in sorted({t.node_id for t in obs.tasks if t.node_id and not t.terminal}):
            if self._stale(node_id, NODE_REFRESH_S):
                self._read_node(node_id)
    @staticmethod
    def _remember(cache: OrderedDict[str, Any], key: str, value: Any) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > _CACHE_MAX:
            cache.popitem(last=False)

    def sample_memory(self, obs: Observation) -> dict[str, int]:
        """One-shot stats for this node's tasks whose container is up (see `sample_containers`), then the
        context of every node the tasks run on (the task detail shows it)."""
        up = [t for t in obs.tasks if t.state in _CONTAINER_UP and t.container_id]
        found: dict[str, int] = {}
        for node_id in sorted({t.node_id for t in up}):
            engine, _ = self.engine_for(node_id)
            if engine is None:
                continue
            cids = [t.container_id for t in up if t.node_id == node_id]
            if engine is self:
                found.update(self.sample_containers(cids))
                continue
            try:
                found.update(engine.sample_containers(cids))
            except SwarmError as exc:
                self._failed(node_id, exc)
            else:
                self._recovered(node_id)
        self.refresh_nodes(obs)
        return found

    def sample_containers(self, container_ids: Iterable[str]) -> dict[str, int]:
        """Memory in use per container; stats take ~1 s each on the engine, so they run in parallel."""
        cids = list(dict.fromkeys(container_ids))
        if not cids:
            return {}

        failures: list[SwarmError] = []

        def one(cid: str) -> tuple[str, MemoryReading | None]:
            try:
                stats = self._call(f"stats {cid[:12]}", self.api.stats, cid, stream=False, one_shot=True)
            except NotFound:
                return cid, None  # gone meanwhile: keep the last reading
            except SwarmError as exc:
                failures.append(exc)
                return cid, None
            if not isinstance(stats, dict):
                return cid, None  # an empty answer: the container was removed while the engine waited to read it
            current, peak, cgroup = convert.memory_sample(stats)
            when = parse_engine_time(stats.get("read")) or datetime.now(UTC)
            return cid, None if current is None else MemoryReading(current, peak, when, cgroup)

        found = {cid: r for cid, r in _parallel(one, cids, STATS_WORKERS) if r is not None}
        if failures and len(failures) == len(cids):
            raise failures[0]  # the engine itself does not answer (one slow container is not that)
        for cid, reading in found.items():
            self._remember(self._memory, cid, reading)
        return {cid: r.current for cid, r in found.items()}

    def _stalest(self, container_ids: Sequence[str], budget: int) -> list[str]:
        """Up to `budget` of `container_ids` whose memory reading is older than NODE_SAMPLE_FRESH_S, never read
        first, then the oldest: over successive reads every container is read again in turn."""
        now = datetime.now(UTC)
        epoch = datetime.min.replace(tzinfo=UTC)
        ages = {c: (r.at if (r := self._memory.get(c)) is not None else epoch) for c in dict.fromkeys(container_ids)}
        stale = [c for c, at in ages.items() if (now - at).total_seconds() > NODE_SAMPLE_FRESH_S]
        return sorted(stale, key=lambda c: ages[c])[:budget]

    def node_ids(self) -> tuple[str, ...]:
        """Every node of the swarm that can take tasks (ready and active), by id."""
        raw = self._call("list nodes", self.api.nodes)
        return tuple(str(n.get("ID", "")) for n in raw if convert.node_available(n))

    def node_context(self, node_id: str, at: datetime | None = None) -> NodeContext:
        """A node's memory and the memory limits, reservations and (on this engine's own node) use of every
        task it is meant to run: node inspect, the node's tasks, the service names, and stats."""
        raw = self._call(f"inspect node {node_id[:12]}", self.api.inspect_node, node_id)
        nid = str(raw.get("ID", "")) or node_id
        hostname = convert.node_brief(raw)[1]
        raw_tasks = self._call(f"list tasks of node {hostname or node_id[:12]}", self.api.tasks,
                               filters={"node": node_id, "desired-state": "running"})
        if any(str(t.get("ServiceID", "")) not in self._service_names for t in raw_tasks):  # only when one is new
            self._service_names = {str(s.get("ID", "")): str(convert.as_dict(s.get("Spec")).get("Name", ""))
                                   for s in self._call("list services", self.api.services)}
        tasks = [convert.node_task(t, self._service_names) for t in raw_tasks]
        engine, _ = self.engine_for(nid)
        if engine is not None:  # the use of its tasks: only the engine on that node can say
            cids = {str(t.get("ID", "")): _container_id(t) for t in raw_tasks}
            try:
                engine.sample_containers(engine._stalest([c for c in cids.values() if c], NODE_STATS_BUDGET))
            except SwarmError as exc:
                self._failed(nid, exc)
                engine = None
        if engine is not None:
            tasks = [replace(t, memory_bytes=r.current) if (r := engine._memory.get(cids.get(t.task_id, ""))) else t
                     for t in tasks]
        tasks.sort(key=lambda t: (t.service, t.task_id))
        return convert.node_context(raw, tasks, at or datetime.now(UTC), usage_read=engine is not None)
