"""Recording files: what the writer puts on disk, and how the reader copes with damaged files."""

from __future__ import annotations

import gc
import gzip
import json
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccci_tui.cli import main
from ccci_tui.domain.model import Event, Observation
from ccci_tui.sources.recording import (
    RecordingError,
    RecordingWriter,
    demo_path,
    describe_problems,
    new_header,
    read_recording,
)
from tests.support.reference import merged

T0 = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
SUFFIXES = (".jsonl", ".jsonl.gz")


def write_run(path: Path, run: str = "C", keyframe_every: int = 4) -> list[Observation | Event]:
    """Record a reference run; returns what the writer said it wrote, in call order."""
    items = merged(run)
    with RecordingWriter(path, new_header("research_oom", host="ci-1"), keyframe_every=keyframe_every) as w:
        out: list[Observation | Event] = []
        for item in items:
            out.append(w.observation(item) if isinstance(item, Observation) else w.event(item))
    return out


def raw_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = zlib.decompressobj(31).decompress(data)
    return data.splitlines()


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_round_trip_gives_back_every_record_in_file_order(tmp_path, suffix):
    path = tmp_path / f"r{suffix}"
    written = write_run(path)
    rec = read_recording(path)
    assert rec.skipped == () and rec.warnings == ()
    assert [r.value for r in sorted(rec.records, key=lambda r: r.line)] == written == merged("C")
    assert [r.at for r in rec.records] == sorted(r.at for r in rec.records)
    assert rec.header.stack == "research_oom" and rec.header.host == "ci-1" and rec.header.keyframe_every == 4


def test_gzip_is_by_suffix_on_write_and_by_content_on_read(tmp_path):
    gz, plain = tmp_path / "a.jsonl.gz", tmp_path / "a.jsonl"
    write_run(gz)
    write_run(plain)
    assert gz.read_bytes()[:2] == b"\x1f\x8b" and plain.read_bytes()[:1] == b"{"
    assert gzip.decompress(gz.read_bytes()).count(b"\n") == len(plain.read_bytes().splitlines())
    renamed = tmp_path / "no-suffix"
    renamed.write_bytes(gz.read_bytes())
    assert len(read_recording(renamed).records) == len(read_recording(plain).records)


def test_observations_are_deltas_between_keyframes(tmp_path):
    path = tmp_path / "r.jsonl"
    write_run(path, keyframe_every=4)
    docs = [json.loads(line) for line in raw_lines(path)[1:]]
    obs = [d for d in docs if d["k"] == "observation"]
    assert ["v" in d for d in obs] == [i % 4 == 0 for i in range(len(obs))]
    full = [len(json.dumps(d["v"])) for d in obs if "v" in d]
    deltas = [len(json.dumps(d["d"])) for d in obs if "d" in d]
    assert max(deltas) < max(full) and sum(deltas) / len(deltas) < sum(full) / len(full)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_every_record_is_on_disk_before_the_writer_returns(tmp_path, suffix):
    path = tmp_path / f"live{suffix}"
    items = merged("C")
    w = RecordingWriter(path, new_header("research_oom"))
    try:
        for n, item in enumerate(items[:12], start=1):
            w.observation(item) if isinstance(item, Observation) else w.event(item)
            rec = read_recording(path)  # another process would see the same bytes
            assert len(rec.records) == n and rec.skipped == ()
    finally:
        w.close()
    assert read_recording(path).warnings == ()


