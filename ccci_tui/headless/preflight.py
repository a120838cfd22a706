"""`ccci-tui preflight STACK`: read the head's compose policy and the swarm as it runs now (nothing is changed)
and weigh whether the head can roll out with the order (domain/preflight.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ccci_tui.domain.model import Observation
from ccci_tui.domain.preflight import Preflight, preflight
from ccci_tui.sources.swarm import SwarmError, SwarmSource
from ccci_tui.sources.target import UsageError, compose_chain, manager_source, resolve_target


def read_preflight(source: SwarmSource, stack: str, recipe: Path, chain: tuple[str, ...], env: dict[str, str] | None,
                   head: str | None, order: str | None) -> Preflight:
    """The facts preflight weighs, read: the head's policy, each of its services as it runs (memory sampled), and
    every node's context. Raises RecipeError or ComposeError naming the ref or file, SwarmError for the swarm."""
    from ccci_tui.sources.recipe import RecipeSource

    head_ref = head or "HEAD"
    with RecipeSource(recipe) as src:  # the head alone: a chain file it lacks is an error naming the file
        _, policy = src.policies_at({"head": head_ref}, chain, {**(env or {}), "STACK_NAME": stack})["head"]
    running = {s.name for s in source.services(stack)}
    observed: dict[str, Observation] = {}
    for name in policy.services:
        if f"{stack}_{name}" not in running:
            continue
        first = source.observe(stack, name)
        source.sample_memory(first)  # current and peak of the old tasks on this node
        observed[name] = source.observe(stack, name)
    nodes = tuple(source.node_context(n) for n in source.node_ids())
    return preflight(stack, head_ref, policy, observed, nodes, order)


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
