"""Watch one service live: every read and event through the one fold, a verdict after each, and,
with a writer, everything written to a recording as it is learnt.

`wait`, `record`, `wait --record` and the re-run's watch are all this one class: what the gate
decides is exactly what the recording replays.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ccci_tui.domain import verdict as v
from ccci_tui.domain.fold import Fold
from ccci_tui.domain.model import Event, Observation, RecipeState
from ccci_tui.domain.verdict import Expectation, Verdict
from ccci_tui.sources.errors import SwarmError
from ccci_tui.sources.source import LiveSource

if TYPE_CHECKING:  # the writer is the caller's: `wait` without --record never loads the recording code
    from ccci_tui.sources.recording import RecordingWriter

RECIPE_INTERVAL_S = 5.0
# While waiting for a deploy these are not answers yet: a status older than the marker is never accepted.
NOT_YET = frozenset({v.IN_PROGRESS, v.STALE_STATUS})
# how often a cancellable wait looks at its cancel flag: the latency of a quit, not of a verdict
CANCEL_CHECK_S = 0.2

OnObservation = Callable[[Observation, Verdict], None]
_T = TypeVar("_T", Observation, Event)


class WatchTimeout(RuntimeError):
    """The daemon could not be read when the timeout came: no verdict can be trusted."""


class WatchCancelled(RuntimeError):
    """The caller set the cancel flag before a verdict came."""


class ServiceWatch:
    """One service watched through LiveWatch; reads and events fold under one lock, in one order.

    With a `writer`, each read and event is written first and the value the writer returns (redacted,
    round-tripped) is folded, and the verdict is written whenever it changes: replaying the file in
    file order rebuilds the same timeline and gives the same verdicts.
    """

    def __init__(
        self,
        source: LiveSource,
        stack: str,
        service: str = "app",
        *,
        recipe: RecipeState | None = None,
        expect: Expectation | None = None,
        writer: RecordingWriter | None = None,
        recipe_path: Path | None = None,
        recipe_interval: float | None = None,
        poll_interval: float = 1.0,
        memory_interval: float | None = None,
        other_services: bool = False,
        on_observation: OnObservation | None = None,
        on_event: Callable[[Event], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.source, self.writer, self.stack, self.service = source, writer, stack, service
        self.recipe_path = recipe_path
        self.expect = expect or Expectation()
        self.poll_interval, self.memory_interval = poll_interval, memory_interval
        self.other_services, self.recipe_interval = other_services, recipe_interval
        self.on_observation, self.on_event, self.on_error = on_observation, on_event, on_error
        self.fold = Fold()
        self.recipe: RecipeState | None = None
        self.verdict: Verdict | None = None
        self.error: str | None = None  # the last read failure, until a read succeeds
        self._raw_recipe: RecipeState | None = None
        self._raw_verdict: Verdict | None = None
        self._noted_error: str | None = None
        self._policy_args: tuple[str | None, tuple[str, ...], Mapping[str, str] | None, str | None] | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self.terminal = threading.Event()  # set once the verdict is terminal (not in NOT_YET)
        self._wake_others = threading.Event()
        self._threads: list[threading.Thread] = []
        self._watch: Any = None
        if recipe is not None:
            self.take_recipe(recipe)

    @property
    def latest(self) -> Observation | None:
        return self.fold.latest

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self, base_ref: str | None = None, chain: tuple[str, ...] = (),
              env: Mapping[str, str] | None = None, version: str | None = None) -> ServiceWatch:
        """Write the compose policies of `chain` (with a writer and a recipe), then start watching."""
        from ccci_tui.sources.live import LiveWatch

        if self.writer is not None and self._raw_recipe is not None and chain:
            self._write_policies(base_ref, chain, env, version)
        self._watch = LiveWatch(
            self.source, self.stack, self.service, on_observation=self.take_observation,
            on_event=self.take_event, on_error=self._on_error, poll_interval=self.poll_interval,
            memory_interval=self.memory_interval,
        ).start()
        if self.recipe_path is not None and self.recipe_interval is not None:
            self._spawn(self._recipe_loop, "recipe")
        if self.other_services and self.writer is not None:
            self._spawn(self._others_loop, "others")
        return self

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=f"ccci-watch-{name}-{self.stack}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def note(self, text: str) -> None:
        if self.writer is not None:
            with self._lock:
                self.writer.note(text)

    def close(self, reason: str = "") -> None:
        """Stop watching, write a closing note; the writer stays open for the caller to close."""
        self._stop.set()
        self._wake_others.set()
        if self._watch is not None:
            self._watch.close()
        for thread in self._threads:
            thread.join(2.0)
        if reason:
            self.note(f"recording stopped: {reason}")

    def wait_terminal(self, timeout: float, cancel: threading.Event | None = None) -> Verdict:
        """Block until the verdict is terminal (not in NOT_YET) or `timeout` passes.

        Raises WatchTimeout when no verdict can be trusted (none yet, or the last read failed while
        not terminal), WatchCancelled once `cancel` is set (checked every CANCEL_CHECK_S).
        """
        deadline = time.monotonic() + timeout
        while not self.terminal.is_set():
            if cancel is not None and cancel.is_set():
                raise WatchCancelled("the watch was cancelled before a verdict came")
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.terminal.wait(min(left, CANCEL_CHECK_S) if cancel is not None else left)
        with self._lock:
            verdict, error = self.verdict, self.error
        if verdict is None:
            raise WatchTimeout(f"gave up after {timeout:g} s: {error or 'no observation'}")
        if verdict.kind in NOT_YET and error:
            # the last read failed: say so rather than report a verdict from before the daemon went away
            raise WatchTimeout(f"gave up after {timeout:g} s: {error} (last verdict before that: "
                               f"{verdict.kind}: {verdict.summary})")
        if verdict.kind in NOT_YET:
            verdict = replace(verdict, summary=f"Timed out after {timeout:g} s: {verdict.summary}")
        return verdict

    # ---- what the watch reports ----------------------------------------------------------------

    def take_observation(self, obs: Observation) -> None:
        """A read, as the live watch hands it over (tests and benchmarks feed it directly)."""
        writer = self.writer
        taken = self._take(lambda: writer.observation(obs) if writer is not None else obs, self._fold_read)
        if taken is not None and self.on_observation is not None:
            value, verdict = taken
            if verdict is not None:
                self.on_observation(value, verdict)

    def take_event(self, ev: Event) -> None:
        """An engine event, as the live watch hands it over."""
        writer = self.writer
        taken = self._take(lambda: writer.event(ev) if writer is not None else ev, self.fold.event)
        if taken is not None and self.on_event is not None:
            self.on_event(taken[0])
        if self.other_services and ev.service != f"{self.stack}_{self.service}":
            self._wake_others.set()

    def _fold_read(self, obs: Observation) -> None:
        self.fold.observation(obs)
        self.error = None  # a read went through

    def _take(self, write: Callable[[], _T], fold: Callable[[_T], object]) -> tuple[_T, Verdict | None] | None:
        """Write (with a writer) and fold what the file holds, then diagnose, under the lock; None once stopped."""
        with self._lock:
            if self._stop.is_set():
                return None
            value = write()
            fold(value)
            return value, self._diagnose(value.at)

    def _on_error(self, message: str) -> None:
        with self._lock:
            self.error = message
            if message != self._noted_error and not self._stop.is_set():
                self._noted_error = message
                if self.writer is not None:
                    self.writer.note(f"live source: {message}")
        if self.on_error is not None:
            self.on_error(message)

    def _diagnose(self, at: datetime) -> Verdict | None:
        """Recompute the verdict (under the lock); write it when it changed."""
        verdict = self.fold.verdict(self.recipe, self.expect)
        if verdict is None:
            return None
        if verdict != self._raw_verdict:
            self._raw_verdict = verdict
            if self.writer is not None:
                self.writer.flush(self.service)  # the read the verdict came from must be in the file
                verdict = self.writer.verdict(verdict, at)
            self.verdict = verdict
        if self.verdict is not None and self.verdict.kind not in NOT_YET:
            self.terminal.set()
        return self.verdict

    # ---- recipe and policies -------------------------------------------------------------------

    def take_recipe(self, state: RecipeState) -> bool:
        """A recipe read; True when it moved HEAD."""
        with self._lock:
            if state == self._raw_recipe:
                return False
            changed_head = self._raw_recipe is not None and self._raw_recipe.head_sha != state.head_sha
            self._raw_recipe = state
            self.recipe = self.writer.recipe(state) if self.writer is not None else state
            self._diagnose(datetime.now(UTC))
            return changed_head

    def _write_policies(self, base_ref: str | None, chain: tuple[str, ...],
                        env: Mapping[str, str] | None, version: str | None = None,
                        sides: tuple[str, ...] = ("base", "head")) -> None:
        """The base and head compose policies, chosen by the one rule (sources.target.upgrade_sides)."""
        from ccci_tui.domain.compose_syntax import ComposeError
        from ccci_tui.sources.recipe import RecipeError
        from ccci_tui.sources.target import upgrade_sides

        if self.recipe_path is None or self._raw_recipe is None or self.writer is None:
            return
        self._policy_args = (base_ref, chain, env, version)
        try:
            service = self.latest.service if self.latest is not None else self.source.observe(
                self.stack, self.service).service
        except SwarmError:
            service = None  # the base falls back to the app env's version or the tags
        try:
            found, note = upgrade_sides(self.recipe_path, self.stack, chain, env, base_ref, self.expect.head_ref,
                                        service, version, sides)
        except (RecipeError, ComposeError) as exc:
            self.note(f"compose policy not recorded: {exc}")
            return
        if note:
            self.note(f"compose policy: {note}")
        for side in found:
            if side.policy.missing:
                self.note(f"compose policy: {side.side} {side.ref} has no {', '.join(side.policy.missing)}: "
                          "that side uses the files it has")
            with self._lock:
                self.writer.policy(side.side, side.ref, side.commit, side.policy)

    def _recipe_loop(self) -> None:
        from ccci_tui.sources.recipe import RecipeError, RecipeSource

        assert self.recipe_path is not None and self.recipe_interval is not None
        failed = False
        source: RecipeSource | None = None  # one for the loop's life: its git processes serve every read
        try:
            while not self._stop.wait(self.recipe_interval):
                try:
                    source = source or RecipeSource(self.recipe_path)
                    state = source.state()
                except RecipeError as exc:
                    if source is not None:
                        source.close()  # opened afresh next time: the checkout may have been replaced
                        source = None
                    if not failed:
                        self.note(f"recipe not readable: {exc}")
                    failed = True
                    continue
                failed = False
                if self.take_recipe(state) and self._policy_args is not None:
                    self._write_policies(*self._policy_args, sides=("head",))
        finally:
            if source is not None:
                source.close()

    # ---- the stack's other services (recorded, not diagnosed) ------------------------------------

    def _others_loop(self) -> None:
        assert self.writer is not None
        main = f"{self.stack}_{self.service}"
        names: list[str] = []
        listed = 0.0
        while not self._stop.is_set():
            self._wake_others.clear()
            try:
                if time.monotonic() - listed > 30.0:  # services come and go with redeploys
                    names = [s.name.removeprefix(f"{self.stack}_") for s in self.source.services(self.stack)
                             if s.name != main]
                    listed = time.monotonic()
                for name in names:
                    obs = self.source.observe(self.stack, name)
                    with self._lock:
                        if self._stop.is_set():
                            return
                        self.writer.observation(obs, name)
            except SwarmError as exc:
                self._on_error(str(exc))
            self._wake_others.wait(self.poll_interval)


def watch_until_terminal(
    source: LiveSource,
    target: Any,  # sources.target.Target: stack, service, recipe
    expect: Expectation,
    timeout: float,
    on_error: Callable[[str], None] | None = None,
    on_observation: OnObservation | None = None,
    on_event: Callable[[Event], None] | None = None,
    cancel: threading.Event | None = None,
    writer: RecordingWriter | None = None,
) -> Verdict:
    """Event-woken watch of one service until the verdict is terminal or `timeout` passes.

    `on_observation` and `on_event` see everything the watch sees (a UI feed); with `writer` the
    watch is also recorded (header first: the caller's). Once `cancel` is set the watch stops
    within CANCEL_CHECK_S and raises WatchCancelled.
    """
    watch = ServiceWatch(source, target.stack, target.service, recipe=target.recipe, expect=expect, writer=writer,
                         on_observation=on_observation, on_event=on_event, on_error=on_error).start()
    try:
        return watch.wait_terminal(timeout, cancel)
    finally:
        watch.close()
