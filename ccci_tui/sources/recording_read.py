"""Reading recordings: plain or gzip, damaged or whole; problems become skipped lines or one clear error."""

from __future__ import annotations

import gc
import json
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from operator import attrgetter
from pathlib import Path
from typing import IO, Any

from ccci_tui.domain import codec
from ccci_tui.domain.codec import CodecError, Tree
from ccci_tui.domain.model import RecipeState
from ccci_tui.domain.replay import (
    EVENT,
    NOTE,
    OBSERVATION,
    POLICY,
    RECIPE,
    STEP,
    VERDICT,
    Header,
    Record,
    Recording,
    RerunStep,
)
from ccci_tui.domain.verdict import Verdict
from ccci_tui.sources.recording_track import FORMAT, VERSION, RecordingError, Track, policy_value

_CHUNK = 1 << 20
_PIECE = 1 << 16  # gzip input per step: bounds the byte-wise retry after bad data
_GZIP_MAGIC = b"\x1f\x8b"
_JSON = json.JSONDecoder()
_SCAN = _JSON.scan_once  # type: ignore[attr-defined]  # the scanner json.loads itself runs


def _loads(raw: bytes) -> Any:
    """One line's JSON value; ValueError as `json.loads` gives it when the line is not JSON."""
    text = raw.decode("utf-8")
    try:
        doc, end = _SCAN(text, 0)  # what json.loads does, less its wrapping, for a line the writer wrote
        if end == len(text):
            return doc
    except (StopIteration, ValueError):
        pass
    return _JSON.decode(text)  # anything else: json's own answer, or its error


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
        self.tracks: dict[str, Track] = {}
        self.records: list[Record] = []
        self.skipped: list[tuple[int, str]] = []

    def line(self, number: int, raw: bytes, complete: bool) -> None:
        try:
            doc = _loads(raw)
        except ValueError as exc:  # UnicodeDecodeError is one too
            if not raw or raw.isspace():
                return
            reason = ("truncated: the file ends in the middle of this record" if not complete
                      else f"not JSON ({getattr(exc, 'msg', exc)})")
            self.skipped.append((number, reason))
            for track in self.tracks.values():
                track.obs = None  # its service is unknown: no delta may build on a guess
            return
        if not isinstance(doc, dict):
            self.skipped.append((number, "not a record (a JSON object with t and k)"))
            return
        kind: Any = doc.get("k")
        service = doc.get("s") or ""
        try:
            when = doc.get("t")
            if not isinstance(when, str) or not isinstance(service, str):
                raise CodecError("no time (t)" if not isinstance(when, str) else "the service (s) is not text")
            at = codec.parse_time(when)  # a record's own time seldom repeats: no cache
            if kind == OBSERVATION:
                service = service or self.header.service
                value = self._observation(doc, at, service)
            else:
                value = self._value(kind, doc, at)
                if kind == VERDICT:
                    service = service or self.header.service
        except (CodecError, KeyError, TypeError, ValueError, AttributeError) as exc:
            if kind == OBSERVATION:
                self._track(service or self.header.service).obs = None
            self.skipped.append((number, f"bad {kind or 'untyped'} record: {exc}"))
            return
        self.records.append(Record(at, kind, value, number, service))

    def _track(self, service: str) -> Track:
        track = self.tracks.get(service)
        if track is None:
            track = self.tracks[service] = Track()
        return track

    def _observation(self, doc: Tree, at: datetime, service: str) -> Any:
        track = self._track(service)
        if "v" in doc:
            return track.keyframe(doc["v"], at)
        if "d" not in doc:
            raise CodecError("neither a keyframe (v) nor a delta (d)")
        return track.delta(doc["d"], at)

    def _value(self, kind: Any, doc: Tree, at: datetime) -> Any:
        if kind == EVENT:
            return codec.decode_event(doc["v"], at)
        if kind == RECIPE:
            return codec.decode(RecipeState, doc["v"])
        if kind == POLICY:
            return policy_value(doc["v"])
        if kind == VERDICT:
            return codec.decode(Verdict, doc["v"])
        if kind == NOTE:
            if not isinstance(doc.get("v"), str):
                raise CodecError("a note's value must be text")
            return doc["v"]
        if kind == STEP:
            return codec.decode(RerunStep, doc["v"])
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
    with _collector_paused():
        return _read(Path(path))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a recording is read.

    Reading builds records and nothing that refers back to itself, so a collection finds no garbage;
    but each one walks every record read so far (a quarter of a 100,000-record load). After the read
    the records join the oldest generation directly, where a collection that ran during the read
    would have put them, instead of being walked once more by the first young collection.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if not gc.get_freeze_count():  # nobody froze objects on purpose: unfreeze moves only these
                gc.freeze()
                gc.unfreeze()  # every tracked object into the oldest generation, none of them walked
            gc.enable()


def _read(path: Path) -> Recording:
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
    reader.records.sort(key=attrgetter("at"))
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
