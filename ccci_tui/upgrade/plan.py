"""UpgradePlan: base, head, order, compose chain, env, backend, and the exact commands a re-run runs.

Making a plan reads (git, compose files, the swarm) and checks every input; it changes nothing.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ccci_tui.config import Config
from ccci_tui.domain.compare import service_risks
from ccci_tui.domain.compose_syntax import ComposeError
from ccci_tui.domain.redact import redact_text
from ccci_tui.domain.stamp import make_stamp
from ccci_tui.sources.abra import AbraError, AppEnv, read_app_env
from ccci_tui.sources.errors import SwarmError
from ccci_tui.sources.recipe import RecipeError, RecipeSource
from ccci_tui.sources.swarm import SwarmSource
from ccci_tui.sources.target import app_env_for, app_env_recipe, compose_chain, default_base
from ccci_tui.upgrade.stack import stamp_overlay

ORDERS = ("stop-first", "start-first")
GIT, WRITE, DEPLOY, WAIT, WATCH, CLEANUP = "git", "write", "deploy", "wait", "watch", "cleanup"


class PlanError(RuntimeError):
    """An input is wrong; nothing has been deployed."""


@dataclass(frozen=True)
class Step:
    """One step: a command run exactly as shown (`argv`), a file written, or a watch."""

    kind: str
    text: str
    argv: tuple[str, ...] = ()
    path: Path | None = None
    content: str = ""
    side: str = ""  # "base" or "head"


@dataclass(frozen=True)
class UpgradePlan:
    """Everything a re-run will do, decided before anything is done."""

    stack: str
    service: str
    order: str
    backend: str
    recipe: Path
    base_ref: str | None
    base_sha: str | None
    head_ref: str
    head_sha: str
    compose_chain: tuple[str, ...]
    env_file: Path | None
    workdir: Path
    steps: tuple[Step, ...]
    risks: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)  # may hold secrets

    @property
    def head_only(self) -> bool:
        return self.base_sha is None

    def render(self) -> str:
        """The plan as the operator confirms it: refs, risks, and every command verbatim."""
        lines = [
            f"Re-run the upgrade of {self.stack} ({self.service}) with {self.order}, backend {self.backend}",
            f"  recipe   {self.recipe}",
            f"  base     {self.base_ref} ({self.base_sha[:8]})" if self.base_sha else "  base     (none: --head-only)",
            f"  head     {self.head_ref} ({self.head_sha[:8]})",
            f"  compose  {':'.join(self.compose_chain)}",
            f"  env      {len(self.env) - 1} variables from {self.env_file} (values not shown) + STACK_NAME="
            f"{self.stack}" if self.env_file else f"  env      STACK_NAME={self.stack}",
        ]
        lines += [f"  ! {w}" for w in self.warnings]
        lines += [f"  risk: {r}" for r in self.risks]
        lines.append("Steps:")
        for i, step in enumerate(self.steps, 1):
            lines.append(f"  {i}. {step.text}")
            if step.argv:
                lines.append(f"     $ {shlex.join(step.argv)}")
            if step.content:
                lines += [f"     | {line}" for line in step.content.rstrip().splitlines()]
        return redact_text("\n".join(lines))


def locate(stack: str, recipe: str | None, use_app_env: bool = True) -> tuple[AppEnv | None, str]:
    """The app env abra keeps for `stack` (unless told not to look) and the recipe to re-run from."""
    app_env = None
    if use_app_env:
        try:
            app_env = app_env_for(stack)
        except AbraError as exc:
            raise PlanError(str(exc)) from exc
    if recipe is None and (guess := app_env_recipe(app_env)) is not None:
        recipe = str(guess)
    if recipe is None:
        raise PlanError("no recipe to re-run from: pass --recipe PATH (no app env names one)")
    return app_env, recipe


def _base_default(recipe: RecipeSource, source: SwarmSource, stack: str, service: str,
                  app_env: AppEnv | None, head_sha: str) -> str:
    """The base by the one rule (sources.target.default_base), from what the service shows now."""
    try:
        svc = source.observe(stack, service).service
    except SwarmError:
        svc = None
    base = default_base(recipe, head_sha, stack, svc, app_env.version if app_env is not None else None)
    if base is None:
        raise PlanError(f"no base: no tag before {head_sha[:8]} in {recipe.path}; pass --base REF")
    return base


def make_plan(
    stack: str,
    order: str,
    recipe_path: str | Path,
    source: SwarmSource,
    config: Config,
    base: str | None = None,
    head: str | None = None,
    env_file: str | Path | None = None,
    app_env: AppEnv | None = None,
    backend: str | None = None,
    head_only: bool = False,
    service: str = "app",
    timeout: float = 300.0,
) -> UpgradePlan:
    """Check every input and lay out the exact steps; raises PlanError naming what is wrong."""
    if order not in ORDERS:
        raise PlanError(f"--order must be stop-first or start-first, not {order!r}")
    backend = backend or config.backend
    if shutil.which("docker") is None:
        raise PlanError("no docker CLI on PATH: the re-run deploys with `docker stack deploy`")
    if backend == "abra" and shutil.which(config.abra_argv(app="x", stack="x", recipe="x", ref="x", server="x")[0]) \
            is None:
        raise PlanError(f"backend abra: {config.abra_argv(app='x', stack='x', recipe='x', ref='x', server='x')[0]!r} "
                        "is not on PATH")
    full = service if service.startswith(f"{stack}_") else f"{stack}_{service}"
    if "_" in service and not service.startswith(f"{stack}_"):
        raise PlanError(f"service {service!r} is not part of stack {stack!r}: refusing to touch it")
    try:
        source.require_manager()
        names = {s.name for s in source.services(stack)}
    except SwarmError as exc:
        raise PlanError(str(exc)) from exc
    if full not in names:
        raise PlanError(f"stack {stack!r} has no service {full!r} (it has: {', '.join(sorted(names))})")
    if env_file is not None:
        try:
            app_env = read_app_env(env_file)
        except AbraError as exc:
            raise PlanError(str(exc)) from exc
    if backend == "abra" and app_env is None:
        raise PlanError("backend abra needs the app env file (--env-file or abra's layout) to name the app")
    try:
        with RecipeSource(recipe_path) as recipe:  # closed: its git processes end with the plan's reads
            state = recipe.state()
            if state.dirty:
                raise PlanError(
                    f"the recipe checkout {recipe.path} is dirty ({len(state.untracked)} untracked, "
                    f"{len(state.modified)} modified files): commit or stash first; nothing was deployed")
            head_ref = head or "HEAD"
            head_sha = recipe.resolve(head_ref)
            base_ref = None if head_only else (base or _base_default(recipe, source, stack, service, app_env, head_sha))
            base_sha = recipe.resolve(base_ref) if base_ref else None
            chain = compose_chain(app_env)
            env = {**(dict(app_env.env) if app_env else {}), "STACK_NAME": stack}
            overlay = {side: stamp_overlay(stack, make_stamp(sha, False), service=service, order=order)
                       for side, sha in (("base", base_sha), ("head", head_sha)) if sha}
            refs = {side: ref for side, ref in (("base", base_ref), ("head", head_ref)) if ref is not None}
            # abra takes no overlay: its deploy runs the recipe's own update order
            extra = {side: [("rerun overlay", overlay[side])] for side in refs} if backend == "stack" else {}
            policies = {side: policy for side, (_, policy) in recipe.policies_at(refs, chain, env, extra).items()}
    except (RecipeError, ComposeError) as exc:
        raise PlanError(str(exc)) from exc
    # a chain file one side lacks: that side deploys with the files it has
    chains = {side: tuple(f for f in chain if f not in p.missing) for side, p in policies.items()}
    missing_notes = tuple(
        f"{side} {refs[side]} has no {', '.join(p.missing)}: its deploy uses {':'.join(chains[side])}"
        + (" (abra reads COMPOSE_FILE from the app env and may refuse it)" if backend == "abra" else "")
        for side, p in policies.items() if p.missing)
    head_policy = policies["head"].services.get(service)
    if head_policy is None:
        raise PlanError(f"the head's compose files define no service {service!r}")
    if backend == "abra" and head_policy.update_config.order.value != order:
        raise PlanError(
            f"backend abra deploys the recipe's own update order ({head_policy.update_config.order.value}) and "
            f"takes no overlay: it cannot re-run with {order}; use --backend stack")
    risks = tuple(n.message for n in service_risks(head_policy, "head"))
    workdir = Path(tempfile.gettempdir()) / f"ccci-rerun-{stack}-{os.getpid()}"
    if backend == "stack":
        steps = _stack_steps(recipe.path, stack, base_sha, head_sha, chains, overlay, workdir, timeout)
    else:
        assert app_env is not None
        restore = state.branch or state.head_sha
        steps = _abra_steps(recipe.path, stack, base_sha, head_sha, config, app_env, restore, timeout)
    warnings = missing_notes
    if backend == "abra":
        warnings += (f"backend abra checks the recipe out IN PLACE in {recipe.path} (git checkout -f), "
                     "then restores the current HEAD",)
    return UpgradePlan(
        stack=stack, service=service, order=order, backend=backend, recipe=recipe.path,
        base_ref=base_ref, base_sha=base_sha, head_ref=head_ref, head_sha=head_sha,
        compose_chain=tuple(chain), env_file=app_env.path if app_env else None, workdir=workdir,
        steps=steps, risks=risks, warnings=warnings, env=env,
    )


def _stack_steps(recipe: Path, stack: str, base_sha: str | None, head_sha: str,
                 chains: Mapping[str, tuple[str, ...]], overlay: Mapping[str, str], workdir: Path,
                 timeout: float) -> tuple[Step, ...]:
    steps: list[Step] = []
    sides = [("base", base_sha), ("head", head_sha)] if base_sha else [("head", head_sha)]
    for side, sha in sides:
        assert sha is not None
        tree = workdir / side
        steps.append(Step(GIT, f"check {side} {sha[:8]} out into a temporary worktree",
                          ("git", "-C", str(recipe), "worktree", "add", "--detach", str(tree), sha), side=side))
        ov = workdir / f"compose.ccci-{side}.yml"
        steps.append(Step(WRITE, f"write the {side} overlay (stamp and update order)", path=ov,
                          content=overlay[side], side=side))
        argv = ["docker", "stack", "deploy", "--detach=true", "--resolve-image", "never"]
        for name in chains[side]:
            argv += ["-c", str(tree / name)]
        argv += ["-c", str(ov), stack]
        steps.append(Step(DEPLOY, f"deploy {side} {sha[:8]}", tuple(argv), side=side))
        final = side == "head"
        steps.append(Step(WATCH if final else WAIT,
                          f"watch until a verdict (timeout {timeout:g} s)" if final
                          else f"wait until {side} converges (timeout {timeout:g} s)", side=side))
    for side, _ in sides:
        steps.append(Step(CLEANUP, f"remove the {side} worktree",
                          ("git", "-C", str(recipe), "worktree", "remove", "--force", str(workdir / side))))
    return tuple(steps)


def _abra_steps(recipe: Path, stack: str, base_sha: str | None, head_sha: str, config: Config,
                app_env: AppEnv, restore: str, timeout: float) -> tuple[Step, ...]:
    steps: list[Step] = []
    sides = [("base", base_sha), ("head", head_sha)] if base_sha else [("head", head_sha)]
    for side, sha in sides:
        assert sha is not None
        steps.append(Step(GIT, f"check {side} {sha[:8]} out IN PLACE",
                          ("git", "-C", str(recipe), "checkout", "--quiet", "--force", "--detach", sha), side=side))
        argv = config.abra_argv(app=app_env.domain, stack=stack, recipe=str(recipe), ref=sha, server=app_env.server)
        steps.append(Step(DEPLOY, f"deploy {side} with abra", tuple(argv), side=side))
        final = side == "head"
        steps.append(Step(WATCH if final else WAIT, f"watch until a verdict (timeout {timeout:g} s)" if final
                          else f"wait until {side} converges (timeout {timeout:g} s)", side=side))
    steps.append(Step(CLEANUP, f"restore the recipe checkout as it was ({restore[:12]})",
                      ("git", "-C", str(recipe), "checkout", "--quiet", "--force", restore)))
    return tuple(steps)
