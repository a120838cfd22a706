"""What the recording writer and reader share: constants, the error, one service's observation chain."""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Any

from ccci_tui.domain import codec
from ccci_tui.domain.codec import CodecError, Tree
from ccci_tui.domain.compose import ComposePolicy
from ccci_tui.domain.model import NodeContext, Observation, ServiceState, TaskState
from ccci_tui.domain.replay import RecordedPolicy

FORMAT = "ccci-recording"
VERSION = 1
KEYFRAME_EVERY = 100
HEARTBEAT_S = 10.0  # an unchanged read is written at most this often (`record --heartbeat`, the TUI, `wait --record`)
POLICY_SIDES = ("base", "head")
_DELTA_OPS = frozenset((codec.SET, codec.NESTED, codec.REMOVED))
_task_id = attrgetter("id")


class RecordingError(RuntimeError):
    """A recording cannot be written or read; the message names the file and, when known, the line."""


class Track:
    """One service's observation chain: the last observation, its tasks by id, and (writing) its tree."""

    def __init__(self) -> None:
        self.tree: Tree | None = None  # the writer diffs against it; a reader needs none
        self.obs: Observation | None = None  # None: nothing to apply a delta to
        self.tasks: dict[str, TaskState] = {}
        self.count = 0
        self.written_at: datetime | None = None
        self.pending: Observation | None = None  # an unchanged read not written (yet)

    def keyframe(self, tree: Tree, at: datetime) -> Observation:
        obs = codec.decode_observation(tree, at)
        self.obs, self.tasks = obs, {t.id: t for t in obs.tasks}
        return obs

    def delta(self, delta: Tree, at: datetime) -> Observation:
        """The previous observation patched with `delta` (see codec.diff_tree), at `at`."""
        prev = self.obs
        if prev is None:
            raise CodecError("a delta with nothing to apply to (no readable keyframe before it)")
        if not delta:
            obs = Observation(at, prev.service, prev.tasks, prev.error, prev.nodes)
            self.obs = obs
            return obs
        if not isinstance(delta, dict) or not _DELTA_OPS.issuperset(delta):
            raise CodecError(f"not a delta: {delta!r:.80}")
        sets, nested = delta.get(codec.SET, {}), delta.get(codec.NESTED, {})
        service = prev.service
        if "service" in sets:
            service = codec.decode_service(sets["service"])
        elif "service" in nested:
            if service is None:
                raise CodecError("a delta changes the service of an observation without one")
            service = codec.patch(ServiceState, service, nested["service"])
        tasks = self.tasks
        if "tasks" in sets:
            tasks = {i: codec.decode_task(t) for i, t in sets["tasks"].items()}
        elif "tasks" in nested:
            sub = nested["tasks"]
            tasks = dict(tasks)
            for task_id in sub.get(codec.REMOVED, ()):
                tasks.pop(task_id, None)
            for task_id, tree in sub.get(codec.SET, {}).items():
                tasks[task_id] = codec.decode_task(tree)
            for task_id, change in sub.get(codec.NESTED, {}).items():
                if task_id not in tasks:
                    raise CodecError(f"a delta changes the unknown task {task_id}")
                tasks[task_id] = codec.patch(TaskState, tasks[task_id], change)
        if tasks is self.tasks and "order" not in sets:
            ordered = prev.tasks
        else:
            order = sets["order"] if "order" in sets else map(_task_id, prev.tasks)
            try:
                ordered = tuple(map(tasks.__getitem__, order))
            except (KeyError, TypeError) as exc:
                raise CodecError(f"task order names an unknown task {exc}") from exc
        error = sets.get("error", None if "error" in delta.get(codec.REMOVED, ()) else prev.error)
        obs = Observation(at, service, ordered, error, self._nodes(prev, delta, sets, nested))
        self.obs, self.tasks = obs, tasks
        return obs


    @staticmethod
    def _nodes(prev: Observation, delta: Tree, sets: Tree, nested: Tree) -> tuple[NodeContext, ...]:
        """The node contexts after `delta`: replaced, patched per node, or gone."""
        if "nodes" in delta.get(codec.REMOVED, ()):
            return ()
        if "nodes" in sets:
            return tuple(codec.decode(NodeContext, n) for n in (sets["nodes"] or {}).values())
        if "nodes" not in nested:
            return prev.nodes
        sub = nested["nodes"]
        nodes = {n.id: n for n in prev.nodes}
        for node_id in sub.get(codec.REMOVED, ()):
            nodes.pop(node_id, None)
        for node_id, tree in sub.get(codec.SET, {}).items():
            nodes[node_id] = codec.decode(NodeContext, tree)
        for node_id, change in sub.get(codec.NESTED, {}).items():
            if node_id not in nodes:
                raise CodecError(f"a delta changes the unknown node {node_id}")
            nodes[node_id] = codec.patch(NodeContext, nodes[node_id], change)
        return tuple(nodes.values())


def policy_value(tree: Any) -> RecordedPolicy:
    if not isinstance(tree, dict) or tree.get("side") not in POLICY_SIDES:
        raise CodecError("a policy record needs side base or head")
    commit = tree.get("commit")
    return RecordedPolicy(side=tree["side"], ref=str(tree.get("ref") or ""),
                          commit=str(commit) if commit is not None else None,
                          policy=codec.decode(ComposePolicy, tree.get("policy")))
