"""Read a recipe repo's git state (HEAD, describe, tags, dirty files, files at refs), read-only.

Every read goes through `git` plumbing with a timeout and `GIT_OPTIONAL_LOCKS=0`, so that not
even `git status` refreshes and rewrites the index: the checkout, index and HEAD stay as found.
The reads run `git` directly rather than through GitPython: importing GitPython costs ~90 ms
here, more than the whole budget of a headless `diagnose` (bench/bench_diagnose.py); GitPython
builds the throwaway repos of the tests.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ccci_tui.domain.model import RecipeState, TagInfo

if TYPE_CHECKING:
    from ccci_tui.domain.compose import ComposePolicy

GIT_TIMEOUT_S = 30.0
GIT = "git"  # the executable; tests point it at a slow stand-in

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


@dataclass(frozen=True)
class _Result:
    status: int
    out: str
    err: str


def recipe_dir_problem(path: str | Path) -> str | None:
    """Why `path` cannot be a recipe checkout, from the file system alone (no git), or None."""
    path = Path(path).expanduser()
    if not path.exists():
        return f"recipe path does not exist: {path}"
    if not path.is_dir():
        return f"recipe path is not a directory: {path}"
    return None


class RecipeSource:
    """Read-only view of one recipe checkout."""

    def __init__(self, path: str | Path, timeout: float = GIT_TIMEOUT_S) -> None:
        self.path = Path(path).expanduser()
        self.timeout = timeout
        problem = recipe_dir_problem(self.path)
        if problem is not None:
            raise RecipeError(problem)
        # Pin the repo: an inherited GIT_DIR or GIT_WORK_TREE (git hooks) must not redirect reads.
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        self._env = {**base_env, **_GIT_ENV}
        probe = self._run("rev-parse", "--is-bare-repository", "--absolute-git-dir")
        lines = probe.out.splitlines()
        if probe.status != 0 or len(lines) < 2:
            if "not a git repository" in probe.err:
                raise RecipeError(f"not a git repository: {self.path}")
            raise RecipeError(f"cannot read recipe repo {self.path}: {probe.err or 'git rev-parse failed'}")
        if lines[0] == "true":
            raise RecipeError(f"bare git repository (no checkout to read): {self.path}")
        git_dir, top = lines[1], Path(self._must("rev-parse", "--show-toplevel"))
        # Do not search parents: a recipe is a repo root, not any folder inside some repo.
        if top.resolve() != self.path.resolve():
            raise RecipeError(f"not a git repository: {self.path} (it is inside the repository {top})")
        self._env.update({"GIT_DIR": git_dir, "GIT_WORK_TREE": str(top)})

    def close(self) -> None:
        """Nothing is held between reads; kept so the source works as a context manager."""

    def __enter__(self) -> RecipeSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- git plumbing -------------------------------------------------------------------------

    def _run(self, *args: str, strip: bool = True) -> _Result:
        try:
            proc = subprocess.run(
                [GIT, *args], cwd=self.path, env=self._env, capture_output=True, timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError:
            raise RecipeError("git is not installed or not on PATH") from None
        except subprocess.TimeoutExpired:
            raise RecipeError(f"git {args[0]} did not finish within {self.timeout:g}s in {self.path}") from None
        out = _text(proc.stdout)
        if strip and out.endswith("\n"):
            out = out[:-1]
        return _Result(proc.returncode, out, _text(proc.stderr).strip())

    def _must(self, *args: str, strip: bool = True) -> str:
        res = self._run(*args, strip=strip)
        if res.status != 0:
            detail = res.err.splitlines()[-1] if res.err else f"exit status {res.status}"
            raise RecipeError(f"git {args[0]} failed in {self.path}: {detail}")
        return res.out

    def _commit_of(self, ref: str) -> str | None:
        if not ref or ref.startswith("-") or any(c.isspace() or c == "\x00" for c in ref):
            return None
        res = self._run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        return res.out.strip() if res.status == 0 and res.out.strip() else None

    # -- public reads -------------------------------------------------------------------------

    def has_ref(self, ref: str) -> bool:
        """True when `ref` (branch, tag, sha, `HEAD~2`, ...) names a commit in this repo."""
        return self._commit_of(ref) is not None

    def resolve(self, ref: str) -> str:
        """Full sha of the commit `ref` names."""
        sha = self._commit_of(ref)
        if sha is None:
            if ref == "HEAD" and self._no_commits():
                raise RecipeError(f"no commits yet in {self.path}")
            raise RecipeError(f"unknown ref {ref!r} in {self.path}")
        return sha

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether commit `ancestor` is reachable from `descendant`."""
        return self._run("merge-base", "--is-ancestor", ancestor, descendant).status == 0

    def file_at(self, ref: str, path: str) -> str:
        """Text of `path` (relative to the repo root) as committed at `ref`."""
        rel = _repo_relative(path)
        sha = self.resolve(ref)
        res = self._run("cat-file", "blob", f"{sha}:{rel}", strip=False)
        if res.status != 0:
            raise RecipeError(f"no file {rel!r} at ref {ref!r} ({sha[:8]}) in {self.path}")
        return res.out

    def _blob(self, sha: str, rel: str) -> str | None:
        res = self._run("cat-file", "blob", f"{sha}:{rel}", strip=False)
        return res.out if res.status == 0 else None

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

        shas = {side: self.resolve(ref) for side, ref in refs.items()}
        texts = {side: {name: self._blob(sha, _repo_relative(name)) for name in chain}
                 for side, sha in shas.items()}
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
        """Tags that lead to a commit, annotated ones peeled, newest version first."""
        # `%00` makes git print NUL between fields (argv itself cannot carry a NUL).
        fmt = "%00".join((
            "%(refname:strip=2)", "%(objecttype)", "%(objectname)",
            "%(*objecttype)", "%(*objectname)", "%(committerdate:unix)", "%(*committerdate:unix)",
        ))
        out = self._must("for-each-ref", f"--format={fmt}", "refs/tags")
        found: list[tuple[TagInfo, int]] = []
        for line in out.splitlines():
            fields = line.split(_FIELD_SEP)
            if len(fields) != 7:
                continue
            name, otype, oid, ptype, poid, date, pdate = fields
            if otype == "commit":
                found.append((TagInfo(name=name, sha=oid, annotated=False), _int(date)))
            elif otype == "tag" and ptype == "commit":
                found.append((TagInfo(name=name, sha=poid, annotated=True), _int(pdate)))
            elif otype == "tag":
                # A tag of a tag (or of a tree): peel fully; skip it when no commit is at the end.
                sha = self._commit_of(f"refs/tags/{name}")
                if sha is not None:
                    when = self._run("log", "-1", "--format=%ct", sha, "--").out.strip()
                    found.append((TagInfo(name=name, sha=sha, annotated=True), _int(when)))
        return sort_tags(found)

    def tags_at(self, ref: str) -> tuple[str, ...]:
        """Names of the tags pointing at the commit `ref` names."""
        sha = self.resolve(ref)
        return tuple(t.name for t in self.tags() if t.sha == sha)

    def describe(self) -> str | None:
        """`git describe --tags` of HEAD, or None when no tag is reachable (or history is cut)."""
        res = self._run("describe", "--tags")
        return (res.out.strip() or None) if res.status == 0 else None

    def dirty_files(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(untracked, modified) paths; ignored files are not listed, as in abra's `+U` rule."""
        out = self._must(
            "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules=none",
            strip=False,
        )
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
        return self._run("rev-parse", "--is-shallow-repository").out.strip() == "true"

    def branch(self) -> str | None:
        """Checked-out branch name, None when HEAD is detached."""
        res = self._run("symbolic-ref", "--quiet", "--short", "HEAD")
        return (res.out.strip() or None) if res.status == 0 else None

    def state(self) -> RecipeState:
        """Everything about the checkout in one frozen read."""
        head = self.resolve("HEAD")
        untracked, modified = self.dirty_files()
        return RecipeState(
            path=str(self.path),
            head_sha=head,
            head_subject=self._must("log", "-1", "--format=%s", head, "--"),
            describe=self.describe(),
            tags=self.tags(),
            untracked=untracked,
            modified=modified,
            shallow=self.shallow(),
            branch=self.branch(),
        )

    def _no_commits(self) -> bool:
        return self._run("rev-parse", "--verify", "--quiet", "HEAD").status != 0


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


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
