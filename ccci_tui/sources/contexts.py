"""Every docker context the docker CLI knows (abra's servers are contexts), and the stacks of each, read
at once: one thread per context, each result delivered as soon as it is in, a slow one given up after
its timeout, so no context ever holds up the others."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ccci_tui.sources.endpoint import (
    DEFAULT_SOCKET,
    context_meta_dir,
    current_context,
    docker_config_dir,
    read_context_meta,
)
from ccci_tui.sources.errors import SwarmError
from ccci_tui.sources.source import LiveSource
from ccci_tui.sources.swarm import DEFAULT_TIMEOUT, StackSummary, SwarmSource

DEFAULT_CONTEXT = "default"


@dataclass(frozen=True)
class DockerContext:
    """One docker context: its name and docker endpoint; `current` for the one the CLI uses now."""

    name: str
    host: str  # "" when its meta.json is unusable (`problem` says why)
    current: bool = False
    problem: str | None = None

    @property
    def label(self) -> str:
        """How the header names the daemon it reads."""
        return f"context {self.name} ({self.host})"


@dataclass(frozen=True)
class ContextStacks:
    """What one context answered: its stacks, or why not (unreachable, no answer in time, not a manager)."""

    name: str
    host: str
    stacks: tuple[StackSummary, ...] | None
    error: str | None
    seconds: float  # from the start of the read to this answer


OnContext = Callable[[ContextStacks], None]
StackReader = Callable[[str, float], Sequence[StackSummary]]  # (docker endpoint, timeout) -> its stacks


def list_contexts(env: Mapping[str, str] | None = None) -> tuple[DockerContext, ...]:
    """`default` (DOCKER_HOST, else the local socket) first, then every context in the CLI's store
    ($DOCKER_CONFIG or ~/.docker) by name; an unusable one is listed with its problem, never raised."""
    env = os.environ if env is None else env
    try:
        current: str | None = current_context(env)
    except SwarmError:
        current = None  # an unreadable config.json: no context is the current one
    found = [DockerContext(DEFAULT_CONTEXT, env.get("DOCKER_HOST") or DEFAULT_SOCKET, current == DEFAULT_CONTEXT)]
    store = context_meta_dir(docker_config_dir(env))
    try:
        metas = sorted(d / "meta.json" for d in store.iterdir() if (d / "meta.json").is_file())
    except FileNotFoundError:
        metas = []
    except OSError as exc:
        return (*found, DockerContext(str(store), "", problem=f"cannot list the docker contexts in {store}: {exc}"))
    stored = []
    for meta in metas:
        try:
            name, host = read_context_meta(meta)
        except SwarmError as exc:
            stored.append(DockerContext(meta.parent.name[:12], "", problem=str(exc)))
            continue
        if name != DEFAULT_CONTEXT:  # the CLI refuses to store one of that name; the built-in one wins
            stored.append(DockerContext(name, host, name == current))
    return (*found, *sorted(stored, key=lambda c: c.name))


def swarm_stacks(host: str, timeout: float) -> tuple[StackSummary, ...]:
    """The stacks on the daemon at `host`; SwarmError when it is unreachable or not a swarm manager."""
    source = SwarmSource(host, timeout)
    try:
        source.require_manager()
        return source.stacks()
    finally:
        source.close()


class ContextReads:
    """The reads `read_contexts` started: each context's result is delivered once, the first of its answer
    and its timeout; `cancel()` delivers nothing more."""

    def __init__(self, contexts: Sequence[DockerContext], on_result: OnContext, timeout: float) -> None:
        self.timeout = timeout
        self._on_result = on_result
        self._lock = threading.Lock()
        self._waiting = {c.name: c for c in contexts}
        self._all_in = threading.Event()
        self._cancelled = False
        if not self._waiting:
            self._all_in.set()

    @property
    def waiting(self) -> tuple[str, ...]:
        """The contexts still being read."""
        with self._lock:
            return tuple(self._waiting)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every context has a result (or `timeout`); True when they all have."""
        return self._all_in.wait(timeout)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True

    def deliver(self, result: ContextStacks) -> None:
        """Hand `result` on unless its context has one already (a late answer after its timeout)."""
        with self._lock:
            if self._waiting.pop(result.name, None) is None:
                return
            if not self._waiting:
                self._all_in.set()
            if self._cancelled:
                return
        self._on_result(result)

    def give_up(self, started: float) -> None:
        """Deliver `no answer within …` for every context still waiting after the timeout."""
        if self._all_in.wait(max(0.0, started + self.timeout - time.monotonic())):
            return
        with self._lock:
            late = list(self._waiting.values())
        for ctx in late:
            self.deliver(ContextStacks(ctx.name, ctx.host, None, f"no answer within {self.timeout:g} s",
                                       time.monotonic() - started))


def read_contexts(contexts: Sequence[DockerContext], on_result: OnContext, timeout: float = DEFAULT_TIMEOUT,
                  reader: StackReader = swarm_stacks) -> ContextReads:
    """Read the stacks of every context at once (one daemon thread each) and return at once; `on_result`
    is called from those threads with each context's ContextStacks as soon as it is in, or once `timeout`
    seconds have passed without one. A context that is not a swarm manager is a result saying so."""
    reads = ContextReads(contexts, on_result, timeout)
    started = time.monotonic()

    def read(ctx: DockerContext) -> None:
        if ctx.problem is not None:
            reads.deliver(ContextStacks(ctx.name, ctx.host, None, ctx.problem, 0.0))
            return
        stacks: tuple[StackSummary, ...] | None = None
        error: str | None = None
        try:
            stacks = tuple(reader(ctx.host, timeout))
        except SwarmError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure is that context's result, never raised
            error = f"{type(exc).__name__}: {exc}"
        reads.deliver(ContextStacks(ctx.name, ctx.host, stacks, error, time.monotonic() - started))

    for ctx in contexts:
        # daemon threads: a read that hangs past its timeout never holds up the app's exit
        threading.Thread(target=read, args=(ctx,), name=f"ccci-context-{ctx.name}", daemon=True).start()
    threading.Thread(target=reads.give_up, args=(started,), name="ccci-contexts-timeout", daemon=True).start()
    return reads


class ContextAccess(Protocol):
    """What the TUI needs of docker contexts: the list, their stacks read at once, a source for one."""

    timeout: float

    def contexts(self) -> tuple[DockerContext, ...]: ...

    def read(self, contexts: Sequence[DockerContext], on_result: OnContext) -> ContextReads: ...

    def source(self, context: DockerContext) -> LiveSource: ...


class DockerContexts:
    """The docker CLI's contexts, read through SwarmSource (`nodes_ssh` reaches the other nodes of each)."""

    def __init__(self, env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT,
                 nodes_ssh: str | None = None, session: SwarmSource | None = None) -> None:
        self.env, self.timeout, self.nodes_ssh = env, timeout, nodes_ssh
        self.session = session  # the TUI's own source: its daemon's stacks are read on its connection

    def contexts(self) -> tuple[DockerContext, ...]:
        return list_contexts(self.env)

    def read(self, contexts: Sequence[DockerContext], on_result: OnContext) -> ContextReads:
        session = self.session

        def stacks(host: str, timeout: float) -> tuple[StackSummary, ...]:
            if session is not None and host == session.base_url:  # over ssh: no second connection
                session.require_manager()
                return session.stacks()
            return swarm_stacks(host, timeout)

        return read_contexts(contexts, on_result, self.timeout, reader=stacks)

    def source(self, context: DockerContext) -> SwarmSource:
        source = SwarmSource(context.host, self.timeout, nodes_ssh=self.nodes_ssh)
        source.label = context.label
        return source
