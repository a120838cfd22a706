"""Recordings on disk: a JSON Lines writer (redacted, flushed per record, deltas with keyframes) and a reader.

The format is documented in docs/recording-format.md; `.gz` files are gzip streams flushed with
Z_SYNC_FLUSH after every record, so a recorder that dies leaves a file that still replays.
"""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import IO, Any

from ccci_tui.domain import codec
from ccci_tui.domain.codec import CodecError, Tree
from ccci_tui.domain.compose import ComposePolicy
from ccci_tui.domain.model import Event, Observation, RecipeState, ServiceState, TaskState
from ccci_tui.domain.replay import (
    EVENT,
    NOTE,
    OBSERVATION,
    POLICY,
    RECIPE,
    VERDICT,
    Header,
    Record,
    Recording,
)
from ccci_tui.domain.verdict import Verdict

FORMAT = "ccci-recording"
VERSION = 1
KEYFRAME_EVERY = 100
POLICY_SIDES = ("base", "head")
_CHUNK = 1 << 20
_PIECE = 1 << 16  # gzip input per step: bounds the byte-wise retry after bad data
_GZIP_MAGIC = b"\x1f\x8b"
_JSON = json.JSONDecoder()
_DELTA_OPS = frozenset((codec.SET, codec.NESTED, codec.REMOVED))


class RecordingError(RuntimeError):
    """A recording cannot be written or read; the message names the file and, when known, the line."""


def demo_path() -> Path:
    """The bundled recording of the incident (ccci_tui/data/demo.jsonl.gz)."""
    return Path(str(resources.files("ccci_tui") / "data" / "demo.jsonl.gz"))


def new_header(stack: str, service: str = "app", **fields: Any) -> Header:
    """A header for a recording made now by this version of ccci-tui."""
    from ccci_tui import __version__

    return Header(format=FORMAT, version=VERSION, tool_version=__version__, created=datetime.now(UTC),
                  host=fields.pop("host", None), stack=stack, service=service, **fields)


