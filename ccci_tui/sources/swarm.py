"""The live swarm through the Engine API: stacks, services, one observation (memory reads: memory_reads.py)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ccci_tui.domain.memory import starved, wants_node_context
from ccci_tui.domain.model import NodeContext, Observation, ServiceState, TaskState, stack_badge
from ccci_tui.sources import convert, engine_api
from ccci_tui.sources.endpoint import resolve_endpoint
from ccci_tui.sources.errors import NotFound, SwarmError, cause_line
from ccci_tui.sources.events import EventWatcher, OnError, OnEvent, OnReconnect
from ccci_tui.sources.memory_reads import MemoryReading, MemoryReads
from ccci_tui.sources.nodes import NODE_TTL_S, NodeEngines

DEFAULT_TIMEOUT = 10.0
_SSH_POOL = "http+docker://ssh"  # where docker-py mounts its ssh adapter


def _one_pool(adapter: Any) -> None:
    """Make docker-py's ssh adapter keep one pool for every request. It keys its pools by the whole URL, so
    each new path or query opened a channel of its own (and a `docker system dial-stdio` on the host),
    and the idle ones piled up past sshd's MaxSessions (10): "no more sessions". The one pool is the one
    its API version check opened, so that channel serves the rest."""
    key = next(iter(adapter.pools.keys()), _SSH_POOL)
    get_connection = adapter.get_connection
    adapter.get_connection = lambda url, proxies=None: get_connection(key, proxies)


@dataclass(frozen=True)
class StackSummary:
    """A stack in the picker: its services and the most urgent update state among them."""

    name: str
    services: tuple[str, ...]
    badge: str  # "updating", "rollback", "paused" or "ok"


class SwarmSource(MemoryReads, NodeEngines):
    """Read-only access to one daemon; every call has a timeout and fails as SwarmError."""

    def __init__(self, base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 node_hosts: Mapping[str, str] | None = None, nodes_ssh: str | None = None) -> None:
        if base_url is None:
            base_url, self.label = resolve_endpoint()
        else:
            self.label = base_url
        self.base_url = base_url
        self.timeout = timeout
        super().__init__(node_hosts, nodes_ssh)
        self._client: Any = None
        self._lock = threading.Lock()
        self._oom: OrderedDict[str, bool] = OrderedDict()  # terminal containers never change
        self._memory: OrderedDict[str, MemoryReading] = OrderedDict()  # last memory sample per container
        self._nodes: dict[str, NodeContext] = {}  # node id -> its context when last read
        self._service_names: dict[str, str] = {}  # service id -> name, for the tasks of a node context
        self.api_calls = 0  # for the calls-per-refresh benchmark

    @property
    def api(self) -> Any:
        """This source's one client, shared by every read and the event stream: the plain Engine client on a
        unix socket or plain tcp (engine_api.py says why), else docker-py's `APIClient` (ssh://, TLS), whose
        pool keeps its connections open; over ssh they are channels of one ssh connection (paramiko)."""
        with self._lock:
            if self._client is None:
                if engine_api.supports(self.base_url, dict(os.environ)):
                    self._client = engine_api.EngineClient(self.base_url, self.timeout)
                else:
                    self._client = self._docker_client()
            return self._client

    def _docker_client(self) -> Any:
        import docker  # deferred: docker-py pulls in requests, urllib3 and paramiko

        try:
            # not use_ssh_client: shelling out to `ssh` costs a new ssh connection per request
            client = docker.APIClient(base_url=self.base_url, timeout=self.timeout)
        except Exception as exc:  # noqa: BLE001 - over ssh it connects here
            raise SwarmError(f"Docker daemon unreachable at {self.label}: {cause_line(exc)}") from exc
        if self.base_url.startswith("ssh://"):
            _one_pool(client.get_adapter(_SSH_POOL))
        return client

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.api_calls += 1
        try:
            return fn(*args, **kwargs)
        except engine_api.EngineNotFound as exc:
            raise NotFound(f"{what}: not found on {self.label}") from exc
        except engine_api.EngineUnreachable as exc:
            raise SwarmError(f"Docker daemon unreachable at {self.label} ({what}): {cause_line(exc)}") from exc
        except engine_api.EngineAPIError as exc:
            raise SwarmError(f"{what} failed on {self.label}: {exc.explanation}") from exc
        except SwarmError:
            raise
        except Exception as exc:  # noqa: BLE001 - docker-py's errors, mapped below
            if isinstance(exc, ValueError) and not str(getattr(exc, "doc", "-")).strip():
                return None  # an empty answer (docker-py cannot decode it): None, as the plain client gives it
            error, lost = self._docker_error(what, exc)
            if lost:
                self._drop(getattr(fn, "__self__", None))
            raise error from exc

    def _docker_error(self, what: str, exc: Exception) -> tuple[Exception, bool]:
        """docker-py's `exc` as _call maps the plain client's, and whether the connection is lost (its client
        is replaced: docker-py does not reconnect a dropped ssh connection)."""
        import docker.errors
        import paramiko
        import requests

        if isinstance(exc, docker.errors.NotFound):
            return NotFound(f"{what}: not found on {self.label}"), False
        if isinstance(exc, docker.errors.APIError):  # an answer (and, through requests, an OSError too)
            return SwarmError(f"{what} failed on {self.label}: {exc.explanation or exc}"), False
        timeout = isinstance(exc, requests.exceptions.Timeout)
        lost = not timeout and isinstance(exc, OSError | paramiko.SSHException | EOFError)
        if timeout or lost:
            return SwarmError(f"Docker daemon unreachable at {self.label} ({what}): {cause_line(exc)}"), lost
        if isinstance(exc, docker.errors.DockerException):
            return SwarmError(f"{what} failed on {self.label}: {exc}"), False
        return exc, False

    def _drop(self, client: Any) -> None:
        """Close `client` if it is still this source's: the next call connects again."""
        with self._lock:
            if client is None or client is not self._client:
                return
            self._client = None
        with contextlib.suppress(Exception):  # closing a dead connection may fail
            client.close()

    def open_events(self, since: int, filters: Mapping[str, list[str]]) -> Any:
        """The engine's event stream from `since`, on this source's client (see `EventWatcher`)."""
        return self._call("stream events", self.api.events, since=since, filters=dict(filters), decode=True)

    def info(self) -> Mapping[str, Any]:
        """Engine info; also checks the daemon answers at all."""
        return self._call("docker info", self.api.info)  # type: ignore[no-any-return]

    def require_manager(self) -> None:
        """Fail unless the daemon is a swarm manager (services and tasks need one)."""
        swarm = self.info().get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active":
            raise SwarmError(f"the Docker daemon at {self.label} is not part of a swarm")
        if not swarm.get("ControlAvailable"):
            raise SwarmError(f"the Docker daemon at {self.label} is a swarm worker, not a manager")

    def _node_engine(self, endpoint: str) -> SwarmSource:
        """A source on another node's engine, for `engine_for`."""
        return SwarmSource(endpoint, self.timeout)

    def stacks(self) -> tuple[StackSummary, ...]:
        """Every stack (by com.docker.stack.namespace), one API call."""
        raw = self._call("list services", self.api.services, filters={"label": convert.STACK_LABEL})
        by_stack: dict[str, list[Mapping[str, Any]]] = {}
        for svc in raw:
            stack = (svc.get("Spec", {}).get("Labels") or {}).get(convert.STACK_LABEL, "")
            by_stack.setdefault(stack, []).append(svc)
        return tuple(
            StackSummary(
                name=name,
                services=tuple(sorted(s["Spec"]["Name"] for s in svcs)),
                badge=stack_badge((s.get("UpdateStatus") or {}).get("State") for s in svcs),
            )
            for name, svcs in sorted(by_stack.items())
        )

    def services(self, stack: str) -> tuple[ServiceState, ...]:
        """The services of `stack`; SwarmError when there is no such stack."""
        raw = self._call(
            f"list services of stack {stack}",
            self.api.services,
            filters={"label": f"{convert.STACK_LABEL}={stack}"},
        )
        if not raw:
            raise SwarmError(
                f"no stack named {stack!r} on {self.label} (no service carries {convert.STACK_LABEL}={stack})"
            )
        return tuple(sorted((convert.service_state(s) for s in raw), key=lambda s: s.name))

    def observe(self, stack: str, service: str = "app", at: datetime | None = None) -> Observation:
        """Service, tasks, OOM flags and last memory readings, in two API calls plus new terminal containers."""
        name = service if service.startswith(f"{stack}_") else f"{stack}_{service}"
        now = at or datetime.now(UTC)
        try:
            raw = self._call(f"inspect service {name}", self.api.inspect_service, name)
        except NotFound:
            return Observation(at=now, service=None, tasks=())  # gone: an answer, not a failed read
        svc = convert.service_state(raw)
        if svc.stack != stack:
            raise SwarmError(f"service {name} is not part of stack {stack!r} (its stack label says {svc.stack!r})")
        raw_tasks = self._call(f"list tasks of {name}", self.api.tasks, filters={"service": svc.id})
        tasks = [convert.task_state(t, svc) for t in raw_tasks]
        tasks.sort(key=lambda t: (t.slot or 0, t.created_at or now))
        obs = Observation(at=now, service=svc, tasks=tuple(self._enrich(t) for t in tasks))
        wanted = wants_node_context(obs)
        if starved(obs):  # a task no node takes: why each node said no is evidence
            with contextlib.suppress(SwarmError):
                wanted = tuple(dict.fromkeys((*wanted, *self.node_ids())))
        for node_id in wanted:  # a death of memory, or a wait for a node: the node's memory is evidence
            if self._stale(node_id, NODE_TTL_S):
                self._read_node(node_id)
        return self._with_nodes(obs)

    def _enrich(self, task: TaskState) -> TaskState:
        """The container facts only the engine on the task's own node has: its OOM flag and memory."""
        name = self.node_name(task.node_id)
        if name:
            task = replace(task, node=name)
        if not task.container_id:
            return task
        engine, why = self.engine_for(task.node_id)
        if engine is None:
            return replace(task, node_access=why)
        if engine is self:
            return self._container_facts(task)
        try:
            enriched = engine._container_facts(task)
        except SwarmError as exc:
            return replace(task, node_access=self._failed(task.node_id, exc))
        self._recovered(task.node_id)
        return enriched

    def _container_facts(self, task: TaskState) -> TaskState:
        cid = task.container_id
        oom = self._oom.get(cid)
        if oom is None and task.terminal:
            oom = self._container_oom(cid)
            self._remember(self._oom, cid, oom if oom is not None else False)
        elif oom is None and task.running:
            oom = False
        reading = self._memory.get(cid)
        if reading is None:
            return replace(task, oom_killed=oom)
        return replace(task, oom_killed=oom, memory_bytes=reading.current, memory_peak=reading.peak,
                       memory_at=reading.at, memory_cgroup=reading.cgroup)

    def _container_oom(self, cid: str) -> bool | None:
        try:
            c = self._call(f"inspect container {cid[:12]}", self.api.inspect_container, cid)
        except NotFound:
            return None  # removed already (task history keeps fewer containers than tasks)
        return bool((c.get("State") or {}).get("OOMKilled"))

    def note_oom(self, container_id: str) -> None:
        """Record an `oom` event, which may arrive before the task turns terminal."""
        self._remember(self._oom, container_id, True)

    def events(self, stack: str, on_event: OnEvent, on_reconnect: OnReconnect | None = None,
               on_error: OnError | None = None) -> EventWatcher:
        """Start a thread delivering the stack's service and container events."""
        watcher = EventWatcher(self, stack, on_event, on_reconnect, on_error)
        watcher.start()
        return watcher

    def close(self) -> None:
        """Close the client (and its connection), and those of the other nodes' engines."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
        self.close_engines()
