"""Resolve what a command looks at: the daemon, the stack, the app env, the recipe, the expected head."""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ccci_tui.domain.model import RecipeState
from ccci_tui.domain.verdict import Expectation
from ccci_tui.sources.abra import AbraError, AppEnv, abra_dir, find_app_env, recipe_dir
from ccci_tui.sources.swarm import SwarmError, SwarmSource


class UsageError(RuntimeError):
    """Bad input or an unreachable dependency: one line on stderr, exit 2, nothing changed."""


_HEX = re.compile(r"[0-9a-fA-F]{7,40}")


@dataclass(frozen=True)
class Target:
    """Everything a headless command or the TUI needs to read one service."""

    stack: str
    service: str
    app_env: AppEnv | None
    recipe_path: Path | None
    recipe: RecipeState | None
    expect: Expectation
    notes: tuple[str, ...] = ()  # things found missing along the way, shown with the verdict


def manager_source(args: argparse.Namespace) -> SwarmSource:
    """The daemon a headless command reads: a swarm manager, or UsageError."""
    source = SwarmSource(timeout=getattr(args, "api_timeout", 10.0))
    try:
        source.require_manager()
    except SwarmError as exc:
        raise UsageError(str(exc)) from exc
    return source


def check_stack(source: SwarmSource, stack: str, service: str) -> None:
    """UsageError unless `stack` has `service` (SwarmError when the stack does not exist)."""
    names = {s.name for s in source.services(stack)}
    full = service if service.startswith(f"{stack}_") else f"{stack}_{service}"
    if full not in names:
        raise UsageError(f"stack {stack!r} has no service {service!r} (it has: {', '.join(sorted(names))})")


def _app_env(stack: str, notes: list[str]) -> AppEnv | None:
    try:
        return find_app_env(stack, abra_dir(os.environ))
    except AbraError as exc:
        notes.append(f"app env not used: {exc}")
        return None


def resolve_target(
    stack: str,
    service: str = "app",
    recipe: str | None = None,
    expect_head: str | None = None,
    use_abra: bool = True,
) -> Target:
    """Find the app env and recipe through abra's layout unless given; resolve the expected head."""
    from ccci_tui.sources.recipe import RecipeError, RecipeSource  # deferred: GitPython costs ~80 ms

    notes: list[str] = []
    app_env = _app_env(stack, notes) if use_abra else None
    path: Path | None = Path(recipe).expanduser() if recipe else None
    if path is None and app_env is not None and app_env.recipe:
        guess = recipe_dir(app_env.recipe, abra_dir(os.environ))
        if guess.is_dir():
            path = guess
        else:
            notes.append(f"recipe {app_env.recipe} from {app_env.path.name} not found at {guess}")
    state: RecipeState | None = None
    head: str | None = None
    if path is not None:
        try:
            with RecipeSource(path) as src:
                state = src.state()
                if expect_head:
                    head = src.resolve(expect_head)
        except RecipeError as exc:
            raise UsageError(str(exc)) from exc
    elif expect_head:
        if not _HEX.fullmatch(expect_head):
            raise UsageError(
                f"--expect-head {expect_head!r} is not a commit hash and no recipe is known to resolve it "
                "(pass --recipe PATH)"
            )
        head = expect_head.lower()
    missing = None
    if head is None and state is None:  # a definite fact the verdict states, not a read still to come
        missing = "no --recipe or --expect-head" + (f"; {'; '.join(notes)}" if notes else "")
    expect = Expectation(head=head, head_ref=expect_head, intent=app_env.version if app_env else None,
                         head_missing=missing)
    return Target(stack, service, app_env, path, state, expect, tuple(notes))
