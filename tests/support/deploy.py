"""Deploy a throwaway recipe to the lab the way abra's chaos deploy does, for the live tests and benches.

The product never deploys like this (its re-run runs the commands its plan shows, upgrade/plan.py);
the tests need a quick, exact deploy of any ref. The operator's checkout is never touched: a ref is
checked out into a temporary `git worktree`, and the stamp overlay is written outside the recipe
(inside it, the overlay would be an untracked file and turn the stamp into `+U`, as in the incident).

`python -m tests.support.deploy RECIPE STACK [--ref REF] [--order ORDER]`: a deploy command for `wait`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccci_tui.domain.stamp import make_stamp
from ccci_tui.sources.recipe import read_recipe
from ccci_tui.upgrade.stack import stamp_overlay

DEFAULT_COMPOSE = ("compose.yml",)


class DeployError(RuntimeError):
    """A deploy step failed; the message names the step and what the tool printed."""


@dataclass(frozen=True)
class DeployResult:
    """What one `docker stack deploy` did."""

    stack: str
    commit: str
    stamp: str
    argv: tuple[str, ...]
    stdout: str
    stderr: str


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60, check=False
    )
    if proc.returncode != 0:
        raise DeployError(f"git {' '.join(args)} in {repo}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip()


@contextlib.contextmanager
def checked_out(recipe: Path, ref: str) -> Iterator[tuple[Path, str]]:
    """Yield a temporary worktree of `recipe` at `ref` and its commit; removed afterwards."""
    commit = _git(recipe, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    tmp = Path(tempfile.mkdtemp(prefix="ccci-worktree-"))
    path = tmp / "recipe"
    _git(recipe, "worktree", "add", "--detach", "--quiet", str(path), commit)
    try:
        yield path, commit
    finally:
        with contextlib.suppress(DeployError):
            _git(recipe, "worktree", "remove", "--force", str(path))
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(DeployError):
            _git(recipe, "worktree", "prune")


def stack_deploy(
    stack: str,
    compose_files: Sequence[Path],
    env: Mapping[str, str],
    cwd: Path,
    timeout: float = 120.0,
) -> tuple[tuple[str, ...], subprocess.CompletedProcess[str]]:
    """Run `docker stack deploy` with `env` (plus STACK_NAME) for interpolation."""
    docker = shutil.which("docker")
    if docker is None:
        raise DeployError("no docker CLI on PATH: `docker stack deploy` is needed to deploy")
    argv: list[str] = [docker, "stack", "deploy", "--detach=true", "--resolve-image", "never"]
    for f in compose_files:
        argv += ["-c", str(f)]
    argv.append(stack)
    full_env = {**os.environ, **env, "STACK_NAME": stack}
    proc = subprocess.run(
        argv, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise DeployError(f"docker stack deploy {stack} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return tuple(argv), proc


def deploy_recipe(
    recipe: Path,
    stack: str,
    ref: str | None = None,
    env: Mapping[str, str] | None = None,
    compose_chain: Sequence[str] = DEFAULT_COMPOSE,
    service: str = "app",
    order: str | None = None,
    extra_files: Sequence[Path] = (),
) -> DeployResult:
    """Deploy `recipe` at `ref` (None: the working tree as it is, as abra does) to `stack`; `extra_files`
    (outside the recipe, e.g. a placement overlay) go after its chain and before the stamp overlay."""
    env = dict(env or {})
    with contextlib.ExitStack() as stack_ctx:
        if ref is None:
            root = Path(recipe)
            commit = _git(root, "rev-parse", "HEAD")
            dirty = read_recipe(root).dirty  # the product's `+U` rule, as the verdict reads it
        else:
            root, commit = stack_ctx.enter_context(checked_out(Path(recipe), ref))
            dirty = False
        stamp = make_stamp(commit, dirty)
        tmp = Path(stack_ctx.enter_context(tempfile.TemporaryDirectory(prefix="ccci-overlay-")))
        overlay = tmp / "compose.ccci-stamp.yml"
        overlay.write_text(stamp_overlay(stack, stamp, service=service, order=order))
        files = [root / name for name in compose_chain]
        for f in files:
            if not f.is_file():
                raise DeployError(f"compose file {f.name} does not exist at {ref or 'the working tree'}")
        argv, proc = stack_deploy(stack, [*files, *extra_files, overlay], env, cwd=root)
        return DeployResult(stack, commit, stamp, argv, proc.stdout, proc.stderr)



def base_running(swarm: Any, recipe: Any, stack: str) -> DeployResult:
    """Deploy the recipe's base tag to `stack` and wait until a task runs (`swarm`: the conftest fixture)."""
    from tests.support.recipes import BASE_TAG

    result = deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    swarm.wait_for(stack, lambda s, t: any(x["Status"]["State"] == "running" for x in t), timeout=60)
    return result

def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("recipe")
    p.add_argument("stack")
    p.add_argument("--ref")
    p.add_argument("--order", choices=("stop-first", "start-first"))
    args = p.parse_args()
    result = deploy_recipe(args.recipe, args.stack, ref=args.ref, order=args.order)
    print(f"deployed {result.stamp} to {args.stack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
