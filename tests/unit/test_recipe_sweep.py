"""The recipe sweep: `compare` every adjacent pair of releases of every recipe in the corpus (ours
and the real ones in ../shared/recipes) with every chain its `.env.sample` suggests.

Allowed outcomes: exit 0 with the compare JSON (a chain file one side lacks is left out there and
named under `<side>_missing`), or exit 2 naming a chain file that neither side has. Anything else
(a traceback, another refusal) fails, and the failure lists every case that broke.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import traceback
from pathlib import Path
from typing import Any

import pytest

from ccci_tui.cli import main
from ccci_tui.sources.abra import AbraError
from ccci_tui.sources.recipe import RecipeSource
from tests.support.corpus import CORPUS, sample_chains

# Pairs per recipe are capped to keep the sweep quick: the newest MAX_PAIRS adjacent pairs.
MAX_PAIRS = 8

BUNDLE_DIR = Path(os.environ.get("CCCI_RECIPE_BUNDLES")
                  or Path(__file__).resolve().parents[2].parent / "shared" / "recipes")
BUNDLES = sorted(p.name.removesuffix(".bundle") for p in BUNDLE_DIR.glob("*.bundle")) if BUNDLE_DIR.is_dir() else []
_NO_BUNDLES = pytest.param(None, id="no-bundles", marks=pytest.mark.skip(reason=(
    f"no recipe bundles: {BUNDLE_DIR} is missing" if not BUNDLE_DIR.is_dir() else f"no *.bundle in {BUNDLE_DIR}"
) + " (CCCI_RECIPE_BUNDLES names another directory)"))

_MISSING_BOTH = re.compile(r"no file '(?P<name>[^']+)' at ")


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False, timeout=30)


def _has(repo: Path, ref: str, name: str) -> bool:
    return _git(repo, "cat-file", "-e", f"{ref}:{name}").returncode == 0


def _pairs(repo: Path) -> list[tuple[str, str]]:
    """Adjacent tags in version order (the product's order), else adjacent first-parent commits; oldest
    first, the newest MAX_PAIRS only."""
    with RecipeSource(repo) as src:
        refs = [t.name for t in reversed(src.tags())]
    if len(refs) < 2:
        refs = _git(repo, "rev-list", "--first-parent", "--reverse", "HEAD").stdout.split()
    return list(zip(refs, refs[1:], strict=False))[-MAX_PAIRS:]


def _chains(repo: Path, base: str, head: str) -> list[str]:
    """Every chain the `.env.sample` at either side sets or suggests (compose.yml when there is none)."""
    chains: list[str] = []
    for ref in (base, head):
        shown = _git(repo, "show", f"{ref}:.env.sample")
        text = shown.stdout if shown.returncode == 0 else ""
        chains += [c for c in sample_chains(text) if c not in chains]
    return chains


def _missing_named(doc: Any, name: str, side: str, path: str = "") -> bool:
    """Whether the JSON names `name` under a key about what is missing, on `side`."""
    if isinstance(doc, dict):
        return any(_missing_named(v, name, side, f"{path}.{k}") for k, v in doc.items())
    if isinstance(doc, list):
        return any(_missing_named(v, name, side, path) for v in doc)
    return "missing" in path and side in path and isinstance(doc, str) and doc == name


def _check(repo: Path, base: str, head: str, chain: str,
           capsys: pytest.CaptureFixture[str]) -> tuple[str | None, str]:
    """One compare: (what went wrong or None, the outcome: ok, one-side-missing, both-missing)."""
    argv = ["compare", "--recipe", str(repo), base, head, "--compose-file", chain, "--format", "json"]
    try:
        code = main(argv)
    except BaseException:  # noqa: BLE001 - any escape from main is the failure being looked for
        capsys.readouterr()
        return "raised:\n" + traceback.format_exc(limit=-3), "crash"
    out, err = capsys.readouterr()
    if "Traceback" in out + err:
        return f"exit {code} with a traceback on stderr:\n{err}", "crash"
    files = chain.split(":")
    at = {side: {f: _has(repo, ref, f) for f in files} for side, ref in (("base", base), ("head", head))}
    if code == 2:
        m = _MISSING_BOTH.search(err)
        if m and m.group("name") in files and not at["base"][m.group("name")] and not at["head"][m.group("name")]:
            return None, "both-missing"
        return f"refused (exit 2): {err.strip()}", "refused"
    if code != 0:
        return f"exit {code}: {err.strip()}", "refused"
    try:
        doc = json.loads(out)
    except ValueError:
        return f"exit 0 but stdout is not JSON: {out[:200]!r}", "bad-output"
    problems = []
    if (doc.get("schema"), doc.get("base"), doc.get("head")) != ("ccci-tui/compare", base, head):
        problems.append(f"schema/base/head {doc.get('schema')!r} {doc.get('base')!r} {doc.get('head')!r}")
    for side, ref in (("base", base), ("head", head)):
        want = [f"{f}@{ref}" for f in files if at[side][f]]
        if doc.get(f"{side}_files") != want:
            problems.append(f"{side}_files {doc.get(f'{side}_files')} != {want}")
        other = "head" if side == "base" else "base"
        for f in files:
            if not at[side][f] and at[other][f] and not _missing_named(doc, f, side):
                problems.append(f"{f} is missing at {side} but the JSON does not say so")
    one_side = any(at["base"][f] != at["head"][f] for f in files)
    return "; ".join(problems) or None, "one-side-missing" if one_side else "ok"


def _sweep(repo: Path, label: str, capsys: pytest.CaptureFixture[str]) -> set[str]:
    """Every pair and chain of `repo`; fails listing the broken cases, else returns the outcomes seen."""
    failures = []
    outcomes = set()
    pairs = _pairs(repo)
    assert pairs, f"{label}: nothing to compare (fewer than two tags or commits)"
    for base, head in pairs:
        try:
            chains = _chains(repo, base, head)
        except AbraError as exc:
            failures.append(f"{label} {base[:12]}..{head[:12]}: .env.sample unreadable: {exc}")
            continue
        for chain in chains:
            problem, outcome = _check(repo, base, head, chain, capsys)
            outcomes.add(outcome)
            if problem:
                failures.append(f"{label} {base[:12]}..{head[:12]} --compose-file {chain}: {problem}")
    assert not failures, f"{len(failures)} sweep case(s) failed:\n" + "\n".join(failures)
    return outcomes


@pytest.fixture(autouse=True)
def _no_abra_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """compare looks for an app env of its --stack: point abra's layout at an empty directory."""
    monkeypatch.setenv("ABRA_DIR", str(tmp_path / "abra"))


# What each of our recipes is built to make the sweep meet, so the corpus cannot quietly stop testing it.
CORPUS_MEETS = {
    "overlay-added": {"ok", "one-side-missing", "both-missing"},
    "line-by-line": {"ok", "one-side-missing"},
    "untagged": {"ok"},
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_sweep_corpus(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _sweep(CORPUS[name](tmp_path / "corpus"), name, capsys) == CORPUS_MEETS[name]


@pytest.mark.parametrize("name", BUNDLES or [_NO_BUNDLES])
def test_sweep_shared_bundle(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / name
    cloned = subprocess.run(["git", "clone", "-q", str(BUNDLE_DIR / f"{name}.bundle"), str(repo)],
                            capture_output=True, text=True, check=False, timeout=60)
    assert cloned.returncode == 0, f"git clone {name}.bundle: {cloned.stderr.strip()}"
    _sweep(repo, name, capsys)


def test_sample_chains_read_as_abra_reads_an_app_env() -> None:
    sample = """\
TYPE=x
COMPOSE_FILE="compose.yml"
COMPOSE_FILE="$COMPOSE_FILE:compose.postgres.yml"
## Outgoing mail
#COMPOSE_FILE="$COMPOSE_FILE:compose.smtp.yml"
# COMPOSE_FILE="${COMPOSE_FILE}:compose.sso.yml"
#export COMPOSE_FILE="compose.yml:compose.alone.yml"
"""
    assert sample_chains(sample) == [
        "compose.yml",
        "compose.yml:compose.postgres.yml",
        "compose.yml:compose.postgres.yml:compose.smtp.yml",
        "compose.yml:compose.postgres.yml:compose.sso.yml",
        "compose.yml:compose.alone.yml",
    ]
    assert sample_chains("TYPE=x\n#EXTRA_DOMAINS=', `www.x.example.com`'\n") == ["compose.yml"]