class _Track:
    """One service's observation chain: the last observation, its tasks by id, and (writing) its tree."""

    def __init__(self) -> None:
        self.tree: Tree | None = None  # the writer diffs against it; a reader needs none
        self.obs: Observation | None = None  # None: nothing to apply a delta to
        self.tasks: dict[str, TaskState] = {}
        self.count = 0
        self.written_at: datetime | None = None
        self.pending: Observation | None = None  # an unchanged read not written (yet)

    def keyframe(self, tree: Tree, at: datetime) -> Observation:
        obs = codec.decode_observation(tree, at)
        self.obs, self.tasks = obs, {t.id: t for t in obs.tasks}
        return obs

    def delta(self, delta: Tree, at: datetime) -> Observation:
        """The previous observation patched with `delta` (see codec.diff_tree), at `at`."""
        prev = self.obs
        if prev is None:
            raise CodecError("a delta with nothing to apply to (no readable keyframe before it)")
        if not delta:
            obs = Observation(at=at, service=prev.service, tasks=prev.tasks, error=prev.error)
            self.obs = obs
            return obs
        if not isinstance(delta, dict) or not _DELTA_OPS.issuperset(delta):
            raise CodecError(f"not a delta: {delta!r:.80}")
        sets, nested = delta.get(codec.SET, {}), delta.get(codec.NESTED, {})
        service = prev.service
        if "service" in sets:
            service = codec.decode_service(sets["service"])
        elif "service" in nested:
            if service is None:
                raise CodecError("a delta changes the service of an observation without one")
            service = codec.patch(ServiceState, service, nested["service"])
        tasks = self.tasks
        if "tasks" in sets:
            tasks = {i: codec.decode_task(t) for i, t in sets["tasks"].items()}
        elif "tasks" in nested:
            sub = nested["tasks"]
            tasks = dict(tasks)
            for task_id in sub.get(codec.REMOVED, ()):
                tasks.pop(task_id, None)
            for task_id, tree in sub.get(codec.SET, {}).items():
                tasks[task_id] = codec.decode_task(tree)
            for task_id, change in sub.get(codec.NESTED, {}).items():
                if task_id not in tasks:
                    raise CodecError(f"a delta changes the unknown task {task_id}")
                tasks[task_id] = codec.patch(TaskState, tasks[task_id], change)
        if tasks is self.tasks and "order" not in sets:
            ordered = prev.tasks
        else:
            order = sets["order"] if "order" in sets else [t.id for t in prev.tasks]
            try:
                ordered = tuple(tasks[i] for i in order)
            except (KeyError, TypeError) as exc:
                raise CodecError(f"task order names an unknown task {exc}") from exc
        error = sets.get("error", None if "error" in delta.get(codec.REMOVED, ()) else prev.error)
        obs = Observation(at=at, service=service, tasks=ordered, error=error)
        self.obs, self.tasks = obs, tasks
        return obs


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
        self._tracks: dict[str, _Track] = {}
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
        header = replace(codec.decode(Header, codec.redact_tree(codec.encode(header))), keyframe_every=keyframe_every)
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
        tree = codec.redacted_observation_tree(obs)
        at = codec.decode_time(codec.encode_time(obs.at))
        with self._lock:
            track = self._tracks.setdefault(name, _Track())
            if track.tree is None or track.count % self.keyframe_every == 0:
                return self._observation(track, name, at, tree)
            delta = codec.diff_tree(track.tree, tree)
            if (not delta and self.heartbeat_s and track.obs is not None and track.written_at is not None
                    and (at - track.written_at).total_seconds() < self.heartbeat_s):
                prev = track.obs
                track.pending = Observation(at=at, service=prev.service, tasks=prev.tasks, error=prev.error)
                return track.pending
            return self._observation(track, name, at, tree, delta)

    def _observation(self, track: _Track, name: str, at: datetime, tree: Tree, delta: Tree | None = None,
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
        self._record(OBSERVATION, at, payload)
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
        tree = codec.redact_tree(codec.encode(ev, skip=("at",)))
        at = codec.decode_time(codec.encode_time(ev.at))
        with self._lock:
            self._record(EVENT, at, {"v": tree})
        return codec.decode_event(tree, at)

    def recipe(self, state: RecipeState, at: datetime | None = None) -> RecipeState:
        """Write the recipe checkout's state."""
        tree = codec.redact_tree(codec.encode(state))
        return self._simple(RECIPE, at, tree, "", lambda: codec.decode(RecipeState, tree))  # type: ignore[no-any-return]

    def policy(self, side: str, ref: str, commit: str | None, policy: ComposePolicy,
               at: datetime | None = None) -> dict[str, Any]:
        """Write the effective compose policy of the base or head side."""
        if side not in POLICY_SIDES:
            raise ValueError(f"side must be base or head, not {side!r}")
        tree = codec.redact_tree({"side": side, "ref": ref, "commit": commit, "policy": codec.encode(policy)})
        return self._simple(POLICY, at, tree, "", lambda: _policy_value(tree))  # type: ignore[no-any-return]

    def verdict(self, verdict: Verdict, at: datetime, service: str | None = None) -> Verdict:
        """Write a verdict about `service` (default: the header's) as of `at`."""
        tree = codec.redact_tree(codec.encode(verdict))
        name = service or self.header.service
        return self._simple(VERDICT, at, tree, "" if name == self.header.service else name,  # type: ignore[no-any-return]
                            lambda: codec.decode(Verdict, tree))

    def note(self, text: str, at: datetime | None = None) -> str:
        """Write a note (what the operator or a script did, a source error)."""
        value: str = codec.redact_tree(str(text))
        return self._simple(NOTE, at, value, "", lambda: value)  # type: ignore[no-any-return]

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


def _policy_value(tree: Any) -> dict[str, Any]:
    if not isinstance(tree, dict) or tree.get("side") not in POLICY_SIDES:
        raise CodecError("a policy record needs side base or head")
    return {"side": tree["side"], "ref": str(tree.get("ref") or ""), "commit": tree.get("commit"),
            "policy": codec.decode(ComposePolicy, tree.get("policy"))}


# ---- reading -----------------------------------------------------------------------------------------


class _Corrupt(Exception):
    pass


def _inflate(d: Any, data: bytes) -> Iterator[bytes]:
    """Decompress `data`; on bad data, first hand out everything before the fault, then _Corrupt."""
    saved = d.copy()
    try:
        out = d.decompress(data)
    except zlib.error:
        # redo this piece a byte at a time from the state before it, so no good line is lost
        d = saved
        for i in range(len(data)):
            try:
                out = d.decompress(data[i: i + 1])
            except zlib.error as exc:
                raise _Corrupt(str(exc)) from exc
            if out:
                yield out
        return
    if out:
        yield out


def _chunks(fh: IO[bytes], first: bytes, warnings: list[str]) -> Iterator[bytes]:
    """The file's bytes, gunzipped when it starts with the gzip magic; _Corrupt on bad gzip data."""
    if not first.startswith(_GZIP_MAGIC):
        yield first
        while chunk := fh.read(_CHUNK):
            yield chunk
        return
    d = zlib.decompressobj(31)
    data = first
    while data:
        for start in range(0, len(data), _PIECE):
            pending = data[start: start + _PIECE]
            while pending:
                yield from _inflate(d, pending)
                pending = b""
                if d.eof:
                    rest = d.unused_data
                    if rest.startswith(_GZIP_MAGIC):  # another member: gzip files may be concatenated
                        d, pending = zlib.decompressobj(31), rest
                    elif rest.strip(b"\0"):
                        warnings.append(f"{len(rest)} bytes after the end of the gzip stream were ignored")
                        return
        data = fh.read(_CHUNK)
    if not d.eof:
        warnings.append("the gzip stream has no end marker (the recorder did not close the file); "
                        "every complete record was read")


def _lines(fh: IO[bytes], first: bytes, warnings: list[str]) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes, ends with a newline) for every line."""
    number, rest = 0, b""
    for chunk in _chunks(fh, first, warnings):
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        for part in parts:
            number += 1
            yield number, part, True
    if rest:
        yield number + 1, rest, False


class _Reader:
    """Turns lines into records; problems become skipped lines, never exceptions."""

    def __init__(self, path: Path, header: Header) -> None:
        self.path = path
        self.header = header
        self.tracks: dict[str, _Track] = {}
        self.records: list[Record] = []
        self.skipped: list[tuple[int, str]] = []

    def line(self, number: int, raw: bytes, complete: bool) -> None:
        if not raw or raw.isspace():
            return
        try:
            doc = _JSON.decode(raw.decode("utf-8"))
        except ValueError as exc:  # UnicodeDecodeError is one too
            reason = ("truncated: the file ends in the middle of this record" if not complete
                      else f"not JSON ({getattr(exc, 'msg', exc)})")
            self.skipped.append((number, reason))
            for track in self.tracks.values():
                track.obs = None  # its service is unknown: no delta may build on a guess
            return
        if not isinstance(doc, dict):
            self.skipped.append((number, "not a record (a JSON object with t and k)"))
            return
        kind = doc.get("k")
        service = doc.get("s") or ""
        try:
            when = doc.get("t")
            if not isinstance(when, str) or not isinstance(service, str):
                raise CodecError("no time (t)" if not isinstance(when, str) else "the service (s) is not text")
            at = codec.decode_time(when)
            value = self._value(kind, doc, at, service)
        except (CodecError, KeyError, TypeError, ValueError, AttributeError) as exc:
            if kind == OBSERVATION:
                self.tracks.setdefault(service or self.header.service, _Track()).obs = None
            self.skipped.append((number, f"bad {kind or 'untyped'} record: {exc}"))
            return
        if kind == OBSERVATION or kind == VERDICT:
            service = service or self.header.service
        self.records.append(Record(at, kind, value, number, service))

    def _value(self, kind: Any, doc: Tree, at: datetime, service: str) -> Any:
        if kind == OBSERVATION:
            track = self.tracks.setdefault(service or self.header.service, _Track())
            if "v" in doc:
                return track.keyframe(doc["v"], at)
            if "d" not in doc:
                raise CodecError("neither a keyframe (v) nor a delta (d)")
            return track.delta(doc["d"], at)
        if kind == EVENT:
            return codec.decode_event(doc["v"], at)
        if kind == RECIPE:
            return codec.decode(RecipeState, doc["v"])
        if kind == POLICY:
            return _policy_value(doc["v"])
        if kind == VERDICT:
            return codec.decode(Verdict, doc["v"])
        if kind == NOTE:
            if not isinstance(doc.get("v"), str):
                raise CodecError("a note's value must be text")
            return doc["v"]
        raise CodecError(f"unknown record kind {kind!r}")


def _header(path: Path, raw: bytes) -> Header:
    where = f"{path} line 1"
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise RecordingError(f"{where}: not JSON ({getattr(exc, 'msg', exc)}): not a ccci-tui recording") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise RecordingError(f"{where}: format {found!r} is not {FORMAT!r}: not a ccci-tui recording")
    version = doc.get("version")
    if version != VERSION or isinstance(version, bool):
        raise RecordingError(f"{where}: recording version {version!r} is not supported "
                             f"(this ccci-tui reads version {VERSION})")
    try:
        header: Header = codec.decode(Header, doc)
    except CodecError as exc:
        raise RecordingError(f"{where}: bad header: {exc}") from exc
    return header


def read_recording(path: str | Path) -> Recording:
    """Read a recording (plain or gzip); RecordingError when it cannot be read at all.

    Unreadable lines are skipped and listed in `Recording.skipped`; a truncated last line or a
    gzip stream cut short costs only what is missing.
    """
    path = Path(path)
    warnings: list[str] = []
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with fh:
        try:
            first = fh.read(_CHUNK)
        except OSError as exc:
            raise RecordingError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        if not first:
            raise RecordingError(f"{path}: empty file: not a ccci-tui recording")
        lines = _lines(fh, first, warnings)
        reader: _Reader | None = None
        last = 0
        try:
            for number, raw, complete in lines:
                last = number
                if reader is None:
                    reader = _Reader(path, _header(path, raw))
                else:
                    reader.line(number, raw, complete)
        except _Corrupt as exc:
            if reader is None:
                raise RecordingError(f"{path}: corrupt gzip data: {exc}") from exc
            reader.skipped.append((last + 1, f"corrupt gzip data ({exc}): nothing from here on could be read"))
        except OSError as exc:
            raise RecordingError(f"{path}: cannot read after line {last}: {exc.strerror or exc}") from exc
    if reader is None:
        raise RecordingError(f"{path}: empty file: not a ccci-tui recording")
    # records are written as they arrive; an event carries its engine time, which may be a little
    # before the poll written just ahead of it: order by time (stably, so equal times keep file order)
    reader.records.sort(key=lambda r: r.at)
    return Recording(header=reader.header, records=tuple(reader.records), skipped=tuple(reader.skipped),
                     warnings=tuple(warnings))


def describe_problems(recording: Recording, limit: int = 5) -> str | None:
    """One line naming the skipped lines and warnings of a recording, or None when it read cleanly."""
    parts = []
    if recording.skipped:
        shown = ", ".join(f"line {n} ({why})" for n, why in recording.skipped[:limit])
        more = f" and {len(recording.skipped) - limit} more" if len(recording.skipped) > limit else ""
        parts.append(f"skipped {shown}{more}")
    parts += list(recording.warnings)
    return "; ".join(parts) or None
