"""Deploy a recipe ref to a stack with `docker stack deploy`, stamped exactly as abra stamps it.

The operator's checkout is never touched: a ref is checked out into a temporary `git worktree`,
and the stamp and order overlay is written outside the recipe (inside it, the overlay would be
an untracked file and turn the stamp into `+U`, as it did in the incident).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from ccci_tui.domain.stamp import chaos_key, make_stamp, stamp_key

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


def stamp_overlay(stack: str, stamp: str, service: str = "app", order: str | None = None) -> str:
    """Compose overlay adding abra's chaos labels (and optionally an update order) to `service`."""
    deploy: dict[str, object] = {
        "labels": {chaos_key(stack): "true", stamp_key(stack): stamp},
    }
    if order is not None:
        if order not in ("stop-first", "start-first"):
            raise ValueError(f"order must be stop-first or start-first, not {order!r}")
        deploy["update_config"] = {"order": order}
    doc = {"version": "3.8", "services": {service: {"deploy": deploy}}}
    # every scalar double-quoted: docker reads compose as YAML 1.2, where a short hash such as
    # 71077e77 is a float (the label would read 7.1077e+81) and 01234567 an integer
    return yaml.safe_dump(doc, sort_keys=False, default_style='"')


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60, check=False
    )
    if proc.returncode != 0:
        raise DeployError(f"git {' '.join(args)} in {repo}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip()


def worktree_dirty(path: Path) -> bool:
    """abra's `+U` rule: any modified or untracked (not ignored) file."""
    return bool(_git(path, "status", "--porcelain", "--untracked-files=normal"))


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
) -> DeployResult:
    """Deploy `recipe` at `ref` (None: the working tree as it is, as abra does) to `stack`."""
    env = dict(env or {})
    with contextlib.ExitStack() as stack_ctx:
        if ref is None:
            root = Path(recipe)
            commit = _git(root, "rev-parse", "HEAD")
            dirty = worktree_dirty(root)
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
        argv, proc = stack_deploy(stack, [*files, overlay], env, cwd=root)
        return DeployResult(stack, commit, stamp, argv, proc.stdout, proc.stderr)
