"""`--record FILE`: what the TUI watches, written through a RecordingWriter in the order the screen takes it in.

The live feed hands every read, event, recipe state, verdict change and note to this tap under its
own lock, and folds back the values the writer returns (redacted, round-tripped): replaying the
file rebuilds the timeline the screen showed. A failed write turns the tap off; the TUI goes on.

`--record` on the command line makes a tap that is `pending`: its header names the recipe and the
expected head, which the TUI reads in the background (slow git never holds up the screen), so the
file is started by `begin` once that read is done; until then the tap passes values through.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from ccci_tui.domain.model import Event, Observation, RecipeState, ServiceState
from ccci_tui.domain.replay import Header, RecordedPolicy, RerunStep
from ccci_tui.domain.verdict import Verdict
from ccci_tui.sources.recording import RecordingError, RecordingWriter, header_for
from ccci_tui.sources.recording_track import HEARTBEAT_S

T = TypeVar("T")


@dataclass(frozen=True)
class Opening:
    """What starts a recording: its header and the compose policies (or why they are missing)."""

    header: Header
    policies: tuple[RecordedPolicy, ...]
    problem: str | None = None


class FeedRecorder:
    """A recording of one stack's service as the TUI sees it; `failure` says why it stopped early."""

    def __init__(self, writer: RecordingWriter | None, path: Path | None = None, stack: str = "",
                 service: str = "", heartbeat_s: float = HEARTBEAT_S) -> None:
        self.writer = writer
        self._path = writer.path if writer is not None else Path(path or "")
        self.stack = writer.header.stack if writer is not None else stack
        self.service = writer.header.service if writer is not None else service
        self.heartbeat_s = heartbeat_s
        self.failure: str | None = None
        self._verdict: Verdict | None = None

    @classmethod
    def pending(cls, path: str | Path, stack: str, service: str, heartbeat_s: float = HEARTBEAT_S) -> FeedRecorder:
        """A tap that writes nothing until `begin`; raises RecordingError now when `path` cannot be written."""
        path = Path(path)
        parent = path.parent if str(path.parent) else Path(".")
        if path.is_dir():
            raise RecordingError(f"{path}: cannot write: it is a directory")
        if not parent.is_dir():
            raise RecordingError(f"{path}: cannot write: no directory {parent}")
        if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise RecordingError(f"{path}: cannot write: permission denied")
        return cls(None, path, stack, service, heartbeat_s)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def begun(self) -> bool:
        return self.writer is not None

    @property
    def lines(self) -> int:
        return self.writer.lines if self.writer is not None else 0

    @property
    def active(self) -> bool:
        return self.failure is None and self.writer is not None and not self.writer.closed

    def prepare(self, target: Any, source_label: str, service: ServiceState | None = None) -> Opening:
        """The header and the base and head compose policies for `target`, chosen as `ccci-tui record`
        chooses them (`service`: what the stack runs now, for the base); reads git: call it unlocked."""
        from ccci_tui.domain.compose_syntax import ComposeError
        from ccci_tui.sources.recipe import RecipeError
        from ccci_tui.sources.target import compose_chain, upgrade_sides

        header = header_for(target, source_label, socket.gethostname())
        if target.recipe_path is None or target.recipe is None:
            return Opening(header, ())
        app_env = target.app_env
        try:
            sides, note = upgrade_sides(
                target.recipe_path, target.stack, compose_chain(app_env), dict(app_env.env) if app_env else None,
                head=target.expect.head_ref, service=service, version=target.expect.intent,
            )
        except (RecipeError, ComposeError) as exc:
            return Opening(header, (), f"compose policy not recorded: {exc}")
        return Opening(header, sides, f"compose policy: {note}" if note else None)

    def begin(self, opening: Opening) -> None:
        """Create the file with `opening`'s header and policies; a failure turns the tap off."""
        if self.writer is not None or self.failure is not None:
            return
        try:
            writer = self.writer = RecordingWriter(self._path, opening.header, heartbeat_s=self.heartbeat_s)
        except RecordingError as exc:
            self.failure = str(exc)
            return
        if opening.problem:
            self.note(opening.problem)
        for side in opening.policies:
            try:
                writer.policy(side.side, side.ref, side.commit, side.policy)
            except RecordingError as exc:
                self.failure = str(exc)
                return

    def _write(self, write: Callable[[RecordingWriter], T], fallback: T) -> T:
        writer = self.writer
        if writer is None or not self.active:  # not begun yet, or stopped: the value goes on unrecorded
            return fallback
        try:
            return write(writer)
        except RecordingError as exc:
            self.failure = str(exc)
            return fallback

    def observation(self, obs: Observation) -> Observation:
        return self._write(lambda w: w.observation(obs), obs)

    def event(self, ev: Event) -> Event:
        return self._write(lambda w: w.event(ev), ev)

    def recipe(self, state: RecipeState) -> RecipeState:
        return self._write(lambda w: w.recipe(state), state)

    def verdict(self, verdict: Verdict | None, at: datetime | None) -> None:
        """Write the verdict when it changed (after the read it came from, as the recorder does)."""
        if verdict is None or verdict == self._verdict or at is None:
            return
        self._verdict = verdict

        def write(writer: RecordingWriter) -> None:
            writer.flush(self.service)
            writer.verdict(verdict, at)

        self._write(write, None)

    def step(self, step: RerunStep, at: datetime | None = None) -> None:
        self._write(lambda w: w.step(step, at), None)

    def note(self, text: str, at: datetime | None = None) -> None:
        self._write(lambda w: w.note(text, at), None)

    def close(self, reason: str = "") -> None:
        """Write a closing note and close the file; safe to call twice."""
        if reason:
            self.note(f"recording stopped: {reason}")
        if self.writer is None:
            self.failure = self.failure or "nothing was recorded: the recipe was never read"
            return
        with contextlib.suppress(RecordingError):
            self.writer.close()
