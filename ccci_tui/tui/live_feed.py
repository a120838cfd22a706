"""A live service: watch callbacks fold into a timeline off the main thread and publish frozen views."""

from __future__ import annotations

import heapq
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ccci_tui.domain.fold import Fold, expected_head, verdict_for
from ccci_tui.domain.model import ACTIVE_STATES, Event, Observation, RecipeState
from ccci_tui.domain.replay import RerunStep
from ccci_tui.domain.timeline import SPEC, Entry
from ccci_tui.domain.verdict import Expectation, Verdict
from ccci_tui.sources.errors import SwarmError
from ccci_tui.sources.live import LiveWatch
from ccci_tui.sources.source import LiveSource
from ccci_tui.tui.recording_tap import FeedRecorder
from ccci_tui.tui.view import CONNECTING, LIVE, RERUN, STALE, View

Publish = Callable[[View], None]
# (stack, service) -> headless.context.Target: the app env, recipe checkout and expected head
Resolver = Callable[[str, str], Any]
_NOTES_KEPT = 200
# A live watch may run for days: the screen keeps the newest entries (each costs ~15 KB with its
# rendered row, measured by bench/bench_soak.py); a recording keeps everything.
LIVE_ENTRIES_KEPT = 1000


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _daemon(target: Callable[..., None], name: str, *args: Any) -> None:
    # Own daemon threads, not Textual thread workers: those run in asyncio's default executor,
    # which the loop joins on exit, so one hung Engine API call would hang quitting (textual#3966).
    threading.Thread(target=target, args=args, name=name, daemon=True).start()


class _Guarded:
    """The source as the watch sees it: any failure of a read is a SwarmError, so the poll loop
    (which retries SwarmError with backoff) never dies of a surprise and leaves the screen frozen."""

    def __init__(self, source: LiveSource) -> None:
        self._source = source
        self.label = source.label
        self.services, self.stacks = source.services, source.stacks
        self.events, self.sample_memory = source.events, source.sample_memory
        self.sample_containers = source.sample_containers

    def observe(self, stack: str, service: str = "app") -> Observation:
        try:
            return self._source.observe(stack, service)
        except SwarmError:
            raise
        except Exception as exc:  # noqa: BLE001 - anything else becomes the same retryable state
            raise SwarmError(f"reading {stack}_{service} failed: {type(exc).__name__}: {exc}") from exc


