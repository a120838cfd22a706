"""Entry points from the command line: the TUI on the live swarm, the bundled demo, or a recording.

Importing this module costs no Textual: the CLI builds its parser from it on the headless path too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ccci_tui.tui.app import CcciApp

EXIT_USAGE = 2


def add_tui_arguments(parser: argparse.ArgumentParser) -> None:
    """The options the TUI takes without a subcommand (distinct dests: subcommands have their own)."""
    parser.add_argument("--stack", dest="tui_stack", metavar="STACK",
                        help="TUI: the stack to watch (default: pick one)")
    parser.add_argument("--service", dest="tui_service", default="app", metavar="NAME",
                        help="TUI: the service within the stack (default: app)")
    parser.add_argument("--recipe", dest="tui_recipe", metavar="PATH",
                        help="TUI: recipe checkout (default: found through abra's layout)")
    parser.add_argument("--expect-head", dest="tui_expect_head", metavar="REF",
                        help="TUI: the commit the deploy should run (default: recipe HEAD)")
    parser.add_argument("--write", action="store_true",
                        help="TUI: allow actions that change the swarm (the re-run); read-only without it")


def add_replay_parser(sub: Any) -> None:
    """`ccci-tui replay FILE`."""
    p = sub.add_parser("replay", help="open the TUI on a recording (.jsonl or .jsonl.gz)",
                       description="Step through a recording: every pane shows the state at the cursor.")
    p.add_argument("file", metavar="FILE", help="the recording")


def _recording_app(path: Path, label: str, write: bool) -> CcciApp | str:
    from ccci_tui.sources.recording import RecordingError, describe_problems, read_recording

    try:
        recording = read_recording(path)
    except RecordingError as exc:
        return str(exc)
    problems = describe_problems(recording)
    from ccci_tui.tui.app import create_app  # deferred: Textual (~150 ms) only once the TUI runs

    return create_app(recording=recording, recording_label=label, write=write,
                      notices=(f"{path.name}: {problems}",) if problems else ())


def _live_app(args: argparse.Namespace) -> CcciApp | str:
    from ccci_tui.headless.context import UsageError, resolve_target
    from ccci_tui.sources.swarm import SwarmError, SwarmSource

    try:
        source = SwarmSource()
    except SwarmError as exc:
        return str(exc)
    stack, service = args.tui_stack, args.tui_service
    recipe, expect_head = args.tui_recipe, args.tui_expect_head
    target = None
    if stack is not None:
        try:  # bad input fails here, before the screen is taken over
            target = resolve_target(stack, service, recipe, expect_head)
        except UsageError as exc:
            return str(exc)

    def resolver(st: str, sv: str) -> Any:
        return resolve_target(st, sv, recipe, expect_head)

    rerun = None
    if args.write:
        rerun = _rerun_with(recipe, target)
    from ccci_tui.tui.app import create_app

    return create_app(source=source, stack=stack, service=service, resolver=resolver, write=args.write,
                      rerun=rerun)


def _rerun_with(recipe: str | None, target: Any) -> Any:
    """The re-run in write mode: deploy the checkout again with the chosen order (stack backend)."""

    def rerun(stack: str, service: str, order: str) -> str:
        from ccci_tui.headless.context import resolve_target
        from ccci_tui.upgrade.stack import DEFAULT_COMPOSE, deploy_recipe

        t = target if target is not None and target.stack == stack else resolve_target(stack, service, recipe)
        if t.recipe_path is None:
            raise RuntimeError(f"no recipe checkout known for {stack}: start with --recipe PATH")
        env = dict(t.app_env.env) if t.app_env is not None else {}
        chain = tuple(t.app_env.compose_files) if t.app_env is not None and t.app_env.compose_files else DEFAULT_COMPOSE
        result = deploy_recipe(t.recipe_path, stack, env=env, compose_chain=chain, service=service, order=order)
        return f"deployed {result.stamp} to {stack} with {order}; watch the timeline"

    return rerun


def run_tui(args: argparse.Namespace) -> int:
    """The TUI for parsed CLI arguments: `replay FILE`, `--demo`, or the live swarm."""
    if getattr(args, "command", None) == "replay":
        path = Path(args.file)
        app = _recording_app(path, f"recording {path.name}", write=False)
    elif getattr(args, "demo", False):
        from ccci_tui.sources.recording import demo_path

        app = _recording_app(demo_path(), "bundled demo recording (demo.jsonl.gz)", write=False)
    else:
        app = _live_app(args)
    if isinstance(app, str):
        print(f"ccci-tui: {app}", file=sys.stderr)
        return EXIT_USAGE
    app.run()
    return app.return_code or 0
