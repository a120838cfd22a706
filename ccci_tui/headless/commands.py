"""The headless commands: diagnose, mark, wait and compare."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ccci_tui.domain.diagnose import diagnose
from ccci_tui.domain.model import Observation, ServiceState
from ccci_tui.domain.times import parse_engine_time
from ccci_tui.domain.verdict import Expectation, anchored, anchored_to
from ccci_tui.headless.render import emit, emit_comparison, tasks_json
from ccci_tui.sources.errors import SwarmError
from ccci_tui.sources.swarm import SwarmSource
from ccci_tui.sources.target import (
    Target,
    UsageError,
    app_env_for,
    check_stack,
    compose_chain,
    manager_source,
    resolve_target,
    upgrade_sides,
)


def _context(target: Target, source: SwarmSource) -> dict[str, Any]:
    return {
        "source": source.label,
        "stack": target.stack,
        "service": target.service,
        "recipe": str(target.recipe_path) if target.recipe_path else None,
        "expected_head": target.expect.head or (target.recipe.head_sha if target.recipe else None),
    }


def run_diagnose(args: argparse.Namespace) -> int:
    """`ccci-tui diagnose STACK`: one verdict from what survives on the service now."""
    if getattr(args, "recording", None):
        from ccci_tui.headless.record import run_diagnose_recording

        return run_diagnose_recording(args)
    if not args.stack:
        raise UsageError("diagnose needs STACK (or --recording FILE)")
    if getattr(args, "at", None) or getattr(args, "no_timeline", False):
        raise UsageError("--at and --no-timeline need --recording FILE")
    args.service = args.service or "app"
    target = resolve_target(args.stack, args.service, args.recipe, args.expect_head)
    source = manager_source(args)
    try:
        check_stack(source, args.stack, args.service)
        obs = source.observe(args.stack, args.service)
    except SwarmError as exc:
        raise UsageError(str(exc)) from exc
    verdict = diagnose(obs, target.recipe, target.expect)
    context = _context(target, source)
    if args.format == "json":
        context["tasks"] = tasks_json(obs)
    emit(verdict, args.format, context, target.notes)
    return verdict.exit_code


def _marker(obs: Observation) -> dict[str, Any]:
    marker = anchored_to(Expectation(), obs)
    started = marker.marker_started_at
    return {"index": marker.marker_index, "started_at": started.isoformat() if started else None,
            "state": marker.marker_state or None}


def run_mark(args: argparse.Namespace) -> int:
    """`ccci-tui mark STACK`: print the deploy marker (Version.Index) a later `wait` starts from."""
    source = manager_source(args)
    try:
        obs = source.observe(args.stack, args.service)
    except SwarmError as exc:
        raise UsageError(str(exc)) from exc
    marker = _marker(obs)
    if args.format == "json":
        print(json.dumps({"stack": args.stack, "service": args.service, **marker}))
    else:
        print(marker["index"])
    return 0


def run_wait(args: argparse.Namespace) -> int:
    """`ccci-tui wait STACK [-- DEPLOY...]`: take the marker, deploy, watch until a terminal verdict."""
    if args.deploy and args.since_index is not None:
        raise UsageError("give either a deploy command after -- or --since-index, not both")
    if not args.deploy and args.since_index is None:
        raise UsageError("wait needs a deploy command after -- (or --since-index N from `ccci-tui mark`)")
    target = resolve_target(args.stack, args.service, args.recipe, args.expect_head)
    source = manager_source(args)
    if args.deploy:
        try:
            before = source.observe(args.stack, args.service)
        except SwarmError as exc:
            raise UsageError(str(exc)) from exc
        try:  # its output goes to stderr: stdout carries only the verdict (JSON stays parseable)
            proc = subprocess.run(args.deploy, stdout=_stderr_fd(), check=False)
        except OSError as exc:
            raise UsageError(f"cannot run the deploy command {args.deploy[0]!r}: {exc.strerror}") from exc
        if proc.returncode != 0:
            raise UsageError(f"the deploy command exited with {proc.returncode}: {' '.join(args.deploy)}")
        if target.recipe_path is not None:  # a deploy often checks out the head first: read the recipe as it is now
            target = resolve_target(args.stack, args.service, args.recipe, args.expect_head)
        expect = anchored_to(target.expect, before)
    else:
        expect = anchored(target.expect, args.since_index, parse_engine_time(args.since_started_at), None)
    from ccci_tui.sources.watch import WatchTimeout, watch_until_terminal  # deferred: only `wait` watches

    writer = None
    if args.record:  # the recording of exactly what this gate watches, from its marker on
        from ccci_tui.headless.record import open_writer

        writer = open_writer(args.record, args, target, source, expect)
    try:
        verdict = watch_until_terminal(source, target, expect, args.timeout, on_error=_warn, writer=writer)
    except WatchTimeout as exc:
        raise UsageError(str(exc)) from exc
    finally:
        if writer is not None:
            writer.note("recording stopped: the gate ended")
            writer.close()
    emit(verdict, args.format, {**_context(target, source), "marker_index": expect.marker_index}, target.notes)
    return verdict.exit_code


def _warn(message: str) -> None:
    print(f"ccci-tui: {message}; retrying", file=sys.stderr)


def _stderr_fd() -> int:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stream (tests) has no descriptor
        return 2


def _running(stack: str) -> ServiceState | None:
    """The stack's app service as the daemon shows it now (its stamp names the default base), if reachable."""
    try:
        return SwarmSource(timeout=5.0).observe(stack, "app").service
    except SwarmError:
        return None


def run_compare(args: argparse.Namespace) -> int:
    """`ccci-tui compare --recipe PATH BASE HEAD`: effective update policy and risks, base vs head."""
    if getattr(args, "recording", None):
        if args.base or args.head or args.recipe:
            raise UsageError("compare --recording FILE takes no BASE, HEAD or --recipe: the recording has them")
        from ccci_tui.headless.record import run_compare_recording

        return run_compare_recording(args)
    if not args.recipe:
        raise UsageError("compare needs --recipe PATH [BASE [HEAD]] (or --recording FILE)")
    from ccci_tui.domain.compose_syntax import ComposeError
    from ccci_tui.sources.abra import AbraError, read_app_env
    from ccci_tui.sources.recipe import RecipeError

    try:  # the app env: the one given, else abra's for the stack (its COMPOSE_FILE and version)
        app_env = read_app_env(args.env_file) if args.env_file else app_env_for(args.stack)
    except AbraError as exc:
        raise UsageError(str(exc)) from exc
    chain = compose_chain(app_env, args.compose_file)
    service = None if args.base else _running(args.stack)
    try:
        sides, note = upgrade_sides(Path(args.recipe), args.stack, chain, dict(app_env.env) if app_env else None,
                                    args.base, args.head, service, app_env.version if app_env else None)
    except (RecipeError, ComposeError) as exc:
        raise UsageError(str(exc)) from exc
    if note:
        raise UsageError(f"{note}; pass BASE")
    base, head = sides
    if not args.base:
        print(f"ccci-tui compare: base {base.ref} (the default for {args.stack}), head {head.ref}, "
              f"files {':'.join(chain)}", file=sys.stderr)
    emit_comparison(base, head, args.format)
    return 0


def run_preflight(args: argparse.Namespace) -> int:
    """`ccci-tui preflight STACK` (headless/preflight.py)."""
    from ccci_tui.headless.preflight import run_preflight as check

    return check(args)


def run_record(args: argparse.Namespace) -> int:
    """`ccci-tui record STACK -o FILE` (headless/record.py)."""
    from ccci_tui.headless.record import run_record as record

    return record(args)
