"""`ccci-tui preflight STACK`: read the head's compose policy and the swarm as it runs now (nothing is changed)
and weigh whether the head can roll out with the order (domain/preflight.py)."""

from __future__ import annotations

import argparse
import json
import sys

from ccci_tui.sources.errors import SwarmError
from ccci_tui.sources.preflight import read_preflight
from ccci_tui.sources.target import UsageError, compose_chain, manager_source, resolve_target


def run_preflight(args: argparse.Namespace) -> int:
    """Exit 0 when nothing is at risk, 1 when something is, 2 on bad input."""
    from ccci_tui.domain.compose_syntax import ComposeError
    from ccci_tui.sources.abra import AbraError, read_app_env
    from ccci_tui.sources.recipe import RecipeError

    target = resolve_target(args.stack, "app", args.recipe)
    try:
        app_env = read_app_env(args.env_file) if args.env_file else target.app_env
    except AbraError as exc:
        raise UsageError(str(exc)) from exc
    if target.recipe_path is None:
        raise UsageError("preflight needs the recipe: pass --recipe PATH (no app env names one)")
    source = manager_source(args)
    try:
        source.services(args.stack)  # a stack that is not there: one line, exit 2
        report = read_preflight(source, args.stack, target.recipe_path, compose_chain(app_env, args.compose_file),
                                dict(app_env.env) if app_env else None, args.head, args.order)
    except (RecipeError, ComposeError, SwarmError) as exc:
        raise UsageError(str(exc)) from exc
    if args.format == "json":
        doc = {"schema": "ccci-tui/preflight", "version": 1, **report.to_dict()}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif args.format == "markdown":
        sys.stdout.write(report.to_markdown())
    else:
        sys.stdout.write(report.to_text())
    return report.exit_code
