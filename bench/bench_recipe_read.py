"""Recipe read: the GitPython reader (sources/recipe.py) vs the hand-written one (a `git` process per fact).

Issue 16, "one client per concern, chosen by measurement". The floor is the reader this project had
before it used GitPython: `ccci_tui/sources/recipe.py` at BASELINE_COMMIT, loaded from this
repository's history (not a copy), which runs `git rev-parse`, `status`, `log`, `describe`,
`for-each-ref` and `symbolic-ref` as fresh processes for every read. The repos are the real recipes
in ../shared/recipes/*.bundle (CCCI_RECIPE_BUNDLES names another directory), each cloned to a tmp
dir, the tests' built recipe (10 commits, 2 annotated tags) and a recipe with 60 release tags
(real recipes carry dozens). Each reader runs in its own fresh interpreter, alternately, and both
must read the same RecipeState.

Figures per repo, medians: import + open + first `state()` (what `diagnose` pays once: its target,
<= 1.0x the manual pipeline, is bench/bench_diagnose.py's), and a re-read on a source kept open
(what `record` does every 5 s): wall time, and CPU of the process and every git process it started.
Target: the re-read's CPU, summed over the repos, ours <= 1.0x the hand-written reader's: the
library must not cost more where it runs again and again.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT, BenchError, fmt, ratio, ratio_verdict, table

NAME = "recipe_read"
NEEDS_LAB = False  # local git repos only
TARGET = 1.0  # ours/hand-written, CPU per re-read of an open source
# the last commit whose sources/recipe.py ran a `git` process per fact
BASELINE_COMMIT = "00a10266da87ffcff9e4c2a2a7802a1793e7b62f"
BUNDLE_DIR = Path(os.environ.get("CCCI_RECIPE_BUNDLES") or ROOT.parent / "shared" / "recipes")

# one reader in a fresh interpreter: argv = reader (ours | a path to the hand-written module), repo, re-reads
WORKER = """
import dataclasses, importlib.util, json, os, sys, time

def cpu():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system

reader, path, reads = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
if reader == "ours":
    from ccci_tui.sources.recipe import RecipeSource
