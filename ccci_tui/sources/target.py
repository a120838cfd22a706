"""Resolve what a command looks at: the daemon, the stack, the app env, the recipe, the expected head."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ccci_tui.domain.model import RecipeState, ServiceState
from ccci_tui.domain.replay import RecordedPolicy
from ccci_tui.domain.verdict import Expectation
from ccci_tui.sources.abra import AbraError, AppEnv, abra_dir, find_app_env, recipe_dir
from ccci_tui.sources.errors import SwarmError
from ccci_tui.sources.swarm import SwarmSource

if TYPE_CHECKING:
    from ccci_tui.config import Config
    from ccci_tui.sources.recipe import RecipeSource


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


def node_hosts(args: argparse.Namespace, config: Config | None = None) -> dict[str, str]:
    """The engines on the swarm's nodes: `[nodes]` in config.toml, then each `--node-host NODE=DOCKER_HOST`."""
    from ccci_tui.config import ConfigError, load_config, node_host_problem

    hosts: dict[str, str] = {}
    try:
        hosts.update((config or load_config(getattr(args, "config", None))).nodes)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    for item in getattr(args, "node_host", None) or getattr(args, "tui_node_host", None) or ():
        node, sep, host = item.partition("=")
        problem = node_host_problem(host.strip()) if sep and node.strip() else "expected NODE=DOCKER_HOST"
        if problem:
            raise UsageError(f"--node-host {item!r}: {problem}")
        hosts[node.strip()] = host.strip()
    return hosts


def swarm_source(args: argparse.Namespace, config: Config | None = None, timeout: float = 10.0) -> SwarmSource:
    """The daemon a command reads, with the engines of the other nodes it may ask for container facts."""
    ssh = getattr(args, "nodes_ssh", None) or getattr(args, "tui_nodes_ssh", None)
    return SwarmSource(timeout=getattr(args, "api_timeout", timeout), node_hosts=node_hosts(args, config),
                       nodes_ssh=ssh)


def manager_source(args: argparse.Namespace) -> SwarmSource:
    """The daemon a headless command reads: a swarm manager, or UsageError."""
    source = swarm_source(args)
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


def app_env_for(stack: str) -> AppEnv | None:
    """The app env abra keeps for `stack` under $ABRA_DIR (or ~/.abra), if any; AbraError when unreadable."""
    return find_app_env(stack, abra_dir(os.environ))


def _app_env(stack: str, notes: list[str]) -> AppEnv | None:
    try:
        return app_env_for(stack)
    except AbraError as exc:
        notes.append(f"app env not used: {exc}")
        return None


def app_env_recipe(app_env: AppEnv | None) -> Path | None:
    """Where abra keeps the checkout of the recipe `app_env` names (it may not exist)."""
    if app_env is None or not app_env.recipe:
        return None
    return recipe_dir(app_env.recipe, abra_dir(os.environ))


def compose_chain(app_env: AppEnv | None, given: str | None = None) -> tuple[str, ...]:
    """The compose files a deploy of the stack reads: `given` (a COMPOSE_FILE value), else the app env's
    COMPOSE_FILE, else compose.yml alone (abra's default)."""
    from ccci_tui.domain.compose import parse_compose_file_chain

    if given:
        return parse_compose_file_chain(given)
    if app_env is not None and app_env.compose_files:
        return tuple(app_env.compose_files)
    return ("compose.yml",)


def chain_in_checkout(recipe_path: Path, chain: tuple[str, ...]) -> tuple[str, ...]:
    """The files of `chain` the checkout does not have (a deploy from it would fail on them)."""
    return tuple(name for name in chain if not (recipe_path / name).is_file())


def upgrade_sides(
    recipe_path: Path, stack: str, chain: tuple[str, ...], env: Mapping[str, str] | None = None,
    base: str | None = None, head: str | None = None, service: ServiceState | None = None,
    version: str | None = None, sides: tuple[str, ...] = ("base", "head"),
) -> tuple[tuple[RecordedPolicy, ...], str | None]:
    """The base and head policies of an upgrade of `stack` (base by `default_base` unless given, head
    HEAD unless given), each side's `chain` loaded at its ref; and a note when there is no base.
    Raises RecipeError or ComposeError naming the ref or file."""
    from ccci_tui.sources.recipe import RecipeSource

    values = {**(env or {}), "STACK_NAME": stack}
    with RecipeSource(recipe_path) as src:
        head_ref = head or "HEAD"
        refs = {"head": head_ref}
        note = None
        # the base even when only the head is wanted: a chain file is missing only where the other side has it
        base_ref = base or default_base(src, src.resolve(head_ref), stack, service, version)
        if base_ref is None:
            note = "no release tag before the head to compare it with: the base side is missing"
        else:
            refs = {"base": base_ref, **refs}
        loaded = src.policies_at(refs, chain, values)
    return (tuple(RecordedPolicy(side, ref, *loaded[side]) for side, ref in refs.items() if side in sides),
            note if "base" in sides else None)


def default_base(recipe: RecipeSource, head_sha: str, stack: str, service: ServiceState | None = None,
                 version: str | None = None) -> str | None:
    """The ref an upgrade of `stack` to `head_sha` starts from; one rule for `rerun`, `record`, `compare`
    and the compare screen: the release tag the running (else the previous) stamp names, else the app
    env's version, else the newest tag that is an ancestor of the head. None when there is none."""
    from ccci_tui.domain.stamp import parse_stamp, stamp_key
    from ccci_tui.sources.recipe import RecipeError

    stamps = []
    if service is not None:
        stamps.append(parse_stamp(service.spec.label(stamp_key(stack))))
        if service.previous_spec is not None:
            stamps.append(parse_stamp(service.previous_spec.label(stamp_key(stack))))
    for stamp in stamps:
        if stamp.ok and stamp.sha and not stamp.matches(head_sha):
            try:
                tags = recipe.tags_at(stamp.sha)
            except RecipeError:
                tags = ()  # a commit this checkout does not have: fall back below
            if tags:
                return tags[0]
    if version and recipe.has_ref(version) and recipe.resolve(version) != head_sha:
        return version
    for tag in recipe.tags():  # newest version first
        if tag.sha != head_sha and recipe.is_ancestor(tag.sha, head_sha):
            return tag.name
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
    guess = app_env_recipe(app_env)
    if path is None and app_env is not None and guess is not None:
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
