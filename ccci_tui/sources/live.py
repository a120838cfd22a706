"""Watch one service: event wake-ups plus a bounded poll, and an optional memory sampler."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ccci_tui.domain.model import Event, Observation
from ccci_tui.sources.errors import SwarmError
from ccci_tui.sources.source import EventStream, LiveSource


class LiveWatch:
    """Reads the service whenever an event hints at a change, and at least every `poll_interval`.

    Each event reaches `on_event` as the stream delivers it (an UpdateStatus transition is in its
    `updatestate.new`), and wakes a read whose observation follows: the event is reported first, the
    read is the truth (DESIGN.md fact 6). Callbacks run on the watch's threads; a UI must hand them
    to its own thread.
    """

    def __init__(
        self,
        source: LiveSource,
        stack: str,
        service: str = "app",
        on_observation: Callable[[Observation], None] | None = None,
        on_event: Callable[[Event], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        poll_interval: float = 2.0,
        memory_interval: float | None = None,
    ) -> None:
        self.source = source
        self.stack = stack
        self.service = service
        self.on_observation = on_observation or (lambda obs: None)
        self.on_event = on_event or (lambda ev: None)
        self.on_error = on_error or (lambda msg: None)
        self.poll_interval = poll_interval
        self.memory_interval = memory_interval
        self.latest: Observation | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._events: EventStream | None = None
        # a short-lived container may die before the next periodic sample: sample it on `start`
        self._stats_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"ccci-stats-{stack}")
        self._threads = [threading.Thread(target=self._poll_loop, name=f"ccci-poll-{stack}", daemon=True)]
        if memory_interval is not None:
            self._threads.append(
                threading.Thread(target=self._memory_loop, name=f"ccci-mem-{stack}", daemon=True)
            )

    def start(self) -> LiveWatch:
        self._events = self.source.events(
            self.stack, self._event, on_reconnect=self.wake, on_error=self._error
        )
        for t in self._threads:
            t.start()
        return self

    def wake(self) -> None:
        """Read the service now instead of at the next poll."""
        self._wake.set()

    def _event(self, ev: Event) -> None:
        self._wake.set()  # the read's round trip overlaps the consumer's handling of the event
        self.on_event(ev)
        if self.memory_interval is not None and ev.action == "start" and ev.container_id:
            self._stats_pool.submit(self._sample_now, ev.container_id)

    def _sample_now(self, container_id: str) -> None:
        if self._stop.is_set():
            return
        try:
            if self.source.sample_containers([container_id]):
                self._wake.set()
        except SwarmError as exc:
            self._error(str(exc))

    def _error(self, message: str) -> None:
        if not self._stop.is_set():
            self.on_error(message)

    def _poll_loop(self) -> None:
        backoff = self.poll_interval
        while not self._stop.is_set():
            self._wake.clear()
            try:
                obs = self.source.observe(self.stack, self.service)
            except SwarmError as exc:
                self._error(str(exc))
                backoff = min(backoff * 2, 10.0)  # the daemon is away: retry, but gently
            except Exception as exc:  # noqa: BLE001 - a watch that dies silently shows stale state as live
                self._error(f"reading {self.stack}_{self.service} failed: {type(exc).__name__}: {exc}")
                backoff = min(backoff * 2, 10.0)
            else:
                backoff = self.poll_interval
                self.latest = obs
                if not self._stop.is_set():
                    try:
                        self.on_observation(obs)
                    except Exception as exc:  # noqa: BLE001 - the consumer's bug must not end the watch
                        self._error(f"handling an observation failed: {type(exc).__name__}: {exc}")
            self._wake.wait(backoff)

    def _memory_loop(self) -> None:
        assert self.memory_interval is not None
        while not self._stop.wait(self.memory_interval):
            obs = self.latest
            if obs is None or obs.service is None:
                continue
            try:
                if self.source.sample_memory(obs):
                    self._wake.set()  # show the new readings
            except SwarmError as exc:
                self._error(str(exc))

    @property
    def alive(self) -> bool:
        threads_alive = any(t.is_alive() for t in self._threads)
        return threads_alive or (self._events is not None and self._events.alive)

    def close(self, timeout: float = 1.0) -> None:
        """Stop every thread; returns within about `timeout` seconds even while a read is slow."""
        self._stop.set()
        self._wake.set()
        if self._events is not None:
            self._events.close(timeout)
        self._stats_pool.shutdown(wait=False, cancel_futures=True)
        for t in self._threads:
            if t.is_alive():
                t.join(timeout)
