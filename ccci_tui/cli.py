"""Command line entry point `ccci-tui`: the TUI by default, headless subcommands for CI and scripts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ccci_tui import __version__
from ccci_tui.args import node_args

EXIT_USAGE = 2  # exit codes: 0 fine, 1 drift, 2 usage or connection error, 3 still in progress
FORMATS = ("text", "json", "markdown")


def _target_args(p: argparse.ArgumentParser, stack_optional: bool = False) -> None:
    if stack_optional:  # with --recording the stack comes from the recording
        p.add_argument("stack", metavar="STACK", nargs="?", help="the stack name (abra derives it from the app domain)")
        p.add_argument("--service", help="service within the stack (default: app, or the recording's)")
    else:
        p.add_argument("stack", metavar="STACK", help="the stack name (abra derives it from the app domain)")
        p.add_argument("--service", default="app", help="service within the stack (default: app)")
    p.add_argument("--recipe", metavar="PATH", help="recipe checkout (default: found through abra's layout)")
    p.add_argument("--expect-head", metavar="REF", help="the commit the deploy should run (default: recipe HEAD)")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    node_args(p)


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="ccci-tui",
        description="Diagnose drift in Co-op Cloud recipe upgrades on Docker Swarm. "
        "Exit codes: 0 fine, 1 drift, 2 usage or connection error, 3 still in progress.",
    )
    parser.add_argument("--version", action="version", version=f"ccci-tui {__version__}")
    parser.add_argument("--demo", action="store_true", help="open the bundled recording of the incident")
    from ccci_tui.tui.run import add_replay_parser, add_tui_arguments  # no Textual: parser pieces only

    add_tui_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_replay_parser(sub)

    p = sub.add_parser("diagnose", help="one verdict for a stack's service, from what is on the swarm now")
    _target_args(p, stack_optional=True)
    p.add_argument("--recording", metavar="FILE", help="diagnose a recording (.jsonl[.gz]) instead of the swarm")
    p.add_argument("--at", metavar="TIME", help="with --recording: the moment to diagnose (RFC 3339, or +S from "
                   "the start; default: the end)")
    p.add_argument("--no-timeline", action="store_true", help="with --recording: read only the observation at "
                   "that moment, as a one-shot live diagnose does")

    p = sub.add_parser("mark", help="print the deploy marker (Version.Index) for a later `wait --since-index`")
    node_args(p)
    p.add_argument("stack", metavar="STACK")
    p.add_argument("--service", default="app")
    p.add_argument("--format", choices=("text", "json"), default="text")

    p = sub.add_parser(
        "wait",
        help="race-free convergence gate: mark, run the deploy, watch until a verdict",
        usage="ccci-tui wait STACK [options] -- DEPLOY-COMMAND...",
        description="Take the deploy marker, run DEPLOY-COMMAND, then watch the service until a terminal "
        "verdict and exit with its code. Never accepts a status older than the marker.",
    )
    _target_args(p)
    p.add_argument("--timeout", type=float, default=300.0, metavar="S", help="give up after S seconds (exit 3)")
    p.add_argument("--since-index", type=int, metavar="N", help="marker from `ccci-tui mark` (two-step use)")
    p.add_argument("--since-started-at", metavar="TIME", help="UpdateStatus.StartedAt from `mark --format json`")
    p.add_argument("--record", metavar="FILE", help="also write a recording of exactly what the gate watches "
                   "(.jsonl or .jsonl.gz), for a reviewer to replay")
    p.add_argument("--host", metavar="NAME", help="with --record: host name for the header (default: this machine's)")
    p.add_argument("--no-host", action="store_true", help="with --record: leave the host name out")
    p.set_defaults(deploy=[])

    p = sub.add_parser("compare", help="base vs head effective update policy and risks, overlays merged")
    p.add_argument("base", metavar="BASE", nargs="?", help="base ref, a tag such as 0.7.0+3.3.1 (default: the tag the "
                   "stack's stamp names, else its app env's version, else the newest tag before HEAD)")
    p.add_argument("head", metavar="HEAD", nargs="?", help="head ref (default: HEAD)")
    p.add_argument("--recipe", metavar="PATH", help="recipe checkout (read only; required unless --recording)")
    p.add_argument("--recording", metavar="FILE", help="compare the base and head policies a recording holds")
    p.add_argument("--compose-file", metavar="CHAIN", help="COMPOSE_FILE chain, e.g. compose.yml:compose.x.yml")
    p.add_argument("--env-file", metavar="F", help="app env file for interpolation and its COMPOSE_FILE (default: "
                   "abra's app env for --stack)")
    p.add_argument("--stack", default="STACK", help="the stack: STACK_NAME for interpolation, its app env and its "
                   "running stamp (default: STACK)")
    p.add_argument("--format", choices=FORMATS, default="text")

    p = sub.add_parser(
        "preflight", help="before an upgrade: can the head roll out with this order? (read-only; exit 1 at risk)",
        description="Weigh, per service and node, the old tasks' memory (current and peak), the head's memory "
        "limits and reservations from its compose chain, each node's memory and what its other tasks reserve "
        "and use, and the policy risks that make an update fail. Reads only; exit 0 when nothing is at risk, "
        "1 when something is.",
    )
    p.add_argument("stack", metavar="STACK")
    p.add_argument("--recipe", metavar="PATH", help="recipe checkout (default: found through abra's layout)")
    p.add_argument("--head", metavar="REF", help="the head to roll out (default: the recipe HEAD)")
    p.add_argument("--order", choices=("stop-first", "start-first"),
                   help="the update order to weigh (default: each service's own, from the head)")
    p.add_argument("--compose-file", metavar="CHAIN", help="COMPOSE_FILE chain (default: the app env's)")
    p.add_argument("--env-file", metavar="F", help="the app env file (default: found through abra's layout)")
    p.add_argument("--format", choices=FORMATS, default="text")
    node_args(p)

    p = sub.add_parser(
        "record", help="record a stack's service (observations, events, verdicts) to a file, headless",
        description="Watch STACK's service and write a recording (JSON Lines; .jsonl.gz for gzip) until "
        "--duration passes or Ctrl-C. Secrets are redacted before anything is written; every record is "
        "flushed at once, so an interrupted recording still replays.",
    )
    p.add_argument("stack", metavar="STACK")
    node_args(p)
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="the recording to write (.jsonl or .jsonl.gz)")
    p.add_argument("--service", default="app", help="the service to diagnose (default: app)")
    p.add_argument("--recipe", metavar="PATH", help="recipe checkout (default: found through abra's layout)")
    p.add_argument("--expect-head", metavar="REF", help="the commit the deploy should run (default: recipe HEAD)")
    p.add_argument("--base", metavar="REF", help="base ref for the recorded compose policy (default: newest tag)")
    p.add_argument("--compose-file", metavar="CHAIN", help="COMPOSE_FILE chain for the recorded compose policy")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: at Ctrl-C)")
    p.add_argument("--until-verdict", action="store_true",
                   help="stop at the first terminal verdict: of the update in progress, or else of the next deploy")
    p.add_argument("--poll", type=float, default=1.0, metavar="S", help="read at least every S seconds (default: 1)")
    p.add_argument("--memory-interval", type=float, default=2.0, metavar="S",
                   help="sample container memory every S seconds; 0 turns it off (default: 2)")
    p.add_argument("--all-services", action="store_true", help="also record the stack's other services")
    p.add_argument("--keyframe-every", type=int, default=100, metavar="N",
                   help="a full observation every N of a service's observations, changes only in between")
    p.add_argument("--heartbeat", type=float, default=10.0, metavar="S",
                   help="write a read that changed nothing only every S seconds (default: 10; 0: every read)")
    p.add_argument("--host", metavar="NAME", help="host name for the header (default: this machine's)")
    p.add_argument("--no-host", action="store_true", help="leave the host name out of the recording")
    p.add_argument("--note", action="append", metavar="TEXT", help="add a note at the start (repeatable)")
    p = sub.add_parser(
        "rerun", help="re-run the upgrade with stop-first or start-first (changes the swarm; asks first)",
        description="Deploy the base, then the head, with the chosen update order, and watch until a verdict. "
        "The plan's exact commands are shown first; without --yes you confirm by typing the stack name.",
    )
    p.add_argument("stack", metavar="STACK")
    node_args(p)
    p.add_argument("--order", required=True, choices=("stop-first", "start-first"))
    p.add_argument("--base", metavar="REF", help="base ref (default: the tag the base stamp or app env names)")
    p.add_argument("--head", metavar="REF", help="head ref (default: the recipe HEAD)")
    p.add_argument("--recipe", metavar="PATH", help="recipe checkout (default: found through abra's layout)")
    p.add_argument("--env-file", metavar="F", help="the app env file (default: found through abra's layout)")
    p.add_argument("--backend", choices=("stack", "abra"), help="how to deploy (default: config, else stack)")
    p.add_argument("--service", default="app")
    p.add_argument("--head-only", action="store_true", help="redeploy the head over what runs now, no base deploy")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    p.add_argument("--timeout", type=float, default=300.0, metavar="S", help="per watch (default: 300)")
    p.add_argument("--config", metavar="FILE", help="config file (default: $CCCI_TUI_CONFIG or the user config)")
    p.add_argument("--format", choices=FORMATS, default="text")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    deploy: list[str] = []
    if "--" in argv:  # `wait STACK [options] -- DEPLOY-COMMAND...`: everything after -- is the command
        cut = argv.index("--")
        argv, deploy = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(argv)
    if deploy:
        if args.command != "wait":
            parser.error("only `wait` takes a command after --")
        args.deploy = deploy
    if args.command in (None, "replay"):  # no subcommand: the TUI (live, --demo), or a recording
        from ccci_tui.tui.run import run_tui

        return run_tui(args)
    # deferred: the headless path must not pay for what it does not use (bench/ measures start-up)
    from ccci_tui.headless import commands
    from ccci_tui.sources.errors import SwarmError
    from ccci_tui.sources.target import UsageError

    handler = {
        "diagnose": commands.run_diagnose,
        "mark": commands.run_mark,
        "wait": commands.run_wait,
        "compare": commands.run_compare,
        "record": commands.run_record,
        "preflight": commands.run_preflight,
        "rerun": _rerun,
    }[args.command]
    try:
        return int(handler(args))
    except (UsageError, SwarmError) as exc:
        print(f"ccci-tui {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"ccci-tui {args.command}: interrupted", file=sys.stderr)
        return 130


def _rerun(args: argparse.Namespace) -> int:
    from ccci_tui.headless.rerun import run_rerun  # deferred: only rerun needs the upgrade package

    return run_rerun(args)


if __name__ == "__main__":
    sys.exit(main())
