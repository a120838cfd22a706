"""RecipeSource reads a recipe checkout's git state and never changes it."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest

from ccci_tui.domain.model import TagInfo
from ccci_tui.sources.recipe import RecipeError, RecipeSource, read_recipe, sort_tags, version_key
from tests.support.recipes import (
    BASE_TAG,
    HEAD_SUBJECT,
    Recipe,
    build_recipe,
    compose_text,
    git_children,
    init_repo,
)


def run_git(path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, timeout=30,
        env={**os.environ, **(env or {})}, check=True,
    )
    return proc.stdout.strip()


def commit(repo: git.Repo, name: str, text: str, message: str, when: int | None = None) -> str:
    Path(repo.working_tree_dir, name).write_text(text)
    repo.index.add([name])
    dates = {} if when is None else {"author_date": f"{when} +0000", "commit_date": f"{when} +0000"}
    return repo.index.commit(message, **dates).hexsha


@pytest.fixture
def recipe(tmp_path: Path) -> Recipe:
    return build_recipe(tmp_path)


# -- the standard recipe ---------------------------------------------------------------------


def test_state_of_built_recipe(recipe: Recipe) -> None:
    state = RecipeSource(recipe.path).state()
    assert state.path == str(recipe.path)
    assert state.head_sha == recipe.head
    assert state.head_subject == HEAD_SUBJECT
    assert state.describe is not None
    m = re.fullmatch(r"0\.7\.0\+3\.3\.1-9-g([0-9a-f]{7,40})", state.describe)
    assert m and recipe.head.startswith(m.group(1)), state.describe
    assert [t.name for t in state.tags] == [BASE_TAG, "0.6.0+3.2.0"]
    assert {t.name: t.sha for t in state.tags} == recipe.tags  # annotated tags peeled to commits
    assert all(t.annotated for t in state.tags)
    assert state.branch == "main"
    assert not state.shallow
    assert (state.untracked, state.modified, state.dirty) == ((), (), False)
    assert state.tags_at(recipe.base[:8]) == (BASE_TAG,)


def test_read_recipe_matches_source_state(recipe: Recipe) -> None:
    assert read_recipe(str(recipe.path)) == RecipeSource(recipe.path).state()


def test_file_at_returns_exact_text_at_any_ref(recipe: Recipe) -> None:
    src = RecipeSource(recipe.path)
    base_text = compose_text(BASE_TAG, "base", "3.3.1")
    assert src.file_at(BASE_TAG, "compose.yml") == base_text  # trailing newline kept
    assert src.file_at(recipe.base, "./compose.yml") == base_text
    assert "0.9.0+3.5.0" in src.file_at("HEAD", "compose.yml")
    assert "0.6.0+3.2.0" in src.file_at("0.6.0+3.2.0", "compose.yml")
    assert src.file_at("HEAD~1", "README.md") == "# discourse\n\nchange 8\n"


def test_file_at_errors_name_the_ref_and_path(recipe: Recipe) -> None:
    src = RecipeSource(recipe.path)
    with pytest.raises(RecipeError, match=rf"unknown ref 'nope' in {re.escape(str(recipe.path))}"):
        src.file_at("nope", "compose.yml")
    with pytest.raises(RecipeError, match=r"no file 'README.md' at ref '0\.6\.0\+3\.2\.0'"):
        src.file_at("0.6.0+3.2.0", "README.md")  # README.md only exists after the tags
    with pytest.raises(RecipeError, match="not a path inside the recipe"):
        src.file_at("HEAD", "../outside.yml")
    (recipe.path / "conf").mkdir()
    recipe.commit_file("conf/app.ini", "x\n", "add conf")
    with pytest.raises(RecipeError, match=r"no file 'conf' at ref 'HEAD'"):
        src.file_at("HEAD", "conf")  # a folder is not a file
    assert src.file_at("HEAD", "conf/app.ini") == "x\n"


def test_refs_resolve_and_exist(recipe: Recipe) -> None:
    src = RecipeSource(recipe.path)
    assert src.resolve(BASE_TAG) == recipe.base
    assert src.resolve("HEAD") == recipe.head
    assert src.resolve("main") == recipe.head
    assert src.resolve(recipe.head[:8]) == recipe.head
    assert src.resolve("HEAD~9") == recipe.base
    assert src.state().head_subject == HEAD_SUBJECT
    for ref in (BASE_TAG, "main", "HEAD~9", recipe.base):
        assert src.has_ref(ref), ref
    for ref in ("nope", "", "-h", "--all", "HEAD~99", "main main"):
        assert not src.has_ref(ref), ref
    with pytest.raises(RecipeError, match=r"unknown ref 'HEAD~99'"):
        src.resolve("HEAD~99")
    with pytest.raises(RecipeError, match=r"unknown ref 'nope'"):
        src.resolve("nope")


def test_tags_at(recipe: Recipe) -> None:
    src = RecipeSource(recipe.path)
    assert src.tags_at(BASE_TAG) == (BASE_TAG,)
    assert src.tags_at("HEAD") == ()
    recipe.repo.create_tag("also-base", ref=recipe.base)
    assert sorted(src.tags_at(recipe.base)) == sorted((BASE_TAG, "also-base"))


def test_detached_head(recipe: Recipe) -> None:
    recipe.repo.git.checkout("--detach", BASE_TAG)
    state = RecipeSource(recipe.path).state()
    assert state.branch is None
    assert state.head_sha == recipe.base
    assert state.describe == BASE_TAG
    assert state.head_subject == f"release {BASE_TAG}"


def test_head_subject_is_the_first_paragraph_as_git_log_prints_it(recipe: Recipe) -> None:
    for message in ("\n\nfix: a subject\nthat wraps   \n\nthe body\n", "one line", "trailing space  \n\nbody"):
        (recipe.path / "README.md").write_text(message)
        recipe.repo.index.add(["README.md"])
        recipe.repo.index.commit(message)
        assert RecipeSource(recipe.path).state().head_subject == run_git(recipe.path, "log", "-1", "--format=%s")


def test_an_open_source_sees_what_changes_between_reads(recipe: Recipe) -> None:
    with RecipeSource(recipe.path) as src:
        assert [t.name for t in src.state().tags] == [BASE_TAG, "0.6.0+3.2.0"]
        sha = recipe.commit_file("compose.yml", "x: 1\n", "next")
        run_git(recipe.path, "tag", "-f", "0.6.0+3.2.0", sha)  # moved, and lightweight now
        recipe.repo.create_tag("1.0.0+4.0.0", message="release")
        run_git(recipe.path, "tag", "-d", BASE_TAG)
        run_git(recipe.path, "pack-refs", "--all")  # the refs now live in packed-refs
        (recipe.path / "new.txt").write_text("x")
        state = src.state()
        assert (state.head_sha, state.head_subject, state.untracked) == (sha, "next", ("new.txt",))
        assert state.tags == (TagInfo("1.0.0+4.0.0", sha, annotated=True), TagInfo("0.6.0+3.2.0", sha, annotated=False))
        assert state.describe == "1.0.0+4.0.0"
        run_git(recipe.path, "checkout", "-q", "--detach", "HEAD~1")
        assert (src.state().branch, src.resolve("HEAD")) == (None, recipe.head)


def test_one_source_keeps_its_git_processes_until_closed(recipe: Recipe) -> None:
    before = git_children()  # the fixture's own GitPython repo may have some
    src = RecipeSource(recipe.path)
    src.state()
    running = git_children() - before
    assert len(running) == 2  # `git cat-file --batch` and `--batch-check`, started by the first object read
    src.file_at(BASE_TAG, "compose.yml")
    src.state()
    assert git_children() - before == running  # every read went through the same two processes
    src.close()
    assert git_children() - before == set()
    with RecipeSource(recipe.path) as again:
        again.state()
        assert len(git_children() - before) == 2
    assert git_children() - before == set()


# -- tags: kinds and order -------------------------------------------------------------------


def test_lightweight_and_annotated_tags_newest_version_first(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r")
    day = 86_400
    c1 = commit(repo, "f", "1", "one", when=1_700_000_000)
    repo.create_tag("0.9.0+1.0.0", message="annotated")
    repo.create_tag("ci-old")  # lightweight, not a version
    c2 = commit(repo, "f", "2", "two", when=1_700_000_000 + day)
    repo.create_tag("0.10.0+1.0.0")  # lightweight: 0.10 > 0.9 numerically
    repo.create_tag("ci-new", message="annotated marker")
    c3 = commit(repo, "f", "3", "three", when=1_700_000_000 + 2 * day)
    repo.create_tag("0.10.0+1.10.0", message="upstream 1.10 > 1.9")
    repo.create_tag("0.10.0+1.9.0", ref=c2)
    tags = RecipeSource(repo.working_tree_dir).tags()
    assert tags == (
        TagInfo("0.10.0+1.10.0", c3, annotated=True),
        TagInfo("0.10.0+1.9.0", c2, annotated=False),
        TagInfo("0.10.0+1.0.0", c2, annotated=False),
        TagInfo("0.9.0+1.0.0", c1, annotated=True),
        TagInfo("ci-new", c2, annotated=True),  # non-versions last, newer commit first
        TagInfo("ci-old", c1, annotated=False),
    )


def test_tag_of_a_tag_is_peeled_to_the_commit(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r")
    sha = commit(repo, "f", "1", "one")
    inner = repo.create_tag("1.0.0+1", message="inner")
    run_git(Path(repo.working_tree_dir), "tag", "-a", "-m", "outer", "1.0.1+1", inner.tag.hexsha)
    assert RecipeSource(repo.working_tree_dir).tags() == (
        TagInfo("1.0.1+1", sha, annotated=True),
        TagInfo("1.0.0+1", sha, annotated=True),
    )


def test_version_key_orders_versions_and_rejects_other_names() -> None:
    ordered = [
        "0.1.0+9.9.9", "0.9.0+3.3.1", "0.10.0-rc1+1.0", "0.10.0+1.0", "0.10.0+1.0.5-social-amd64",
        "0.10.0+3.9.0", "0.10.0+3.10.0", "1.0.0", "1.0.0+1.14.3",
    ]
    keys = [version_key(n) for n in ordered]
    assert all(k is not None for k in keys)
    assert sorted(ordered, key=lambda n: version_key(n)) == ordered  # type: ignore[arg-type, return-value]
    for name in ("latest", "main", "1.13.4_1", "1.0", "release-1.0.0", "1.0.0+"):
        assert version_key(name) is None, name


def test_sort_tags_puts_non_versions_last_by_date() -> None:
    t = {n: TagInfo(n, n * 2) for n in ("a", "b", "0.1.0+1", "0.2.0+1")}
    got = sort_tags([(t["a"], 100), (t["0.1.0+1"], 500), (t["b"], 300), (t["0.2.0+1"], 1)])
    assert [x.name for x in got] == ["0.2.0+1", "0.1.0+1", "b", "a"]


# -- dirty state -----------------------------------------------------------------------------


def test_untracked_and_modified_listed_separately_ignored_excluded(recipe: Recipe) -> None:
    p = recipe.path
    (p / "README.md").write_text("changed\n")  # unstaged modification
    (p / "compose.lab.yml").unlink()  # deletion
    (p / "new.txt").write_text("x")
    (p / "sub").mkdir()
    (p / "sub" / "deep.txt").write_text("x")
    (p / "notes.swp").write_text("ignored by .gitignore")
    (p / "staged.txt").write_text("s")
    recipe.repo.index.add(["staged.txt"])  # staged addition
    recipe.repo.git.mv("compose.yml", "compose.main.yml")  # staged rename
    state = RecipeSource(p).state()
    assert state.untracked == ("new.txt", "sub/deep.txt")
    assert state.modified == ("README.md", "compose.lab.yml", "compose.main.yml", "staged.txt")
    assert state.dirty


def test_only_ignored_files_is_clean(recipe: Recipe) -> None:
    (recipe.path / "scratch.swp").write_text("x")
    state = RecipeSource(recipe.path).state()
    assert not state.dirty


def test_untracked_file_alone_is_dirty(recipe: Recipe) -> None:
    # abra's `+U`: an untracked overlay alone makes the worktree dirty.
    (recipe.path / "compose.ccci.yml").write_text("x")
    state = RecipeSource(recipe.path).state()
    assert state.untracked == ("compose.ccci.yml",)
    assert state.modified == ()
    assert state.dirty


# -- read-only guarantee ---------------------------------------------------------------------


def snapshot(path: Path) -> dict[str, tuple[str, int]]:
    """Every file under `path` (.git included): content hash and mtime."""
    out: dict[str, tuple[str, int]] = {}
    for f in sorted(path.rglob("*")):
        if f.is_file():
            out[str(f.relative_to(path))] = (
                hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns,
            )
    return out


def make_index_stale(recipe: Recipe) -> None:
    """Give a tracked file a new mtime, so a plain `git status` would rewrite the index."""
    future = time.time() + 3600
    os.utime(recipe.path / "README.md", (future, future))
    (recipe.path / "compose.lab.yml").write_text("modified\n")
    (recipe.path / "untracked.txt").write_text("x")


def test_reading_changes_nothing(recipe: Recipe) -> None:
    make_index_stale(recipe)
    before = snapshot(recipe.path)
    src = RecipeSource(recipe.path)
    state = src.state()
    src.file_at(BASE_TAG, "compose.yml")
    src.has_ref("nope")
    src.resolve(BASE_TAG)
    src.resolve("HEAD~3")
    src.tags_at(BASE_TAG)
    src.close()
    assert state.dirty
    assert snapshot(recipe.path) == before


def test_plain_git_status_would_have_rewritten_the_index(recipe: Recipe) -> None:
    # Control for the test above: the setup really does tempt git into an index refresh.
    make_index_stale(recipe)
    index = recipe.path / ".git" / "index"
    before = hashlib.sha256(index.read_bytes()).hexdigest()
    run_git(recipe.path, "status", "--porcelain")
    assert hashlib.sha256(index.read_bytes()).hexdigest() != before


# -- edge cases and errors -------------------------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(RecipeError, match=f"does not exist: {re.escape(str(missing))}"):
        RecipeSource(missing)


def test_not_a_repo(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match=f"not a git repository: {re.escape(str(tmp_path))}"):
        read_recipe(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(RecipeError, match="not a directory"):
        RecipeSource(tmp_path / "file")


def test_subfolder_of_a_repo_is_not_a_recipe(recipe: Recipe) -> None:
    (recipe.path / "sub").mkdir()
    with pytest.raises(RecipeError, match="not a git repository"):
        RecipeSource(recipe.path / "sub")


def test_bare_repo_is_refused(recipe: Recipe, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    run_git(tmp_path, "clone", "-q", "--bare", str(recipe.path), str(bare))
    with pytest.raises(RecipeError, match=f"bare git repository .*{re.escape(str(bare))}"):
        RecipeSource(bare)


def test_linked_worktree_reads_its_own_head(recipe: Recipe, tmp_path: Path) -> None:
    worktree = tmp_path / "wt"
    run_git(recipe.path, "worktree", "add", "-q", "--detach", str(worktree), BASE_TAG)
    state = read_recipe(worktree)
    assert (state.head_sha, state.branch, state.describe) == (recipe.base, None, BASE_TAG)
    assert read_recipe(recipe.path).head_sha == recipe.head


def test_inherited_git_dir_does_not_redirect_reads(recipe: Recipe, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    other = init_repo(tmp_path / "other")
    commit(other, "f", "1", "other repo")
    monkeypatch.setenv("GIT_DIR", other.git_dir)  # as inside a git hook
    monkeypatch.setenv("GIT_WORK_TREE", str(other.working_tree_dir))
    monkeypatch.setenv("GIT_INDEX_FILE", str(Path(other.git_dir) / "index"))  # as in a pre-commit hook
    state = read_recipe(recipe.path)
    assert (state.head_sha, state.untracked, state.modified) == (recipe.head, (), ())


def test_no_commits_yet(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "empty")
    src = RecipeSource(repo.working_tree_dir)
    empty = re.escape(str(tmp_path / "empty"))
    with pytest.raises(RecipeError, match=f"no commits yet in {empty}"):
        src.state()
    assert not src.has_ref("HEAD")
    assert src.tags() == ()
    with pytest.raises(RecipeError, match="no commits yet"):
        src.file_at("HEAD", "compose.yml")


def test_no_tags_is_a_state_but_an_error_where_a_tag_is_required(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r")
    sha = commit(repo, "compose.yml", "x: 1\n", "first")
    src = RecipeSource(repo.working_tree_dir)
    state = src.state()
    assert (state.head_sha, state.describe, state.tags) == (sha, None, ())


def test_shallow_clone_without_tags(recipe: Recipe, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{recipe.path}", str(clone)],
        check=True, capture_output=True, timeout=30,
    )
    state = read_recipe(clone)
    assert state.shallow
    assert state.head_sha == recipe.head
    assert state.head_subject == HEAD_SUBJECT
    assert state.describe is None
    assert state.tags == ()


def test_shallow_clone_with_tags_cut_off_from_head(recipe: Recipe, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{recipe.path}", str(clone)],
        check=True, capture_output=True, timeout=30,
    )
    run_git(clone, "fetch", "-q", "--depth", "1", "origin", "refs/tags/*:refs/tags/*")
    state = read_recipe(clone)
    assert state.shallow
    assert state.describe is None  # the tags exist, but no history links them to HEAD
    assert {t.name: t.sha for t in state.tags} == recipe.tags
    assert RecipeSource(clone).file_at(BASE_TAG, "compose.yml") == compose_text(
        BASE_TAG, "base", "3.3.1"
    )


def test_git_timeout_is_a_clear_error(recipe: Recipe, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    slow = tmp_path / "slow-git"
    slow.write_text("#!/bin/sh\nexec sleep 10\n")
    slow.chmod(0o755)
    src = RecipeSource(recipe.path, timeout=0.3)
    monkeypatch.setattr(git.Git, "GIT_PYTHON_GIT_EXECUTABLE", str(slow))  # GitPython's git, for every repo
    # The message proves the timeout killed git rather than git answering.
    with pytest.raises(RecipeError, match=r"git status did not finish within 0\.3s"):
        src.dirty_files()


def test_without_a_git_executable_the_error_says_so(recipe: Recipe, tmp_path: Path) -> None:
    # GitPython refuses to import without git; a fresh interpreter, as the CLI would start
    code = ("from ccci_tui.sources.recipe import RecipeError, RecipeSource\n"
            f"try:\n    RecipeSource({str(recipe.path)!r})\nexcept RecipeError as exc:\n    print(exc)\n")
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("git is not installed or not on PATH"), proc.stdout