class LiveFeed:
    """One watched service; every callback runs on a watch thread and ends in `publish(view)`."""

    def __init__(
        self,
        source: LiveSource,
        stack: str,
        service: str,
        publish: Publish,
        *,
        recipe: RecipeState | None = None,
        recipe_path: Path | None = None,
        expect: Expectation | None = None,
        resolver: Resolver | None = None,
        clock: Callable[[], datetime] = _utcnow,
        poll_interval: float = 2.0,
        memory_interval: float | None = 10.0,
        tap: FeedRecorder | None = None,
    ) -> None:
        self.source = source
        self.stack = stack
        self.service = service
        self.publish = publish
        self.recipe = recipe
        self.recipe_path = recipe_path
        self.expect = expect or Expectation()
        self.resolver = resolver
        self.app_env: Any = None
        self.notes: tuple[str, ...] = ()
        self.clock = clock
        self.poll_interval = poll_interval
        self.memory_interval = memory_interval
        self._lock = threading.Lock()
        self._gen = 0
        self._watch: LiveWatch | None = None
        self.tap = tap if tap is not None and (tap.stack, tap.service) == (stack, service) else None
        self._raw_recipe: RecipeState | None = None
        self._compose: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # chain, and files the checkout lacks
        self._set_recipe(recipe)
        self._reset()

    @property
    def latest(self) -> Observation | None:
        """The newest read of the watched service."""
        return self._fold.latest

    @property
    def label(self) -> str:
        return str(getattr(self.source, "label", "docker"))

    def _reset(self) -> None:
        self._fold = Fold(maxlen=LIVE_ENTRIES_KEPT)
        self._mode = CONNECTING
        self._error: str | None = None
        self._stale_since: datetime | None = None
        self._notes: deque[Entry] = deque(maxlen=_NOTES_KEPT)
        self._pinned: Verdict | None = None  # the re-run's verdict, shown instead of the feed's own
        self._rerunning = False
        # With a resolver, the recipe and expected head are read in the background: until that read
        # is done (or has failed, `_problem`) no verdict is made.
        self._resolved = self.resolver is None
        self._problem: str | None = None

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> LiveFeed:
        with self._lock:
            gen = self._gen
            view = self._view()
        self.publish(view)
        self._watch = LiveWatch(
            _Guarded(self.source), self.stack, self.service,
            on_observation=lambda obs: self._on_observation(gen, obs),
            on_event=lambda ev: self._on_event(gen, ev),
            on_error=lambda msg: self._on_error(gen, msg),
            poll_interval=self.poll_interval,
            memory_interval=self.memory_interval,
        ).start()
        if self.resolver is not None:
            _daemon(self._resolve, "ccci-resolve", gen)
        return self

    def retarget(self, stack: str, service: str) -> None:
        """Watch another service; the old watch stops in the background."""
        old = self._watch
        with self._lock:
            self._gen += 1
            self.stack, self.service = stack, service
            if self.resolver is not None:  # the old stack's recipe says nothing about the new one
                self._set_recipe(None)
                self.recipe_path, self.expect, self.app_env, self.notes = None, Expectation(), None, ()
                self._compose = ((), ())
            self._reset()
            tap, self.tap = self.tap, None
        if tap is not None:  # a recording holds one service
            tap.close(f"the TUI switched to {stack}/{service}")
            self.notes = (*self.notes, f"recording to {tap.path} stopped: it holds {tap.stack}/{tap.service} only")
        if old is not None:
            _daemon(old.close, "ccci-close-watch")
        self.start()

    def detach(self, why: str = "the TUI quit") -> None:
        """Publish nothing more (a read in flight is dropped) and end the recording with `why`; at once,
        on the caller's thread. `close` then stops the watch threads."""
        with self._lock:
            self._gen += 1
            tap, self.tap = self.tap, None
        if tap is not None:
            tap.close(why)

    def close(self, timeout: float = 0.2) -> None:
        """Stop publishing and the watch threads; bounded even while a read hangs (its thread is a daemon)."""
        self.detach()
        if self._watch is not None:
            self._watch.close(timeout)

    def refresh(self) -> None:
        """Read the service now, and the recipe again."""
        if self._watch is not None:
            self._watch.wake()
        self.reload_recipe()

    # ---- callbacks (watch threads) ------------------------------------------------------

    def _on_observation(self, gen: int, obs: Observation) -> None:
        with self._lock:
            if gen != self._gen:
                return
            view, deployed = self._take(obs)
        if view is not None:
            self.publish(view)
        if deployed:
            self.reload_recipe()  # a deploy often follows a checkout: what is HEAD now?

    def _take(self, obs: Observation) -> tuple[View | None, bool]:
        """Take one read in (under the lock): the view to publish (None: nothing moved), and whether
        it showed a new deploy after the first read."""
        latest = self._fold.latest
        if latest is not None and obs.at < latest.at:
            return None, False  # the re-run's watcher read later: a timeline never steps back in time
        if self.tap is not None:
            obs = self.tap.observation(obs)
        prev, was = self._fold.latest, self._mode
        added = self._fold.observation(obs)
        self._mode, self._error, self._stale_since = LIVE, None, None
        st = obs.service.update_status if obs.service else None
        same = (
            prev is not None and prev.service == obs.service and prev.tasks == obs.tasks
            and prev.error == obs.error
        )
        # while Swarm is at work the verdict reads the clock ("updating for 12 s"): publish every read then
        if same and not added and was == LIVE and (st is None or st.state not in ACTIVE_STATES):
            return None, False  # nothing moved: an idle service costs the screen nothing
        deployed = any(e.kind == SPEC for e in added)
        if deployed and not self._rerunning:
            self._pinned = None  # someone deployed again: the re-run's verdict is history
        return self._view(), deployed and prev is not None

    def _on_event(self, gen: int, ev: Event) -> None:
        with self._lock:
            if gen != self._gen:
                return
            view = self._take_event(ev)
        if view is not None:
            self.publish(view)

    def _take_event(self, ev: Event) -> View | None:
        if self.tap is not None:
            ev = self.tap.event(ev)
        if not self._fold.event(ev) or self._fold.latest is None:
            return None
        return self._view()

    # ---- the re-run (its thread and the app's) ------------------------------------------

    def _watching(self, stack: str, service: str) -> bool:
        return (stack, service) == (self.stack, self.service)

    def rerun_observed(self, stack: str, service: str, obs: Observation, verdict: Verdict) -> None:
        """A read by the re-run's watcher: folded in like the feed's own, its verdict shown in the banner."""
        with self._lock:
            if not self._watching(stack, service):
                return
            self._rerunning, self._pinned = True, verdict
            view, _ = self._take(obs)
            if view is None:  # nothing new in the read, but the verdict may be
                view = self._view()
        self.publish(view)

    def rerun_event(self, stack: str, service: str, ev: Event) -> None:
        """An engine event the re-run's watcher saw (the timeline drops the repeats)."""
        with self._lock:
            view = self._take_event(ev) if self._watching(stack, service) else None
        if view is not None:
            self.publish(view)

    def rerun_note(self, stack: str, service: str, text: str, failed: bool = False) -> None:
        """A step of the re-run: a timeline entry now, and a note in the recording."""
        with self._lock:
            if not self._watching(stack, service):
                return
            at = self.clock()
            self._notes.append(Entry(at, RERUN, text, state="failed" if failed else None))
            if self.tap is not None:
                self.tap.step(RerunStep(text, failed), at)
            view = self._view()
        self.publish(view)

    def rerun_ended(self, stack: str, service: str, verdict: Verdict | None) -> None:
        """The run is over: its verdict stays in the banner until the next deploy (None: the feed's own)."""
        with self._lock:
            if not self._watching(stack, service):
                return
            self._rerunning, self._pinned = False, verdict
            view = self._view()
        self.publish(view)

    def _on_error(self, gen: int, message: str) -> None:
        if message.startswith("event stream"):
            return  # the stream is only a wake-up; the bounded poll still reads the truth
        with self._lock:
            if gen != self._gen or (self._mode == STALE and message == self._error):
                return
            if self._mode != STALE:
                self._stale_since = self.clock()
            self._mode, self._error = STALE, message
            view = self._view()
        self.publish(view)

    def _view(self) -> View:
        """The view as of now (a changed verdict goes to the recording too); called under the lock."""
        snapshot = self._fold.timeline()
        obs = self._fold.classified()
        reading = self._reading()
        own = verdict_for(obs, self.recipe, self.expect, snapshot, reading, self._problem)
        verdict = self._pinned or own
        shown = snapshot
        if self._notes:  # the re-run's steps among the engine's entries, by time
            shown = replace(snapshot, entries=tuple(heapq.merge(snapshot.entries, self._notes, key=lambda e: e.at)))
        notes = self.notes
        if self.tap is not None:
            # the feed's own verdict, which a replay of the file gives again; a re-run's is in its steps
            self.tap.verdict(own, obs.at if obs is not None else None)
            if self.tap.failure is not None:
                notes = (*notes, f"recording stopped: {self.tap.failure}")
        return View(
            mode=self._mode, source=self.label, stack=self.stack, service=self.service,
            observation=obs, timeline=shown, attempted=snapshot.attempted_spec, verdict=verdict,
            recipe=self.recipe, expected_head=expected_head(self.expect, self.recipe),
            error=self._error, stale_since=self._stale_since, notes=notes, reading=reading,
            problem=self._problem, memory=self._fold.memory_series(),
            compose=self._compose[0], compose_missing=self._compose[1],
        )

    def _reading(self) -> tuple[str, ...]:
        """The verdict's inputs still being read (under the lock)."""
        if self._resolved:
            return ()
        if self.recipe_path is not None:
            return (f"the recipe at {self.recipe_path}",)
        return ("the app env and recipe",)

    # ---- recipe -------------------------------------------------------------------------

    def _resolve(self, gen: int) -> None:
        """Find the app env, recipe and expected head for the watched stack (abra's layout)."""
        assert self.resolver is not None
        problem = None
        try:
            target = self.resolver(self.stack, self.service)
        except Exception as exc:  # noqa: BLE001 - a bad recipe is shown in the banner, never a crash
            target, problem, notes = None, str(exc), (str(exc),)
        else:
            notes = tuple(getattr(target, "notes", ()))
        opening = self._prepare_tap(target)
        compose: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        if target is not None and target.recipe_path is not None:
            from ccci_tui.sources.target import chain_in_checkout, compose_chain

            chain = compose_chain(target.app_env)
            compose = chain, chain_in_checkout(target.recipe_path, chain)
        with self._lock:
            if gen != self._gen:
                return
            self.notes = notes
            self._compose = compose
            if opening is not None and self.tap is not None:
                self.tap.begin(opening)
                self._raw_recipe = None  # a new file: the recipe goes in after its header
            if target is not None:
                self._set_recipe(target.recipe)
                self.recipe_path = target.recipe_path
                self.expect, self.app_env = target.expect, target.app_env
            if opening is not None and self._fold.latest is not None and self.tap is not None:
                self.tap.observation(self._fold.latest)  # the file goes on from the latest read
            self._resolved, self._problem = True, problem
            view = self._view()
        self.publish(view)

    def _prepare_tap(self, target: Any) -> Any:
        """The recording's header and compose policies for `target` (git reads: outside the lock)."""
        tap = self.tap
        if tap is None or tap.begun or target is None:
            return None
        latest = self._fold.latest  # what the stack runs now names the base, as for `record`
        return tap.prepare(target, self.label, latest.service if latest is not None else None)

    def _set_recipe(self, state: RecipeState | None) -> bool:
        """Keep `state` as the recording holds it (under the lock); False when nothing changed."""
        if state is not None and state == self._raw_recipe:
            return False
        self._raw_recipe = state
        self.recipe = self.tap.recipe(state) if self.tap is not None and state is not None else state
        return True

    def reload_recipe(self) -> None:
        """Read the recipe checkout again in the background (git takes tens of milliseconds)."""
        if self.recipe_path is not None:
            _daemon(self._reload_recipe, "ccci-recipe", self._gen)

    def _reload_recipe(self, gen: int) -> None:
        from ccci_tui.sources.recipe import RecipeError, RecipeSource

        assert self.recipe_path is not None
        try:
            with RecipeSource(self.recipe_path) as src:
                state = src.state()
        except RecipeError:
            return  # keep the last good state; the path was readable when the app started
        with self._lock:
            if gen != self._gen or not self._set_recipe(state):
                return
            view = self._view()
        self.publish(view)

