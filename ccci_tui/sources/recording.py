"""Recordings on disk: a JSON Lines writer (redacted, flushed per record, deltas with keyframes) and a reader.

The format is documented in docs/recording-format.md; `.gz` files are gzip streams flushed with
Z_SYNC_FLUSH after every record, so a recorder that dies leaves a file that still replays.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import IO, Any

from ccci_tui.domain import codec
from ccci_tui.domain import replay as kinds  # the record kinds: kinds.OBSERVATION, ...
from ccci_tui.domain.codec import Tree
from ccci_tui.domain.compose import ComposePolicy
from ccci_tui.domain.model import Event, Observation, RecipeState
from ccci_tui.domain.replay import Header, RecordedPolicy, RerunStep, marker_fields
from ccci_tui.domain.verdict import Expectation, Verdict
from ccci_tui.sources.recording_read import describe_problems, read_recording
from ccci_tui.sources.recording_redact import redact_tree, redacted_observation_tree
from ccci_tui.sources.recording_track import (
    FORMAT,
    KEYFRAME_EVERY,
    POLICY_SIDES,
    VERSION,
    RecordingError,
    Track,
    policy_value,
)

__all__ = [
    "FORMAT", "KEYFRAME_EVERY", "POLICY_SIDES", "VERSION", "RecordingError", "RecordingWriter", "demo_path",
    "describe_problems", "new_header", "read_recording",
]


def demo_path() -> Path:
    """The bundled recording of the incident (ccci_tui/data/demo.jsonl.gz)."""
    return Path(str(resources.files("ccci_tui") / "data" / "demo.jsonl.gz"))


def new_header(stack: str, service: str = "app", **fields: Any) -> Header:
    """A header for a recording made now by this version of ccci-tui."""
    from ccci_tui import __version__

    return Header(format=FORMAT, version=VERSION, tool_version=__version__, created=datetime.now(UTC),
                  host=fields.pop("host", None), stack=stack, service=service, **fields)


def header_for(target: Any, source: str | None, host: str | None, expect: Expectation | None = None) -> Header:
    """The header of a recording of `target` (sources.target.Target) read from `source`: the recipe,
    the expected head and, when `expect` is anchored, the deploy marker its verdicts start from."""
    expect = expect or target.expect
    return new_header(
        target.stack, target.service, host=host, source=source, notes=target.notes,
        recipe_path=str(target.recipe_path) if target.recipe_path else None,
        expect_head=expect.head, expect_ref=expect.head_ref, intent=expect.intent, **marker_fields(expect),
    )


def _dumps(doc: Tree) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


class RecordingWriter:
    """Appends records to a new recording; every value is redacted, then written and flushed at once.

    Each method returns the value as a reader will see it (redacted, round-tripped), so a live
    consumer can work on exactly what the file holds. Thread-safe: the file order is the call order.
    """

    def __init__(self, path: str | Path, header: Header, keyframe_every: int = KEYFRAME_EVERY,
                 heartbeat_s: float = 0.0) -> None:
        if keyframe_every < 1:
            raise ValueError("keyframe_every must be at least 1")
        self.path = Path(path)
        self.keyframe_every = keyframe_every
        self.heartbeat_s = heartbeat_s
        self._lock = threading.Lock()
        self._tracks: dict[str, Track] = {}
        self.counts: Counter[str] = Counter()
        self.lines = 0
        self.closed = False
        try:
            self._raw: IO[bytes] = self.path.open("wb")
        except OSError as exc:
            raise RecordingError(f"{self.path}: cannot write: {exc.strerror or exc}") from exc
        self._fh: IO[bytes] = self._raw
        if self.path.name.endswith(".gz"):
            # no name and no time in the gzip header: the same records give the same bytes
            self._fh = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0)  # type: ignore[assignment]
        header = replace(codec.decode(Header, redact_tree(codec.encode(header))), keyframe_every=keyframe_every)
        self.header: Header = header
        self._write({"format": header.format, "version": header.version} | codec.encode(header))

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, doc: Tree) -> None:
        if self.closed:
            raise RecordingError(f"{self.path}: the recording is closed")
        try:
            self._fh.write(_dumps(doc))
            self._fh.flush()  # GzipFile.flush is a Z_SYNC_FLUSH, then the file's own flush
        except OSError as exc:
            raise RecordingError(f"{self.path}: cannot write line {self.lines + 1}: {exc.strerror or exc}") from exc
        self.lines += 1

    def _record(self, kind: str, at: datetime, payload: Tree) -> None:
        self._write({"t": codec.encode_time(at), "k": kind, **payload})
        self.counts[kind] += 1

    def observation(self, obs: Observation, service: str | None = None) -> Observation:
        """Write an observation: a keyframe every `keyframe_every` of its service's, else what changed.

        With `heartbeat_s`, a read that changed nothing is written only once that long has passed
        since the service's last written observation (`flush` writes it sooner).
        """
        name = service or self.header.service
        tree = redacted_observation_tree(obs)
        at = codec.decode_time(codec.encode_time(obs.at))
        with self._lock:
            track = self._tracks.setdefault(name, Track())
            if track.tree is None or track.count % self.keyframe_every == 0:
                return self._observation(track, name, at, tree)
            delta = codec.diff_tree(track.tree, tree)
            if (not delta and self.heartbeat_s and track.obs is not None and track.written_at is not None
                    and (at - track.written_at).total_seconds() < self.heartbeat_s):
                prev = track.obs
                track.pending = Observation(at=at, service=prev.service, tasks=prev.tasks, error=prev.error,
                                            nodes=prev.nodes)
                return track.pending
            return self._observation(track, name, at, tree, delta)

    def _observation(self, track: Track, name: str, at: datetime, tree: Tree, delta: Tree | None = None,
                     ) -> Observation:
        """Write a keyframe (no `delta`) or a delta record; `tree` is the observation's whole tree."""
        payload: Tree = {} if name == self.header.service else {"s": name}
        if delta is None:
            payload["v"] = tree
            value = track.keyframe(tree, at)
        else:
            payload["d"] = delta
            value = track.delta(delta, at)
        track.tree, track.count = tree, track.count + 1
        track.written_at, track.pending = at, None
        self._record(kinds.OBSERVATION, at, payload)
        return value

    def flush(self, service: str | None = None) -> bool:
        """Write the newest unchanged read of `service` (default: every service) held back by the heartbeat."""
        wrote = False
        with self._lock:
            for name, track in self._tracks.items():
                if track.pending is not None and track.tree is not None and (service is None or name == service):
                    self._observation(track, name, track.pending.at, track.tree, {})
                    wrote = True
        return wrote

    def event(self, ev: Event) -> Event:
        """Write an engine event."""
        tree = redact_tree(codec.encode(ev, skip=("at",)))
        at = codec.decode_time(codec.encode_time(ev.at))
        with self._lock:
            self._record(kinds.EVENT, at, {"v": tree})
        return codec.decode_event(tree, at)

    def recipe(self, state: RecipeState, at: datetime | None = None) -> RecipeState:
        """Write the recipe checkout's state."""
        tree = redact_tree(codec.encode(state))
        return self._simple(kinds.RECIPE, at, tree, "", lambda: codec.decode(RecipeState, tree))  # type: ignore[no-any-return]

    def policy(self, side: str, ref: str, commit: str | None, policy: ComposePolicy,
               at: datetime | None = None) -> RecordedPolicy:
        """Write the effective compose policy of the base or head side."""
        if side not in POLICY_SIDES:
            raise ValueError(f"side must be base or head, not {side!r}")
        tree = redact_tree({"side": side, "ref": ref, "commit": commit, "policy": codec.encode(policy)})
        return self._simple(kinds.POLICY, at, tree, "", lambda: policy_value(tree))  # type: ignore[no-any-return]

    def verdict(self, verdict: Verdict, at: datetime, service: str | None = None) -> Verdict:
        """Write a verdict about `service` (default: the header's) as of `at`."""
        tree = redact_tree(codec.encode(verdict))
        name = service or self.header.service
        return self._simple(kinds.VERDICT, at, tree, "" if name == self.header.service else name,  # type: ignore[no-any-return]
                            lambda: codec.decode(Verdict, tree))

    def note(self, text: str, at: datetime | None = None) -> str:
        """Write a note (what the operator or a script did, a source error)."""
        value: str = redact_tree(str(text))
        return self._simple(kinds.NOTE, at, value, "", lambda: value)  # type: ignore[no-any-return]

    def step(self, step: RerunStep, at: datetime | None = None) -> RerunStep:
        """Write a step of a TUI re-run."""
        tree = redact_tree(codec.encode(step))
        return self._simple(kinds.STEP, at, tree, "", lambda: codec.decode(RerunStep, tree))  # type: ignore[no-any-return]

    def _simple(self, kind: str, at: datetime | None, value: Any, service: str, decoded: Any) -> Any:
        when = codec.decode_time(codec.encode_time(at or datetime.now(UTC)))
        with self._lock:
            self._record(kind, when, {"v": value, **({"s": service} if service else {})})
        return decoded()

    def close(self) -> None:
        """End the gzip stream (a reader copes without it, but warns) and close the file."""
        if not self.closed:
            self.flush()  # the last read, so the recording ends when the watching did
        with self._lock:
            if self.closed:
                return
            self.closed = True
            try:
                if self._fh is not self._raw:
                    self._fh.close()
            finally:
                self._raw.close()
