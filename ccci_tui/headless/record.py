"""`ccci-tui record`: watch a stack and write a recording; `diagnose` and `compare` on a recording."""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import FrameType

from ccci_tui.domain.model import ACTIVE_STATES
from ccci_tui.domain.replay import Recording
from ccci_tui.domain.verdict import Expectation, anchored_to
from ccci_tui.sources.errors import SwarmError
from ccci_tui.sources.recording import (
    RecordingError,
    RecordingWriter,
    describe_problems,
    header_for,
    read_recording,
)
from ccci_tui.sources.recording_track import HEARTBEAT_S, KEYFRAME_EVERY
from ccci_tui.sources.swarm import SwarmSource
from ccci_tui.sources.target import Target, UsageError, check_stack, compose_chain, manager_source, resolve_target
from ccci_tui.sources.watch import RECIPE_INTERVAL_S, ServiceWatch

# ---- the record command ----------------------------------------------------------------------------


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends a recording like Ctrl-C does (only the main thread may set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _host(args: argparse.Namespace) -> str | None:
    if getattr(args, "no_host", False):
        return None
    return getattr(args, "host", None) or socket.gethostname()


def open_writer(path: str, args: argparse.Namespace, target: Target, source: SwarmSource,
                expect: Expectation) -> RecordingWriter:
    """A new recording of `target` at `path`; its verdicts start from `expect`'s marker, if any."""
    header = header_for(target, source.label, _host(args), expect)
    try:
        return RecordingWriter(path, header, keyframe_every=getattr(args, "keyframe_every", KEYFRAME_EVERY),
                               heartbeat_s=getattr(args, "heartbeat", HEARTBEAT_S))
    except RecordingError as exc:
        raise UsageError(str(exc)) from exc


def open_recorder(args: argparse.Namespace, target: Target, source: SwarmSource,
                  expect: Expectation) -> tuple[ServiceWatch, RecordingWriter]:
    """The writer (header from the target) and a started watch that writes to it."""
    writer = open_writer(args.output, args, target, source, expect)
    recorder = ServiceWatch(
        source, target.stack, target.service, recipe=target.recipe, expect=expect, writer=writer,
        recipe_path=target.recipe_path, recipe_interval=RECIPE_INTERVAL_S, poll_interval=args.poll,
        memory_interval=args.memory_interval or None, other_services=args.all_services,
    )
    chain = compose_chain(target.app_env, args.compose_file)
    env = dict(target.app_env.env) if target.app_env else None
    try:
        recorder.start(base_ref=args.base, chain=chain, env=env, version=target.expect.intent)
    except BaseException:
        recorder.close()
        writer.close()
        raise
    return recorder, writer


def _until_expectation(target: Target, source: SwarmSource) -> Expectation:
    """`--until-verdict`: a settled service waits for the next deploy's verdict (anchored to its state
    now); an update in progress is watched to its end."""
    try:
        first = source.observe(target.stack, target.service)
    except SwarmError as exc:
        raise UsageError(str(exc)) from exc
    st = first.service.update_status if first.service else None
    if st is not None and st.state in ACTIVE_STATES:
        return target.expect
    return anchored_to(target.expect, first)


def run_record(args: argparse.Namespace) -> int:
    """`ccci-tui record STACK -o FILE`: record until --duration passes or Ctrl-C; the file stays valid."""
    target = resolve_target(args.stack, args.service, args.recipe, args.expect_head)
    source = manager_source(args)
    try:
        check_stack(source, args.stack, args.service)
    except SwarmError as exc:
        raise UsageError(str(exc)) from exc
    expect = _until_expectation(target, source) if args.until_verdict else target.expect
    recorder, writer = open_recorder(args, target, source, expect)
    reason = f"--duration {args.duration:g} s reached" if args.duration is not None else "stopped"
    deadline = time.monotonic() + args.duration if args.duration is not None else None
    until = f"for {args.duration:g} s" if deadline is not None else "until Ctrl-C"
    if args.until_verdict:
        until = f"until a terminal verdict ({until})" if deadline is not None else "until a terminal verdict"
    print(f"ccci-tui record: recording {args.stack}_{args.service} to {args.output} {until}", file=sys.stderr)
    try:
        for text in args.note or ():
            recorder.note(text)
        with _sigterm_as_interrupt():
            while deadline is None or time.monotonic() < deadline:
                left = 0.1 if deadline is None else max(0.0, min(0.1, deadline - time.monotonic()))
                if args.until_verdict and recorder.terminal.wait(left):
                    verdict = recorder.verdict
                    reason = f"terminal verdict {verdict.kind if verdict else '?'}"
                    break
                if not args.until_verdict:
                    time.sleep(left)
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C must not cost the file its end
            recorder.close(reason)
        writer.close()
        source.close()
    counts = ", ".join(f"{n} {k}" for k, n in sorted(writer.counts.items()))
    print(f"ccci-tui record: {reason}; wrote {writer.lines} lines ({counts}) to {args.output}", file=sys.stderr)
    return 0


# ---- diagnose and compare on a recording -----------------------------------------------------------


def load(path: str, command: str) -> Recording:
    """Read a recording for a command: UsageError when unreadable, one warning line for skipped lines."""
    try:
        recording = read_recording(path)
    except RecordingError as exc:
        raise UsageError(str(exc)) from exc
    problems = describe_problems(recording)
    if problems:
        print(f"ccci-tui {command}: warning: {path}: {problems}", file=sys.stderr)
    return recording


def parse_at(value: str | None, recording: Recording) -> datetime | None:
    """`--at`: an RFC 3339 time, or `+S` seconds after the recording's start."""
    if value is None:
        return None
    start = recording.start
    if value.startswith("+"):
        if start is None:
            raise UsageError("--at +S needs a recording with records")
        try:
            return start + timedelta(seconds=float(value[1:]))
        except ValueError as exc:
            raise UsageError(f"--at {value!r}: expected +SECONDS or an RFC 3339 time") from exc
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"--at {value!r}: expected +SECONDS or an RFC 3339 time") from exc
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _expect_override(ref: str, recording: Recording, at: datetime | None) -> Expectation:
    """`--expect-head` against a recording: a hex prefix, or a tag the recorded recipe knows."""
    import re

    from ccci_tui.sources.replay_source import first_recipe

    base = Expectation(intent=recording.header.intent, head_ref=ref)
    if re.fullmatch(r"[0-9a-fA-F]{7,40}", ref):
        return Expectation(**{**base.__dict__, "head": ref.lower()})
    recipe = recording.recipe_at(at) or first_recipe(recording)
    tag = next((t for t in recipe.tags if t.name == ref), None) if recipe else None
    if tag is None:
        raise UsageError(f"--expect-head {ref!r} is neither a commit hash nor a tag of the recorded recipe")
    return Expectation(**{**base.__dict__, "head": tag.sha})