def test_secrets_never_reach_the_file(tmp_path):
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJlLXBhcnQ"
    pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
    secrets = ["hunter2", "s3cr3t-t0k3n", jwt, "b3BlbnNzaC1rZXktdjEAAAAA", "pa55w0rd", "AKIAsecretvalue"]
    obs = next(i for i in merged("C") if isinstance(i, Observation) and i.service is not None and i.tasks)
    svc = obs.service
    spec = replace(svc.spec, labels={**svc.spec.labels, "coop-cloud.app.SMTP_PASSWORD": "hunter2",
                                     "traefik.http.middlewares.auth.basicauth.users": "admin:pa55w0rd",
                                     "api-token": "s3cr3t-t0k3n", "innocent": jwt},
                   healthcheck=("CMD-SHELL", "curl -H 'Authorization: Bearer s3cr3t-t0k3n' localhost"))
    task = replace(obs.tasks[0], err=f"starting container failed: AWS_SECRET_ACCESS_KEY=AKIAsecretvalue {pem}")
    obs = replace(obs, service=replace(svc, spec=spec), tasks=(task,))
    ev = Event(at=obs.at, type="container", action="die", attributes={"DB_PASS": "hunter2", "exitCode": "1"})
    for suffix in SUFFIXES:
        path = tmp_path / f"s{suffix}"
        header = new_header("research_oom", host="ssh://ops:hunter2@ci.example", notes=("API_KEY=s3cr3t-t0k3n",))
        with RecordingWriter(path, header, keyframe_every=1) as w:
            w.observation(obs)
            w.observation(replace(obs, at=obs.at + timedelta(seconds=1)))
            w.event(ev)
            w.note(f"operator pasted TOKEN={jwt} by mistake")
            w.recipe(__import__("ccci_tui.domain.model", fromlist=["RecipeState"]).RecipeState(
                path="/r", head_sha="a" * 40, head_subject="fix: rotate SECRET_KEY=hunter2"))
        data = b"\n".join(raw_lines(path))
        for secret in secrets:
            assert secret.encode() not in data, (suffix, secret)
        assert b"<redacted>" in data
        rec = read_recording(path)
        labels = rec.observations()[0].service.spec.labels
        assert labels["coop-cloud.app.SMTP_PASSWORD"] == "<redacted>" and labels["innocent"] == "<redacted>"


# ---- damaged and foreign files --------------------------------------------------------------


