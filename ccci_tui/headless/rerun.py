"""`ccci-tui rerun STACK --order ...`: plan, confirm (typed stack name, or --yes), deploy, watch."""

from __future__ import annotations

import argparse
import sys

from ccci_tui.config import ConfigError, load_config
from ccci_tui.headless.render import emit
from ccci_tui.sources.target import UsageError, swarm_source
from ccci_tui.upgrade.plan import PlanError, UpgradePlan, locate, make_plan
from ccci_tui.upgrade.progress import DONE, FAILED, INTERRUPTED, START, StepReport
from ccci_tui.upgrade.run import RerunError, execute


def _confirm(plan: UpgradePlan) -> bool:
    """Ask on the terminal for the stack name; never reads a pipe as consent."""
    if not sys.stdin.isatty():
        raise UsageError("not confirmed: stdin is not a terminal; pass --yes to run without asking")
    answer = input(f"Type the stack name ({plan.stack}) to run these steps, anything else to cancel: ")
    return answer.strip() == plan.stack


def _progress(r: StepReport) -> None:
    mark = {START: "…", DONE: "✓", FAILED: "✗", INTERRUPTED: "✗"}.get(r.status, "·")
    tail = f": {r.detail}" if r.detail and r.status != START else ""
    print(f"  {mark} {r.index}. {r.step.text}{tail}", file=sys.stderr)


def run_rerun(args: argparse.Namespace) -> int:
    """Re-run the upgrade of a stack with the chosen update order."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    try:
        app_env, recipe = locate(args.stack, args.recipe, use_app_env=not args.env_file)
    except PlanError as exc:
        raise UsageError(str(exc)) from exc
    source = swarm_source(args, config)
    try:
        plan = make_plan(args.stack, args.order, recipe, source, config, base=args.base, head=args.head,
                         env_file=args.env_file, app_env=app_env, backend=args.backend,
                         head_only=args.head_only, service=args.service, timeout=args.timeout)
    except PlanError as exc:
        raise UsageError(f"{exc}; nothing was deployed") from exc
    if args.dry_run:
        print(plan.render())
        return 0
    print(plan.render(), file=sys.stderr)
    if not args.yes and not _confirm(plan):
        print("cancelled: nothing was deployed", file=sys.stderr)
        return 2
    try:
        verdict = execute(plan, source, timeout=args.timeout, on_step=_progress)
    except RerunError as exc:
        raise UsageError(str(exc)) from exc
    context = {"source": source.label, "stack": plan.stack, "service": plan.service, "order": plan.order,
               "expected_head": plan.head_sha}
    emit(verdict, args.format, context)
    return verdict.exit_code
