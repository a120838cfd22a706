"""Entry points from the command line: the TUI on the live swarm, the bundled demo, or a recording.

Importing this module costs no Textual: the CLI builds its parser from it on the headless path too.
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccci_tui.args import node_args

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
    parser.add_argument("--record", dest="tui_record", metavar="FILE",
                        help="TUI: write what the TUI watches (and any re-run's steps) to a recording "
                        "(.jsonl or .jsonl.gz); needs --stack")
    parser.add_argument("--all-contexts", dest="tui_all_contexts", action="store_true",
                        help="TUI: the picker lists the stacks of every docker context (abra's servers), read at "
                        "once; choosing one watches it on its context")
    parser.add_argument("--config", dest="tui_config", metavar="FILE",
                        help="TUI: config file (default: $CCCI_TUI_CONFIG or the user config)")
    node_args(parser, dest_prefix="tui_")


def add_replay_parser(sub: Any) -> None:
    """`ccci-tui replay FILE`."""
    p = sub.add_parser("replay", help="open the TUI on a recording (.jsonl or .jsonl.gz)",
                       description="Step through a recording: every pane shows the state at the cursor.")
    p.add_argument("file", metavar="FILE", help="the recording")


def _config(args: argparse.Namespace) -> Any:
    from ccci_tui.config import load_config

    return load_config(getattr(args, "tui_config", None))


def _recording_app(path: Path, label: str, config: Any) -> CcciApp | str:
    from ccci_tui.sources.recording import RecordingError, describe_problems, read_recording

    try:
        recording = read_recording(path)
    except RecordingError as exc:
        return str(exc)
    problems = describe_problems(recording)
    from ccci_tui.tui.app import AppOptions  # deferred: Textual (~150 ms) only once the TUI runs

    return AppOptions(recording=recording, recording_label=label, theme=config.theme,
                      notices=(f"{path.name}: {problems}",) if problems else ()).build()


def _live_app(args: argparse.Namespace, config: Any) -> CcciApp | str:
    from ccci_tui.sources.errors import SwarmError
    from ccci_tui.sources.recipe import recipe_dir_problem
    from ccci_tui.sources.target import UsageError, resolve_target, swarm_source

    stack, service = args.tui_stack, args.tui_service
    recipe, expect_head = args.tui_recipe, args.tui_expect_head
    record = getattr(args, "tui_record", None)
    if record and stack is None:
        return "--record needs --stack: a recording holds one stack's service"
    try:
        source = swarm_source(args, config)
    except (SwarmError, UsageError) as exc:
        return str(exc)
    # A path that is plainly wrong fails here, before the screen is taken over; what needs git (is it
    # a repository, does the ref exist) is read in the background, so a slow git never holds up the
    # screen, and a failure there is shown in the banner instead of a verdict.
    problem = recipe_dir_problem(recipe) if recipe else None
    if problem is not None:
        return problem

    def resolver(st: str, sv: str) -> Any:
        return resolve_target(st, sv, recipe, expect_head)

    tap = None
    if record:
        from ccci_tui.sources.recording import RecordingError
        from ccci_tui.tui.recording_tap import FeedRecorder

        try:  # the file starts once the recipe is read: its header names the recipe and the head
            tap = FeedRecorder.pending(record, stack, service)
        except RecordingError as exc:
            return str(exc)
    from ccci_tui.sources.contexts import DockerContexts
    from ccci_tui.tui.app import AppOptions
    from ccci_tui.tui.rerunner import StackRerunner

    # every docker context, for the picker (--all-contexts opens it there): --node-host names the nodes of
    # this daemon's swarm only; --nodes-ssh reaches the nodes of any
    contexts = DockerContexts(timeout=source.timeout, nodes_ssh=source.nodes_ssh, session=source)
    return AppOptions(source=source, stack=stack, service=service, resolver=resolver, write=args.write,
                      rerun=StackRerunner(source, config, recipe) if args.write else None, record=tap,
                      theme=config.theme, poll_interval=config.poll_interval, contexts=contexts,
                      all_contexts=bool(getattr(args, "tui_all_contexts", False))).build()


def _build(args: argparse.Namespace) -> CcciApp | str:
    """The app for parsed CLI arguments, or what is wrong with them."""
    from ccci_tui.config import ConfigError

    try:
        config = _config(args)
    except ConfigError as exc:
        return str(exc)
    replaying = getattr(args, "command", None) == "replay" or getattr(args, "demo", False)
    if replaying and getattr(args, "tui_record", None):
        return "--record records the live swarm, not a recording or the demo"
    if getattr(args, "command", None) == "replay":
        path = Path(args.file)
        return _recording_app(path, f"recording {path.name}", config)
    if getattr(args, "demo", False):
        from ccci_tui.sources.recording import demo_path

        return _recording_app(demo_path(), "bundled demo recording (demo.jsonl.gz)", config)
    return _live_app(args, config)


def run_tui(args: argparse.Namespace) -> int:
    """The TUI for parsed CLI arguments: `replay FILE`, `--demo`, or the live swarm."""
    # Building the app imports Textual and reads the recording: ~45,000 objects that live as long as the
    # process. Collecting while they are made finds no garbage (~20 ms of the first paint); once made they
    # are frozen, so no later collection scans them again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        app = _build(args)
        if not isinstance(app, str):
            gc.freeze()
    finally:
        if collecting:
            gc.enable()
    if isinstance(app, str):
        print(f"ccci-tui: {app}", file=sys.stderr)
        return EXIT_USAGE
    app.run()
    if app.record is not None:
        if app.record.begun:
            print(f"ccci-tui: recorded {app.record.lines} lines to {app.record.path}", file=sys.stderr)
        else:
            print(f"ccci-tui: nothing recorded to {app.record.path}: {app.record.failure}", file=sys.stderr)
    return app.return_code or 0
