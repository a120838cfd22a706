"""`record`'s recipe loop reads the checkout through one RecipeSource for its life, and closes it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ccci_tui.sources.watch import ServiceWatch
from tests.support.recipes import build_recipe, git_children


def _git(path: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, check=True, timeout=30,
                          env=env).stdout.strip()


def _until(what: str, predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30  # a bound on waiting for the loop, not a timing assertion
    while not predicate():
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.02)


def test_the_loop_reads_through_one_source_reopens_after_a_failure_and_closes(tmp_path: Path) -> None:
    recipe = build_recipe(tmp_path)
    recipe.repo.close()  # the builder's own GitPython processes
    before = git_children()
    watch = ServiceWatch(None, "s", recipe_path=recipe.path, recipe_interval=0.02)  # type: ignore[arg-type]
    watch._spawn(watch._recipe_loop, "recipe")
    try:
        _until("read the head", lambda: watch.recipe is not None and watch.recipe.head_sha == recipe.head)
        held = git_children() - before
        assert len(held) == 2  # the source's `git cat-file --batch` and `--batch-check`
        (recipe.path / "README.md").write_text("next\n")
        _git(recipe.path, "commit", "-q", "-am", "next")
        head = _git(recipe.path, "rev-parse", "HEAD")
        _until("saw the new commit", lambda: watch.recipe is not None and watch.recipe.head_sha == head)
        assert git_children() - before == held  # every read through the same source

        (recipe.path / ".git").rename(tmp_path / "away")  # the checkout goes: the source is closed
        _until("closed the source", lambda: not git_children() - before)
        (tmp_path / "away").rename(recipe.path / ".git")
        _until("opened a new source", lambda: len(git_children() - before) == 2)
        assert not (git_children() - before) & held
    finally:
        watch.close()
    assert git_children() - before == set()