else:
    spec = importlib.util.spec_from_file_location("recipe_cli", reader)
    module = sys.modules["recipe_cli"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    RecipeSource = module.RecipeSource
with RecipeSource(path) as src:
    state = src.state()
    first = time.perf_counter() - t0
    c0, w0 = cpu(), time.perf_counter()
    for _ in range(reads):
        assert src.state() == state
    wall = time.perf_counter() - w0
c1 = cpu()  # after close: the persistent git processes were reaped, so their CPU is counted
print(json.dumps({"first_s": first, "wall_s": wall / reads, "cpu_s": (c1 - c0) / reads,
                  "state": dataclasses.asdict(state), "git": "git" in sys.modules}))
"""


def _baseline(tmp: Path) -> Path:
    proc = subprocess.run(["git", "-C", str(ROOT), "show", f"{BASELINE_COMMIT}:ccci_tui/sources/recipe.py"],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BenchError(f"the hand-written reader is not in this checkout's history ({BASELINE_COMMIT[:8]}): "
                         f"{proc.stderr.strip()}")
    path = tmp / "recipe_cli.py"
    path.write_text(proc.stdout)
    return path


def _git(*args: str) -> None:
    subprocess.run(["git", *args], capture_output=True, check=True, timeout=60)


def _repos(tmp: Path) -> dict[str, Path]:
    from tests.support.recipes import build_recipe, init_repo

    repos: dict[str, Path] = {}
    bundles = sorted(BUNDLE_DIR.glob("*.bundle"))
    if not bundles:
        raise BenchError(f"no recipe bundles in {BUNDLE_DIR} (CCCI_RECIPE_BUNDLES names another directory)")
    for bundle in bundles:
        path = tmp / bundle.stem
        _git("clone", "-q", str(bundle), str(path))
        repos[bundle.stem] = path
    repos["built (10 commits, 2 tags)"] = build_recipe(tmp / "built").path
    tagged = init_repo(tmp / "tagged").working_tree_dir
    assert tagged is not None
    for i in range(60):
        Path(tagged, "compose.yml").write_text(f"version: '3.8'\n# release {i}\n")
        _git("-C", tagged, "add", "compose.yml")
        _git("-C", tagged, "commit", "-q", "-m", f"release {i}")
        _git("-C", tagged, "tag", "-a", "-m", f"release {i}", f"0.{i}.0+1.{i}.0")
    repos["60 release tags"] = Path(tagged)
    return repos


def _worker(reader: str, repo: Path, reads: int) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", WORKER, reader, str(repo), str(reads)], capture_output=True,
                          text=True, check=False, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        raise BenchError(f"reading {repo} ({'ours' if reader == 'ours' else 'hand-written'}) failed: "
                         f"{proc.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run(args: Any) -> dict[str, Any]:
    rounds, reads = (5, 20) if getattr(args, "quick", False) else (9, 100)
    per_repo: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cli = str(_baseline(tmp))
        for name, repo in _repos(tmp).items():
            runs: dict[str, list[dict[str, Any]]] = {"ours": [], "cli": []}
            for _ in range(rounds):
                runs["ours"].append(_worker("ours", repo, reads))
                runs["cli"].append(_worker(cli, repo, reads))
            if runs["ours"][0]["state"] != runs["cli"][0]["state"]:
                raise BenchError(f"{name}: the readers disagree: {runs['ours'][0]['state']} vs "
                                 f"{runs['cli'][0]['state']}")
            if not runs["ours"][0]["git"] or runs["cli"][0]["git"]:
                raise BenchError(f"{name}: GitPython loaded by the wrong reader")
            per_repo[name] = {
                side: {key: statistics.median(r[key] for r in results) for key in ("first_s", "wall_s", "cpu_s")}
                for side, results in runs.items()
            }
            per_repo[name]["tags"] = len(runs["ours"][0]["state"]["tags"])
    rows = []
    for name, m in per_repo.items():
        o, c = m["ours"], m["cli"]
        rows.append([name, m["tags"],
                     fmt(o["first_s"] * 1e3), fmt(c["first_s"] * 1e3),
                     fmt(o["wall_s"] * 1e3, 2), fmt(c["wall_s"] * 1e3, 2),
                     fmt(o["cpu_s"] * 1e3, 2), fmt(c["cpu_s"] * 1e3, 2)])
    print(f"{rounds} alternating fresh interpreters per reader and repo, {reads} re-reads each; medians")
    print(table(["repo", "tags", "import+first read ms: GitPython", "git CLI",
                 "re-read wall ms: GitPython", "git CLI", "re-read CPU ms: GitPython", "git CLI"], rows))
    first = {side: sum(m[side]["first_s"] for m in per_repo.values()) for side in ("ours", "cli")}
    cpu = {side: sum(m[side]["cpu_s"] for m in per_repo.values()) for side in ("ours", "cli")}
    wall = {side: sum(m[side]["wall_s"] for m in per_repo.values()) for side in ("ours", "cli")}
    print(f"import + open + first read, summed: GitPython {fmt(first['ours'] * 1e3)} ms vs git CLI "
          f"{fmt(first['cli'] * 1e3)} ms ({fmt(ratio(first['ours'], first['cli']), 2)}x; no target of its own: "
          "diagnose pays it once, see bench/bench_diagnose.py)")
    print(f"re-read wall, summed: GitPython {fmt(wall['ours'] * 1e3, 2)} ms vs git CLI {fmt(wall['cli'] * 1e3, 2)} ms "
          f"({fmt(ratio(wall['ours'], wall['cli']), 2)}x)")
    floor = f"the hand-written reader ({BASELINE_COMMIT[:8]}) {fmt(cpu['cli'] * 1e3, 2)} ms CPU per re-read, summed"
    r, passed = ratio_verdict(cpu["ours"], cpu["cli"], TARGET, floor, "GitPython/git CLI re-read CPU")
    return {"rounds": rounds, "reads": reads, "repos": per_repo, "first_s": first, "reread_cpu_s": cpu,
            "reread_wall_s": wall, "first_ratio": ratio(first["ours"], first["cli"]),
            "wall_ratio": ratio(wall["ours"], wall["cli"]), "ratio": r, "target": TARGET, "target_ratio": TARGET,
            "passed": passed, "verdict": "PASS" if passed else "FAIL"}
