"""What a source of observations is, as the watches and the TUI use it: the live swarm, a recording,
or a test's stand-in. SwarmSource is the real one; nothing else in the product reaches past these."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ccci_tui.domain.model import Observation, ServiceState
from ccci_tui.sources.events import OnError, OnEvent, OnReconnect
from ccci_tui.sources.swarm import StackSummary


class ServiceReader(Protocol):
    """Reads one stack's services: `observe` is the truth about a service at the moment it is called."""

    label: str  # where it reads: DOCKER_HOST, a docker context, a recording

    def observe(self, stack: str, service: str = "app") -> Observation: ...

    def services(self, stack: str) -> tuple[ServiceState, ...]: ...

    def stacks(self) -> tuple[StackSummary, ...]: ...


class EventStream(Protocol):
    """A running event stream; closing it ends its thread."""

    @property
    def alive(self) -> bool: ...

    def close(self, timeout: float = 1.0) -> None: ...


class LiveSource(ServiceReader, Protocol):
    """A reader that is live: engine events as a wake-up, and container memory on demand."""

    def events(self, stack: str, on_event: OnEvent, on_reconnect: OnReconnect | None = None,
               on_error: OnError | None = None) -> EventStream: ...

    def sample_memory(self, obs: Observation) -> dict[str, int]: ...

    def sample_containers(self, container_ids: Iterable[str]) -> dict[str, int]: ...