def run_diagnose_recording(args: argparse.Namespace) -> int:
    """`ccci-tui diagnose --recording FILE`: the verdict at the end (or --at) of a recording."""
    from ccci_tui.headless.render import emit
    from ccci_tui.sources.replay_source import diagnose_recording

    if args.recipe:
        raise UsageError("--recipe does not apply to --recording FILE: the recording holds the recipe's state")
    recording = load(args.recording, "diagnose")
    header = recording.header
    if args.stack and args.stack != header.stack:
        raise UsageError(f"{args.recording} recorded stack {header.stack!r}, not {args.stack!r}")
    service = args.service or header.service
    at = parse_at(args.at, recording)
    expect = _expect_override(args.expect_head, recording, at) if args.expect_head else None
    try:
        result = diagnose_recording(recording, at, service, expect, use_timeline=not args.no_timeline)
    except RecordingError as exc:
        raise UsageError(f"{args.recording}: {exc}") from exc
    recipe = result.recipe
    context = {
        "source": f"recording {args.recording}",
        "stack": header.stack,
        "service": service,
        "recipe": header.recipe_path,
        "expected_head": result.expect.head or (recipe.head_sha if recipe else None),
    }
    if args.format == "json":
        from ccci_tui.headless.render import tasks_json

        context["tasks"] = tasks_json(result.observation)
    emit(result.verdict, args.format, context, header.notes)
    return result.verdict.exit_code


def run_compare_recording(args: argparse.Namespace) -> int:
    """`ccci-tui compare --recording FILE`: the recorded base and head compose policies, compared."""
    from ccci_tui.headless.render import emit_comparison
    from ccci_tui.sources.replay_source import policies

    recording = load(args.recording, "compare")
    sides = policies(recording)
    missing = [s for s in ("base", "head") if s not in sides]
    if missing:
        raise UsageError(f"{args.recording} holds no {' and no '.join(missing)} compose policy "
                         "(recorded without a recipe, or the policy could not be read then)")
    base, head = sides["base"], sides["head"]
    heading = (f"recorded in {args.recording}: base {base.ref} ({str(base.commit)[:8]}), "
               f"head {head.ref} ({str(head.commit)[:8]})")
    emit_comparison(base, head, args.format, heading)
    return 0
