"""Read a recipe repo's git state (HEAD, describe, tags, dirty files, files at refs), read-only.

Through GitPython: one `git.Repo` per source, kept for the source's life. HEAD, the branch, refs and
tags are read from the repository's files; commits, trees, blobs and tag objects through the repo's
two persistent `git cat-file` processes, which `close` ends (GitPython gives their reads no
timeout). Only `describe`, `status` and the ancestry check start a `git` process, each killed after
the timeout and run with `GIT_OPTIONAL_LOCKS=0`, so that not even `git status` refreshes and
rewrites the index: the checkout, index and HEAD stay as found. GitPython (~80 ms to import on an
idle machine, bench/bench_recipe_read.py) loads when the first source opens, never before the
first paint.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ccci_tui.domain.model import RecipeState, TagInfo

if TYPE_CHECKING:
    import git

    from ccci_tui.domain.compose import ComposePolicy

GIT_TIMEOUT_S = 30.0

# Recipe tags are `X.Y.Z+UPSTREAM` (maintainer semver, then the upstream version).
_VERSION_TAG = re.compile(
    r"v?(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<upstream>.+))?"
)
_PARTS = re.compile(r"\d+|[A-Za-z]+")
_FIELD_SEP = "\x00"

# Never let git prompt, page, or take the index lock to refresh stat info.
_GIT_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat"}


class RecipeError(RuntimeError):
    """A recipe repo could not be read; the message names the path or ref."""


def _parts_key(text: str) -> tuple[tuple[int, int, str], ...]:
    """Compare dotted version text numerically where it is numeric (`3.10` > `3.9`)."""
    return tuple(
        (1, int(p), "") if p.isdigit() else (0, 0, p.lower()) for p in _PARTS.findall(text)
    )


def version_key(name: str) -> tuple[object, ...] | None:
    """Sort key of a recipe tag such as `0.7.0+3.3.1`, or None when the name is not a version."""
    m = _VERSION_TAG.fullmatch(name)
    if m is None:
        return None
    pre = m.group("pre")
    # A semver pre-release sorts below its release.
    pre_key: tuple[object, ...] = (1,) if pre is None else (0, _parts_key(pre))
    upstream = m.group("upstream") or ""
    return (
        int(m.group("major")), int(m.group("minor")), int(m.group("patch")),
        pre_key, _parts_key(upstream), upstream,
    )


def sort_tags(tags: list[tuple[TagInfo, int]]) -> tuple[TagInfo, ...]:
    """Versions newest first, then non-version tags by commit date newest first.

    Args:
        tags: each tag with its commit's committer date (unix seconds; 0 when unknown).
    """
    versions = [(version_key(t.name), t) for t, _ in tags]
    versioned = sorted(
        ((k, t) for k, t in versions if k is not None), key=lambda kt: (kt[0], kt[1].name),
        reverse=True,
    )
    others = sorted(
        ((when, t) for t, when in tags if version_key(t.name) is None),
        key=lambda wt: (-wt[0], wt[1].name),
    )
    return tuple(t for _, t in versioned) + tuple(t for _, t in others)


def recipe_dir_problem(path: str | Path) -> str | None:
    """Why `path` cannot be a recipe checkout, from the file system alone (no git), or None."""
    path = Path(path).expanduser()
    if not path.exists():
        return f"recipe path does not exist: {path}"
    if not path.is_dir():
        return f"recipe path is not a directory: {path}"
    return None


class RecipeSource:
    """Read-only view of one recipe checkout, for one thread at a time; `close` ends its git processes."""

    def __init__(self, path: str | Path, timeout: float = GIT_TIMEOUT_S) -> None:
        self.path = Path(path).expanduser()
        self.timeout = timeout
        problem = recipe_dir_problem(self.path)
        if problem is not None:
            raise RecipeError(problem)
        self._repo = self._open()
        self._peeled: dict[str, tuple[git.Commit, bool] | None] = {}  # object id -> commit, annotated

    def _open(self) -> git.Repo:
        try:
            import git  # deferred: ~80 ms, paid by the first read of a recipe
        except ImportError as exc:  # GitPython refuses to load without a git executable
            raise RecipeError(f"git is not installed or not on PATH ({str(exc).splitlines()[0]})") from None
        try:
            repo = git.Repo(self.path)  # this folder only: a recipe is a repo root, not any folder inside some repo
        except git.InvalidGitRepositoryError:
            raise RecipeError(self._not_a_repo()) from None
        except git.NoSuchPathError:
            raise RecipeError(f"recipe path does not exist: {self.path}") from None
        top = repo.working_tree_dir
        if repo.bare or top is None:
            repo.close()
            raise RecipeError(f"bare git repository (no checkout to read): {self.path}")
        if Path(top).resolve() != self.path.resolve():  # core.worktree names another folder
            repo.close()
            raise RecipeError(f"not a git repository: {self.path} (its work tree is {top})")
        # Pin the repo for the git processes: an inherited GIT_DIR, GIT_WORK_TREE or GIT_INDEX_FILE (git
        # hooks) must not redirect reads.
        git_dir = os.fspath(repo.git_dir)
        repo.git.update_environment(**_GIT_ENV, GIT_DIR=git_dir, GIT_WORK_TREE=os.fspath(top),
                                    GIT_INDEX_FILE=os.path.join(git_dir, "index"))
        return repo

    def _not_a_repo(self) -> str:
        import git

        try:
            with git.Repo(self.path, search_parent_directories=True) as outer:
                top = outer.working_tree_dir or outer.git_dir
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return f"not a git repository: {self.path}"
        return f"not a git repository: {self.path} (it is inside the repository {top})"

    def close(self) -> None:
        """End the repo's persistent `git cat-file` processes (a later read would start them again)."""
        self._repo.close()

    def __enter__(self) -> RecipeSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- git ----------------------------------------------------------------------------------

    def _run(self, command: str, *args: str) -> tuple[int, str, str]:
        """One `git` process through `Repo.git`, killed after the timeout: (status, stdout, stderr)."""
        from git.exc import GitCommandNotFound

        call = getattr(self._repo.git, command.replace("-", "_"))
        try:
            status, out, err = call(*args, with_extended_output=True, with_exceptions=False,
                                    kill_after_timeout=self.timeout, stdout_as_string=False,
                                    strip_newline_in_stdout=False)
        except GitCommandNotFound:
            raise RecipeError("git is not installed or not on PATH") from None
        err = _text(err).strip()
        if err.startswith("Timeout:") and "did not complete in" in err:  # GitPython's word for its kill
            raise RecipeError(f"git {command} did not finish within {self.timeout:g}s in {self.path}")
        return int(status), _text(out), err

    def _must(self, command: str, *args: str) -> str:
        status, out, err = self._run(command, *args)
        if status != 0:
            detail = err.splitlines()[-1] if err else f"exit status {status}"
            raise RecipeError(f"git {command} failed in {self.path}: {detail}")
        return out

    def _commit_of(self, ref: str) -> git.Commit | None:
        if not ref or ref.startswith("-") or any(c.isspace() or c == "\x00" for c in ref):
            return None
        from git.exc import BadName, BadObject

        try:
            obj = self._repo.rev_parse(ref)
            while obj.type == "tag":
                obj = obj.object
        except (BadName, BadObject, ValueError, IndexError, KeyError):
            return None
        return obj if obj.type == "commit" else None

    def _commit(self, ref: str) -> git.Commit:
        commit = self._commit_of(ref)
        if commit is None:
            if ref == "HEAD" and self._no_commits():
                raise RecipeError(f"no commits yet in {self.path}")
            raise RecipeError(f"unknown ref {ref!r} in {self.path}")
        return commit

    def _blob(self, commit: git.Commit, rel: str) -> str | None:
        try:
            item = commit.tree / rel
        except KeyError:
            return None
        return _text(item.data_stream.read()) if item.type == "blob" else None

    # -- public reads -------------------------------------------------------------------------

    def has_ref(self, ref: str) -> bool:
        """True when `ref` (branch, tag, sha, `HEAD~2`, ...) names a commit in this repo."""
        return self._commit_of(ref) is not None

    def resolve(self, ref: str) -> str:
        """Full sha of the commit `ref` names."""
        return self._commit(ref).hexsha

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether commit `ancestor` is reachable from `descendant`."""
        return self._run("merge-base", "--is-ancestor", ancestor, descendant)[0] == 0

    def file_at(self, ref: str, path: str) -> str:
        """Text of `path` (relative to the repo root) as committed at `ref`."""
        rel = _repo_relative(path)
        commit = self._commit(ref)
        text = self._blob(commit, rel)
        if text is None:
            raise RecipeError(f"no file {rel!r} at ref {ref!r} ({commit.hexsha[:8]}) in {self.path}")
        return text

    def policies_at(self, refs: Mapping[str, str], chain: Sequence[str], values: Mapping[str, str],
                    extra: Mapping[str, Sequence[tuple[str, str]]] | None = None,
                    ) -> dict[str, tuple[str, ComposePolicy]]:
        """Per side (e.g. "base", "head"): the commit its ref names and the effective compose policy of
        `chain` there (files labelled `name@ref`), with that side's `extra` (label, text) overlays after
        them. How every command loads a side.

        A chain file that only some sides have is left out where it is missing, and that side's policy
        names it (`missing`): a head that adds an overlay compares with a base that has none. A file no
        side has, or a side with none of the chain's files, raises RecipeError naming it."""
        from ccci_tui.domain.compose import load_policy  # deferred: the YAML loader only when compared

        commits = {side: self._commit(ref) for side, ref in refs.items()}
        shas = {side: commit.hexsha for side, commit in commits.items()}
        texts = {side: {name: self._blob(commit, _repo_relative(name)) for name in chain}
                 for side, commit in commits.items()}
        for name in chain:
            if all(texts[side][name] is None for side in refs):
                where = " nor ".join(f"{side} {ref!r} ({shas[side][:8]})" if side != ref else
                                     f"ref {ref!r} ({shas[side][:8]})" for side, ref in refs.items())
                raise RecipeError(f"no file {_repo_relative(name)!r} at {where} in {self.path}")
        out: dict[str, tuple[str, ComposePolicy]] = {}
        for side, ref in refs.items():
            files = [(f"{name}@{ref}", text) for name, text in texts[side].items() if text is not None]
            missing = [name for name, text in texts[side].items() if text is None]
            if not files:
                raise RecipeError(f"none of the compose files {', '.join(chain)} exist at {ref!r} "
                                  f"({shas[side][:8]}) in {self.path}")
            out[side] = shas[side], load_policy([*files, *(extra or {}).get(side, ())], values, missing)
        return out

    def policy_at(self, ref: str, chain: Sequence[str], values: Mapping[str, str],
                  extra: Sequence[tuple[str, str]] = ()) -> tuple[str, ComposePolicy]:
        """One ref's commit and policy (`policies_at` with one side: a missing chain file is an error)."""
        return self.policies_at({ref: ref}, chain, values, {ref: extra})[ref]

    def tags(self) -> tuple[TagInfo, ...]:
        """Tags that lead to a commit, annotated ones peeled (a tag of a tag too), newest version first.

        The refs are read from the files every time; what an object id peels to is read once per source
        (objects never change), a commit's date only for a tag that is not a version (the order of
        versions does not use it)."""
        found: list[tuple[TagInfo, int]] = []
        for tag in self._repo.tags:
            try:
                oid = tag.dereference_recursive(self._repo, tag.path)
            except ValueError:
                continue  # a broken ref
            if oid not in self._peeled:
                self._peeled[oid] = self._peel(oid)
            peeled = self._peeled[oid]
            if peeled is not None:
                commit, annotated = peeled
                when = 0 if version_key(tag.name) is not None else commit.committed_date
                found.append((TagInfo(name=tag.name, sha=commit.hexsha, annotated=annotated), when))
        return sort_tags(found)

    def _peel(self, oid: str) -> tuple[git.Commit, bool] | None:
        """The commit object `oid` leads to and whether that took a tag object; None for a tree, a blob or
        a missing object."""
        import git
        from git.exc import BadName, BadObject

        try:
            obj = git.Object.new_from_sha(self._repo, bytes.fromhex(oid))
            annotated = obj.type == "tag"
            while obj.type == "tag":
                obj = obj.object
        except (BadName, BadObject, ValueError):
            return None
        return (obj, annotated) if obj.type == "commit" else None

    def tags_at(self, ref: str) -> tuple[str, ...]:
        """Names of the tags pointing at the commit `ref` names."""
        sha = self.resolve(ref)
        return tuple(t.name for t in self.tags() if t.sha == sha)

    def describe(self) -> str | None:
        """`git describe --tags` of HEAD, or None when no tag is reachable (or history is cut)."""
        status, out, _ = self._run("describe", "--tags")
        return (out.strip() or None) if status == 0 else None

    def dirty_files(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(untracked, modified) paths; ignored files are not listed, as in abra's `+U` rule."""
        out = self._must("status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules=none")
        untracked: list[str] = []
        modified: list[str] = []
        fields = out.split(_FIELD_SEP)
        i = 0
        while i < len(fields):
            entry = fields[i]
            i += 1
            if len(entry) < 4:
                continue
            code, name = entry[:2], entry[3:]
            if code == "??":
                untracked.append(name)
            elif code != "!!":
                modified.append(name)
                if code[0] in "RC":
                    i += 1  # the rename or copy source follows as its own field
        return tuple(sorted(untracked)), tuple(sorted(modified))

    def shallow(self) -> bool:
        """True for a shallow clone (history cut, so tags and describe may be missing)."""
        try:
            return os.path.getsize(os.path.join(self._repo.common_dir, "shallow")) > 0
        except OSError:
            return False

    def branch(self) -> str | None:
        """Checked-out branch name, None when HEAD is detached."""
        head = self._repo.head
        return None if head.is_detached else head.reference.name

    def state(self) -> RecipeState:
        """Everything about the checkout in one frozen read."""
        from git.exc import GitError, ODBError

        try:
            head = self._commit("HEAD")
            untracked, modified = self.dirty_files()
            return RecipeState(
                path=str(self.path),
                head_sha=head.hexsha,
                head_subject=_subject(head.message),
                describe=self.describe(),
                tags=self.tags(),
                untracked=untracked,
                modified=modified,
                shallow=self.shallow(),
                branch=self.branch(),
            )
        except (GitError, ODBError, OSError, ValueError, TypeError) as exc:  # the repo changed under the read
            raise RecipeError(f"cannot read recipe repo {self.path}: {exc}") from exc

    def _no_commits(self) -> bool:
        return not self._repo.head.is_valid()

def read_recipe(path: str | Path) -> RecipeState:
    """Read the state of the recipe checkout at `path`."""
    with RecipeSource(path) as source:
        return source.state()


def _repo_relative(path: str) -> str:
    rel = path.replace("\\", "/")
    while rel.startswith("./"):
        rel = rel[2:]
    if not rel or rel.startswith("/") or ".." in rel.split("/"):
        raise RecipeError(f"not a path inside the recipe: {path!r}")
    return rel


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def _subject(message: str | bytes) -> str:
    """A commit's subject as `git log --format=%s` prints it: the first paragraph of its message on one line."""
    lines = _text(message).split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    subject: list[str] = []
    for line in lines:
        if not line.strip():
            break
        subject.append(line.rstrip())
    return " ".join(subject)
