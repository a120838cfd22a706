"""`--record FILE`: what the TUI watches, written through a RecordingWriter in the order the screen takes it in.

The live feed hands every read, event, recipe state, verdict change and note to this tap under its
own lock, and folds back the values the writer returns (redacted, round-tripped): replaying the
file rebuilds the timeline the screen showed. A failed write turns the tap off; the TUI goes on.
"""

from __future__ import annotations

import contextlib
import socket
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from ccci_tui.domain.model import Event, Observation, RecipeState
from ccci_tui.domain.verdict import Verdict
from ccci_tui.sources.recording import RecordingError, RecordingWriter, new_header

T = TypeVar("T")


class FeedRecorder:
    """A recording of one stack's service as the TUI sees it; `failure` says why it stopped early."""

    def __init__(self, writer: RecordingWriter) -> None:
        self.writer = writer
        self.stack, self.service = writer.header.stack, writer.header.service
        self.failure: str | None = None
        self._verdict: Verdict | None = None

    @classmethod
    def open(cls, path: str | Path, target: Any, source_label: str, heartbeat_s: float = 10.0) -> FeedRecorder:
        """A new recording for `target` (headless.context.Target); raises RecordingError when unwritable."""
        header = new_header(
            target.stack, target.service, host=socket.gethostname(),
            recipe_path=str(target.recipe_path) if target.recipe_path else None, source=source_label,
            notes=target.notes, expect_head=target.expect.head, expect_ref=target.expect.head_ref,
            intent=target.expect.intent,
        )
        tap = cls(RecordingWriter(path, header, heartbeat_s=heartbeat_s))
        tap._policies(target)
        return tap

    @property
    def path(self) -> Path:
        return self.writer.path

    @property
    def active(self) -> bool:
        return self.failure is None and not self.writer.closed

    def _policies(self, target: Any) -> None:
        """The base and head compose policies, as `ccci-tui record` writes them (for `compare --recording`)."""
        from ccci_tui.domain.compose import ComposeError
        from ccci_tui.sources.recipe import RecipeError
        from ccci_tui.sources.recorder import compose_sides, default_base

        if target.recipe_path is None or target.recipe is None:
            return
        refs = {"base": default_base(target.recipe), "head": target.expect.head_ref or "HEAD"}
        app_env = target.app_env
        try:
            sides = list(compose_sides(
                target.recipe_path, {s: r for s, r in refs.items() if r}, target.stack,
                app_env.compose_files if app_env else None, dict(app_env.env) if app_env else None,
            ))
        except (RecipeError, ComposeError) as exc:
            self.note(f"compose policy not recorded: {exc}")
            return
        for side, ref, sha, policy in sides:
            self._write(partial(self.writer.policy, side, ref, sha, policy), None)

    def _write(self, write: Any, fallback: T) -> T:
        if not self.active:
            return fallback
        try:
            return write()  # type: ignore[no-any-return]
        except RecordingError as exc:
            self.failure = str(exc)
            return fallback

    def observation(self, obs: Observation) -> Observation:
        return self._write(lambda: self.writer.observation(obs), obs)

    def event(self, ev: Event) -> Event:
        return self._write(lambda: self.writer.event(ev), ev)

    def recipe(self, state: RecipeState) -> RecipeState:
        return self._write(lambda: self.writer.recipe(state), state)

    def verdict(self, verdict: Verdict | None, at: datetime | None) -> None:
        """Write the verdict when it changed (after the read it came from, as the recorder does)."""
        if verdict is None or verdict == self._verdict or at is None:
            return
        self._verdict = verdict

        def write() -> None:
            self.writer.flush(self.service)
            self.writer.verdict(verdict, at)

        self._write(write, None)

    def note(self, text: str, at: datetime | None = None) -> None:
        self._write(lambda: self.writer.note(text, at), None)

    def close(self, reason: str = "") -> None:
        """Write a closing note and close the file; safe to call twice."""
        if reason:
            self.note(f"recording stopped: {reason}")
        with contextlib.suppress(RecordingError):
            self.writer.close()
