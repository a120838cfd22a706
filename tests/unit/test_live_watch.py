"""LiveWatch: each engine event is handed on as the stream delivers it and wakes a read at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from ccci_tui.domain.model import Event, Observation
from ccci_tui.sources.events import OnEvent
from ccci_tui.sources.live import LiveWatch

NO_TICK_S = 3600.0  # no poll tick within a test: a read after the first comes from a wake
GUARD_S = 5.0  # a wait that should end at once; only a broken watch reaches it


class _Stream:
    alive = True

    def close(self, timeout: float = 1.0) -> None:
        self.alive = False


class _Source:
    """Counts reads; keeps the watch's event callback for the test to deliver events through."""

    label = "fake"

    def __init__(self) -> None:
        self.reads = 0
        self.deliver: OnEvent | None = None
        self._cond = threading.Condition()

    def observe(self, stack: str, service: str = "app") -> Observation:
        with self._cond:
            self.reads += 1
            self._cond.notify_all()
        return Observation(at=datetime.now(UTC), service=None)

    def has_read(self, n: int) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.reads >= n, GUARD_S)

    def events(self, stack: str, on_event: OnEvent, on_reconnect: object = None, on_error: object = None) -> _Stream:
        self.deliver = on_event
        return _Stream()

    def services(self, stack: str) -> tuple[()]:
        return ()

    def stacks(self) -> tuple[()]:
        return ()

    def sample_memory(self, obs: Observation) -> dict[str, int]:
        return {}

    def sample_containers(self, container_ids: object) -> dict[str, int]:
        return {}


def _transition(state: str) -> Event:
    return Event(at=datetime.now(UTC), type="service", action="update", service="s_app",
                 attributes={"name": "s_app", "updatestate.old": "updating", "updatestate.new": state})


def test_an_event_reaches_the_consumer_as_delivered_and_its_read_does_not_wait_for_the_consumer() -> None:
    source = _Source()
    handed: list[tuple[Event, bool]] = []

    def on_event(ev: Event) -> None:
        # the read this event wakes goes on while the consumer is still handling the event
        handed.append((ev, source.has_read(2)))

    watch = LiveWatch(source, "s", on_event=on_event, poll_interval=NO_TICK_S).start()
    try:
        assert source.has_read(1)
        assert source.deliver is not None
        ev = _transition("completed")
        source.deliver(ev)
        assert handed == [(ev, True)]
    finally:
        watch.close()


def test_each_event_wakes_a_read_without_a_poll_tick() -> None:
    source = _Source()
    watch = LiveWatch(source, "s", poll_interval=NO_TICK_S).start()
    try:
        assert source.has_read(1)
        assert source.deliver is not None
        source.deliver(_transition("updating"))
        assert source.has_read(2)
        source.deliver(_transition("completed"))
        assert source.has_read(3)
    finally:
        watch.close()
