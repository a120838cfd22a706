"""The engine's event stream for one stack, on a thread of its own: a wake-up, never the truth."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from ccci_tui.domain.model import Event
from ccci_tui.sources import convert
from ccci_tui.sources.errors import cause_line

OnEvent = Callable[[Event], None]
OnReconnect = Callable[[], None]
OnError = Callable[[str], None]


class EventSource(Protocol):
    """What the stream needs of its source (SwarmSource): the engine's events on its client, and where OOMs go."""

    label: str

    def open_events(self, since: int, filters: Mapping[str, list[str]]) -> Any: ...

    def note_oom(self, container_id: str) -> None: ...


class EventWatcher:
    """A wake-up stream: events are hints, `observe` is the truth (DESIGN.md fact 6)."""

    def __init__(self, source: EventSource, stack: str, on_event: OnEvent, on_reconnect: OnReconnect | None,
                 on_error: OnError | None) -> None:
        self.source, self.stack = source, stack
        self.on_event, self.on_reconnect, self.on_error = on_event, on_reconnect, on_error
        self.connects = 0
        self._stop = threading.Event()
        self._stream: Any = None
        self._thread = threading.Thread(target=self._run, name=f"ccci-events-{stack}", daemon=True)
        self._since: float | None = None

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _belongs(self, ev: Event) -> bool:
        if ev.type == "service":
            return ev.service.startswith(f"{self.stack}_")
        return ev.attributes.get(convert.STACK_LABEL) == self.stack

    def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                # the source's client: the stream holds one of its connections (over ssh, a channel)
                since = self._since if self._since is not None else datetime.now(UTC).timestamp()
                self._stream = self.source.open_events(int(since), {"type": ["service", "container"]})
                self.connects += 1
                if self.connects > 1 and self.on_reconnect is not None:
                    self.on_reconnect()  # anything may have happened while we were away
                backoff = 0.2
                for raw in self._stream:
                    if self._stop.is_set():
                        break
                    nanos = raw.get("timeNano")
                    if isinstance(nanos, int):
                        self._since = nanos / 1e9
                    ev = convert.event(raw)
                    if ev is not None and self._belongs(ev):
                        if ev.action == "oom" and ev.container_id:
                            self.source.note_oom(ev.container_id)
                        self.on_event(ev)
            except Exception as exc:  # noqa: BLE001 - a dropped stream is expected; report and retry
                if not self._stop.is_set() and self.on_error is not None:
                    self.on_error(f"event stream from {self.source.label} dropped: {cause_line(exc)}")
            finally:
                self._close_stream()
            if self._stop.wait(backoff):
                break
            backoff = min(backoff * 2, 5.0)

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        # closing a dead socket may fail; there is nothing left to do then
        with contextlib.suppress(Exception):
            try:
                stream.close()  # shuts its socket down, which ends a read blocked on it
            except Exception:  # noqa: BLE001 - docker-py refuses over ssh (a paramiko channel)
                stream._response.close()  # closes the channel; the ssh connection stays

    def close(self, timeout: float = 1.0) -> None:
        """Stop the thread; returns within `timeout` seconds."""
        self._stop.set()
        self._close_stream()
        self._thread.join(timeout)