def make(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


HEADER = json.dumps({"format": "ccci-recording", "version": 1, "tool_version": "0", "created": "2026-01-01T00:00:00Z",
                     "host": None, "stack": "s"}).encode()


@pytest.mark.parametrize("name,data,message", [
    ("empty.jsonl", b"", "empty file"),
    ("blank.jsonl.gz", gzip.compress(b"", mtime=0), "empty file"),
    ("text.jsonl", b"hello world\n", "line 1: not JSON"),
    ("array.jsonl", b"[1, 2]\n", "format 'list' is not 'ccci-recording'"),
    ("other.jsonl", b'{"format": "asciicast", "version": 2}\n', "format 'asciicast' is not 'ccci-recording'"),
    ("future.jsonl", HEADER.replace(b'"version": 1', b'"version": 2') + b"\n", "version 2 is not supported"),
    ("nostack.jsonl", HEADER.replace(b', "stack": "s"', b"") + b"\n", "bad header: Header: field 'stack' is missing"),
    ("badgzip.jsonl.gz", b"\x1f\x8b\x08\x00garbage-not-deflate", "corrupt gzip data"),
], ids=lambda value: value if isinstance(value, str) and value.endswith((".jsonl", ".gz")) else "")
def test_unreadable_files_raise_one_clear_error_naming_the_file(tmp_path, name, data, message):
    path = make(tmp_path / name, data)
    with pytest.raises(RecordingError, match=message) as err:
        read_recording(path)
    assert str(path) in str(err.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(RecordingError, match="cannot read"):
        read_recording(tmp_path / "nope.jsonl")
    with pytest.raises(RecordingError, match="cannot read"):
        read_recording(tmp_path)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_truncated_last_line_replays_every_complete_record(tmp_path, suffix):
    full = tmp_path / f"full{suffix}"
    write_run(full)
    lines = raw_lines(full)
    cut = b"\n".join(lines[:20]) + b"\n" + lines[20][: len(lines[20]) // 2]
    path = make(tmp_path / f"cut{suffix}", gzip.compress(cut) if suffix.endswith(".gz") else cut)
    rec = read_recording(path)
    assert len(rec.records) == 19
    assert rec.skipped == ((21, "truncated: the file ends in the middle of this record"),)
    assert "line 21 (truncated" in describe_problems(rec)


def test_gzip_cut_anywhere_never_raises_and_keeps_a_prefix(tmp_path):
    full = tmp_path / "full.jsonl.gz"
    write_run(full)
    data = full.read_bytes()
    whole = sorted(read_recording(full).records, key=lambda r: r.line)
    for cut in range(10, len(data), max(1, len(data) // 80)):
        path = make(tmp_path / "cut.jsonl.gz", data[:cut])
        if b"\n" not in zlib.decompressobj(31).decompress(data[:cut]):
            with pytest.raises(RecordingError, match="empty file|line 1: not JSON"):
                read_recording(path)  # not even the header survived: an error, not a traceback
            continue
        rec = read_recording(path)
        got = sorted(rec.records, key=lambda r: r.line)
        assert [r.value for r in got] == [r.value for r in whole[: len(got)]]
        assert cut == len(data) or rec.warnings  # the missing gzip end is always reported
        assert len(rec.skipped) <= 1


def test_corrupt_gzip_in_the_middle_keeps_what_came_before(tmp_path):
    full = tmp_path / "full.jsonl.gz"
    write_run(full)
    data = bytearray(full.read_bytes())
    mid = len(data) // 2
    data[mid: mid + 40] = b"\xff" * 40
    rec = read_recording(make(tmp_path / "bad.jsonl.gz", bytes(data)))
    assert 0 < len(rec.records) < len(read_recording(full).records)
    assert rec.skipped and "corrupt gzip data" in rec.skipped[-1][1]


def test_a_bad_line_in_the_middle_costs_the_deltas_until_the_next_keyframe(tmp_path):
    full = tmp_path / "full.jsonl"
    write_run(full, keyframe_every=4)
    lines = raw_lines(full)
    docs = [json.loads(x) for x in lines]
    obs_lines = [i for i, d in enumerate(docs) if d.get("k") == "observation"]
    broken = obs_lines[5]  # a delta: keyframes are observations 0, 4, 8, ...
    lines[broken] = b'{"t": "2026-11-27T18:27:20Z", "k": "observa'
    rec = read_recording(make(tmp_path / "bad.jsonl", b"\n".join(lines) + b"\n"))
    skipped = dict(rec.skipped)
    assert skipped[broken + 1].startswith("not JSON")
    # observations 6 and 7 were deltas on top of the lost one; 8 is a keyframe again
    for k in (6, 7):
        assert "no readable keyframe" in skipped[obs_lines[k] + 1]
    assert obs_lines[8] + 1 not in skipped
    good = {r.line: r.value for r in read_recording(full).records}
    for r in rec.records:
        assert r.value == good[r.line]


def test_unknown_kinds_and_bad_records_are_skipped_with_their_line(tmp_path):
    body = [HEADER, b'{"t": "2026-01-01T00:00:01Z", "k": "note", "v": "ok"}',
            b'{"t": "2026-01-01T00:00:02Z", "k": "x"}', b'{"k": "note", "v": "no time"}', b"[]",
            b'{"t": "2026-01-01T00:00:03Z", "k": "event", "v": {"type": 1}}',
            b"", b'{"t": "2026-01-01T00:00:04Z", "k": "note", "v": "still read"}']
    rec = read_recording(make(tmp_path / "mixed.jsonl", b"\n".join(body) + b"\n"))
    assert [r.value for r in rec.records] == ["ok", "still read"]
    assert [n for n, _ in rec.skipped] == [3, 4, 5, 6]
    assert "unknown record kind 'x'" in rec.skipped[0][1] and "no time" in rec.skipped[1][1]


def test_padded_doubled_or_escaped_lines_are_judged_as_json_loads_judges_them(tmp_path):
    body = [HEADER, b'{"t": "2026-01-01T00:00:01Z", "k": "note", "v": "padded"}  \r',
            b'  {"t": "2026-01-01T00:00:02Z", "k": "note", "v": "indented"}',
            b'{"t": "2026-01-01T00:00:03Z", "k": "note", "v": "two"} {"t": "x"}',
            b'{"t": "2026-01-01T00:00:04Z", "k": "note", "v": "caf\xc3\xa9 \\u2603"}',
            b'{"t": "2026-01-01T00:00:05Z", "k"']
    rec = read_recording(make(tmp_path / "edges.jsonl", b"\n".join(body) + b"\n"))
    assert [r.value for r in rec.records] == ["padded", "indented", "café ☃"]
    assert rec.skipped == ((4, "not JSON (Extra data)"), (6, "not JSON (Expecting ':' delimiter)"))


def test_reading_leaves_the_garbage_collector_as_it_found_it(tmp_path):
    path = demo_path()
    was = gc.isenabled()
    try:
        gc.enable()
        rec = read_recording(path)
        assert gc.isenabled()
        oldest = {id(o) for o in gc.get_objects(generation=2)}
        assert all(id(r) in oldest for r in rec.records)  # not left for a young collection to walk
        gc.disable()
        read_recording(path)
        assert not gc.isenabled()
        with pytest.raises(RecordingError):
            read_recording(make(tmp_path / "bad.jsonl", b"not json\n"))
        gc.enable()
        with pytest.raises(RecordingError):
            read_recording(make(tmp_path / "bad.jsonl", b"not json\n"))
        assert gc.isenabled()
        gc.freeze()  # objects someone froze on purpose stay frozen
        frozen = gc.get_freeze_count()
        read_recording(path)
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
        (gc.enable if was else gc.disable)()


def test_repeated_text_is_held_once(tmp_path):
    path = tmp_path / "r.jsonl"
    write_run(path)
    events = [e for e in read_recording(path).events() if e.container_id]
    first = events[0]
    again = [e for e in events[1:] if e.container_id == first.container_id]
    assert again, "the run has several events of one container"
    for e in again:  # each record's JSON gave its own strings; the reader keeps one of each
        assert e.container_id is first.container_id and e.service is first.service
        assert all(k1 is k2 for k1 in first.attributes for k2 in e.attributes if k1 == k2)
        assert all(e.attributes[k] is v for k, v in first.attributes.items() if e.attributes.get(k) == v)


def test_header_only_recording_is_valid_and_empty(tmp_path):
    rec = read_recording(make(tmp_path / "h.jsonl", HEADER + b"\n"))
    assert rec.records == () and rec.start is None and rec.observation_at(T0) is None


# ---- the command line on damaged files ----------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"not json\n", b'{"format": "x"}\n', b"\x1f\x8b\x08\x00junk"])
@pytest.mark.parametrize("command", [["diagnose"], ["compare"]])
def test_cli_says_one_line_and_exits_2_on_unreadable_recordings(tmp_path, capsys, data, command):
    path = make(tmp_path / "bad.jsonl.gz", data)
    assert main([*command, "--recording", str(path), "--format", "json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and str(path) in err and "Traceback" not in err


def test_cli_warns_about_skipped_lines_and_still_diagnoses(tmp_path, capsys):
    full = tmp_path / "full.jsonl"
    write_run(full)
    data = full.read_bytes()
    path = make(tmp_path / "cut.jsonl", data[: len(data) - 30])
    code = main(["diagnose", "--recording", str(path), "--format", "json"])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2, 3) and json.loads(out)["verdict"]["kind"]
    assert len(err.strip().splitlines()) == 1 and "warning" in err and "truncated" in err


def test_the_bundled_demo_reads_cleanly():
    rec = read_recording(demo_path())
    assert rec.skipped == () and rec.warnings == ()
    assert rec.header.host is None and rec.header.stack == "discourse_example_org"
    assert rec.recipe_at().head_subject == "chore: upgrade to 0.9.0+3.5.0"
