"""The recorder: watches one service live and writes what it learns to a recording, as it learns it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ccci_tui.domain.diagnose import diagnose
from ccci_tui.domain.model import Event, Observation, RecipeState
from ccci_tui.domain.timeline import TimelineBuilder
from ccci_tui.domain.verdict import Expectation, Verdict
from ccci_tui.sources.recording import RecordingWriter
from ccci_tui.sources.swarm import SwarmError, SwarmSource

RECIPE_INTERVAL_S = 5.0


def compose_sides(
    recipe: Path, refs: Mapping[str, str], stack: str, chain: tuple[str, ...] | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, str, str, Any]]:
    """(side, ref, commit, ComposePolicy) for each side's ref, loaded as `compare` loads them."""
    from ccci_tui.domain.compose import load_policy
    from ccci_tui.sources.recipe import RecipeSource

    values = {**(env or {}), "STACK_NAME": stack}
    with RecipeSource(recipe) as src:
        for side, ref in refs.items():
            sha = src.resolve(ref)
            files = [(f"{name}@{ref}", src.file_at(sha, name)) for name in (chain or ("compose.yml",))]
            yield side, ref, sha, load_policy(files, values)


def default_base(state: RecipeState) -> str | None:
    """The newest release tag that is not the checked-out commit: what an upgrade starts from."""
    return next((t.name for t in state.tags if t.sha != state.head_sha), None)


class Recorder:
    """Watches one service through LiveWatch and writes everything it learns, as it learns it.

    Observations and events go through one lock into the writer and a timeline, in the same order,
    and the verdict is recomputed after each; it is written whenever it changes. Replaying the file
    in file order therefore rebuilds the same timeline and gives the same verdict.
    """

    def __init__(
        self,
        source: SwarmSource,
        writer: RecordingWriter,
        stack: str,
        service: str = "app",
        recipe_path: Path | None = None,
        expect: Expectation | None = None,
        poll_interval: float = 1.0,
        memory_interval: float | None = 2.0,
        other_services: bool = False,
        recipe_interval: float = RECIPE_INTERVAL_S,
    ) -> None:
        self.source, self.writer, self.stack, self.service = source, writer, stack, service
        self.recipe_path = recipe_path
        self.expect = expect or Expectation()
        self.poll_interval, self.memory_interval = poll_interval, memory_interval
        self.other_services, self.recipe_interval = other_services, recipe_interval
        self.builder = TimelineBuilder()
        self.recipe: RecipeState | None = None
        self.latest: Observation | None = None
        self.verdict: Verdict | None = None
        self._raw_recipe: RecipeState | None = None
        self._raw_verdict: Verdict | None = None
        self._last_error: str | None = None
        self._policy_args: tuple[str | None, tuple[str, ...] | None, Mapping[str, str] | None] | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake_others = threading.Event()
        self._threads: list[threading.Thread] = []
        self._watch: Any = None

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self, recipe: RecipeState | None = None, base_ref: str | None = None,
              chain: tuple[str, ...] | None = None, env: Mapping[str, str] | None = None) -> Recorder:
        """Write the recipe state and compose policies, then start watching."""
        from ccci_tui.sources.live import LiveWatch

        if recipe is not None:
            self._set_recipe(recipe)
            self._write_policies(base_ref, chain, env)
        self._watch = LiveWatch(
            self.source, self.stack, self.service, on_observation=self._on_observation,
            on_event=self._on_event, on_error=self._on_error, poll_interval=self.poll_interval,
            memory_interval=self.memory_interval,
        ).start()
        if self.recipe_path is not None:
            self._spawn(self._recipe_loop, "recipe")
        if self.other_services:
            self._spawn(self._others_loop, "others")
        return self

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=f"ccci-record-{name}-{self.stack}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def note(self, text: str) -> None:
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

    # ---- what the watch reports ----------------------------------------------------------------

    def _on_observation(self, obs: Observation) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            value = self.writer.observation(obs)
            self.builder.add_observation(value)
            self.latest = value
            self._diagnose(value.at)

    def _on_event(self, ev: Event) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            value = self.writer.event(ev)
            self.builder.add_event(value)
            self._diagnose(value.at)
        if self.other_services and ev.service != f"{self.stack}_{self.service}":
            self._wake_others.set()

    def _on_error(self, message: str) -> None:
        with self._lock:
            if message != self._last_error and not self._stop.is_set():
                self._last_error = message
                self.writer.note(f"live source: {message}")

    def _diagnose(self, at: datetime) -> None:
        """Recompute the verdict (as `wait` does) and write it when it changed."""
        obs = self.latest
        if obs is None:
            return
        expect = Expectation(**{**self.expect.__dict__, "now": obs.at})
        verdict = diagnose(obs, self.recipe, expect, self.builder.snapshot())
        if verdict != self._raw_verdict:
            self._raw_verdict = verdict
            self.writer.flush(self.service)  # the read the verdict came from must be in the file
            self.verdict = self.writer.verdict(verdict, at)

    # ---- recipe and policies -------------------------------------------------------------------

    def _set_recipe(self, state: RecipeState) -> bool:
        with self._lock:
            if state == self._raw_recipe:
                return False
            changed_head = self._raw_recipe is not None and self._raw_recipe.head_sha != state.head_sha
            self._raw_recipe = state
            self.recipe = self.writer.recipe(state)
            self._diagnose(datetime.now(UTC))
            return changed_head

    def _write_policies(self, base_ref: str | None, chain: tuple[str, ...] | None,
                        env: Mapping[str, str] | None, sides: tuple[str, ...] = ("base", "head")) -> None:
        from ccci_tui.domain.compose import ComposeError
        from ccci_tui.sources.recipe import RecipeError

        state = self._raw_recipe
        if self.recipe_path is None or state is None:
            return
        base = base_ref or default_base(state)
        refs = {"base": base, "head": self.expect.head_ref or "HEAD"}
        if base is None:
            self.note("compose policy: no release tag to compare the head with; base side not recorded")
        self._policy_args = (base_ref, chain, env)
        try:
            for side, ref, sha, policy in compose_sides(
                self.recipe_path, {s: r for s, r in refs.items() if r and s in sides}, self.stack, chain, env,
            ):
                with self._lock:
                    self.writer.policy(side, ref, sha, policy)
        except (RecipeError, ComposeError) as exc:
            self.note(f"compose policy not recorded: {exc}")

    def _recipe_loop(self) -> None:
        from ccci_tui.sources.recipe import RecipeError, read_recipe

        assert self.recipe_path is not None
        failed = False
        while not self._stop.wait(self.recipe_interval):
            try:
                state = read_recipe(self.recipe_path)
            except RecipeError as exc:
                if not failed:
                    self.note(f"recipe not readable: {exc}")
                failed = True
                continue
            failed = False
            if self._set_recipe(state) and self._policy_args is not None:
                self._write_policies(*self._policy_args, sides=("head",))

    # ---- the stack's other services --------------------------------------------------------------

    def _others_loop(self) -> None:
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
