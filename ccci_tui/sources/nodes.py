"""The swarm's other nodes, for SwarmSource: their names, and the engine that knows a task's container
(`--node-host`, `[nodes]`, `--nodes-ssh`), retried with backoff after a failure."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from ccci_tui.sources.convert import node_brief
from ccci_tui.sources.errors import SwarmError

NODE_TTL_S = 30.0  # a node context read for evidence is read again after this long
NODE_BACKOFF_MAX_S = 60.0

_Engine = TypeVar("_Engine")


@dataclass
class _NodeAccess(Generic[_Engine]):
    """The engine on another node, and its failures (retried with backoff; never blocks the view)."""

    engine: _Engine
    endpoint: str
    failures: int = 0
    retry_at: float = 0.0
    error: str = ""


class NodeEngines:
    """Mixed into SwarmSource: this engine's own node, the other nodes' names, and their engines."""

    if TYPE_CHECKING:  # SwarmSource's

        @property
        def api(self) -> Any: ...

        def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...

        def info(self) -> Mapping[str, Any]: ...

        def _node_engine(self, endpoint: str) -> Self: ...

        def close(self) -> None: ...

    def __init__(self, node_hosts: Mapping[str, str] | None, nodes_ssh: str | None) -> None:
        # the engines on other nodes: by node hostname or id (--node-host, [nodes]), else ssh://USER@<addr>
        self.node_hosts = dict(node_hosts or {})
        self.nodes_ssh = nodes_ssh
        self._access: dict[str, _NodeAccess[Self]] = {}
        self._node_table: dict[str, tuple[str, str]] = {}  # node id -> (hostname, address)
        self._node_table_at = 0.0
        self._self_name = ""
        self._node_id: str | None = None

    @property
    def node_id(self) -> str:
        if self._node_id is None:
            info = self.info()
            self._self_name = str(info.get("Name", ""))
            self._node_id = str((info.get("Swarm") or {}).get("NodeID", ""))
        return self._node_id

    def node_name(self, node_id: str) -> str:
        """A node's hostname ("" when unknown); the swarm's node list is read at most every NODE_TTL_S."""
        if not node_id:
            return ""
        if node_id == self.node_id:
            return self._self_name
        if node_id not in self._node_table or time.monotonic() - self._node_table_at > NODE_TTL_S:
            with contextlib.suppress(SwarmError):
                raw = self._call("list nodes", self.api.nodes)
                self._node_table = {nid: (host, addr) for nid, host, addr in map(node_brief, raw)}
                self._node_table_at = time.monotonic()
        return self._node_table.get(node_id, ("", ""))[0]

    def _endpoint(self, node_id: str) -> str | None:
        name = self.node_name(node_id)
        for key in (node_id, name):
            if key and key in self.node_hosts:
                return self.node_hosts[key]
        for key, host in self.node_hosts.items():  # an abbreviated node id, as `docker node ls` shows it
            if len(key) >= 6 and node_id.startswith(key):
                return host
        addr = self._node_table.get(node_id, ("", ""))[1]
        if self.nodes_ssh and addr:
            return f"ssh://{self.nodes_ssh}@{addr}"
        return None

    def engine_for(self, node_id: str) -> tuple[Self | None, str]:
        """The engine that knows `node_id`'s containers, or None and why not (for the evidence)."""
        if node_id == self.node_id:
            return self, ""
        name = self.node_name(node_id) or node_id[:12]
        access = self._access.get(node_id)
        if access is None:
            endpoint = self._endpoint(node_id)
            if endpoint is None:
                return None, f"no engine access to {name} (use --node-host {name}=DOCKER_HOST)"
            access = self._access[node_id] = _NodeAccess(self._node_engine(endpoint), endpoint)
        if access.failures and time.monotonic() < access.retry_at:
            return None, f"the engine on {name} ({access.endpoint}) is unreachable: {access.error}"
        return access.engine, ""

    def _failed(self, node_id: str, exc: SwarmError) -> str:
        """Note a node engine's failure: it is retried with backoff (1, 2, 4 … 60 s); returns why, for the task."""
        access = self._access[node_id]
        access.failures += 1
        access.retry_at = time.monotonic() + min(NODE_BACKOFF_MAX_S, 2.0 ** (access.failures - 1))
        access.error = str(exc)
        name = self.node_name(node_id) or node_id[:12]
        return f"the engine on {name} ({access.endpoint}) is unreachable: {exc}"

    def close_engines(self) -> None:
        """Close the other nodes' engines (each kept one client, one ssh connection, for the session)."""
        access, self._access = self._access, {}
        for node in access.values():
            if node.engine is not self:
                node.engine.close()

    def _recovered(self, node_id: str) -> None:
        access = self._access.get(node_id)
        if access is not None and node_id != self.node_id:
            access.failures, access.error = 0, ""
