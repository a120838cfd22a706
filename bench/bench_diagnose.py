"""Diagnose: `ccci-tui diagnose` vs the manual pipeline that gathers the same facts, wall time.

The stack is the incident's shape after the fact: base deployed, a start-first head OOM-killed
and rolled back, so the service carries a task history (old, failed head, restarted base). The
manual pipeline is what an operator types: `docker service inspect`, `docker service ps
--no-trunc`, `docker inspect` of each task and of its container (exit code, OOMKilled),
`git describe --tags`, `git tag`, `git status --porcelain`, `git log -1`, and for the node where a
task died of memory, what diagnose now gives as evidence: `docker node inspect`, `docker node ps`
(its running tasks' limits and reservations) and `docker stats --no-stream` (their use). Both run as fresh
processes, alternately, several times; the medians are compared. Target (issue 16): ours <= 1.0x
the pipeline measured in the same run: not slower than the commands an operator would type.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Lab, fmt, ratio_verdict, table, wait_until

NAME = "diagnose"
TARGET = 1.0  # issue 16: ours/manual pipeline, medians of the same run


def _manual(stack: str, recipe: Path) -> None:
    service = f"{stack}_app"
    docker = ["docker"]
    subprocess.run([*docker, "service", "inspect", service], capture_output=True, check=True)
    ps = subprocess.run([*docker, "service", "ps", "--no-trunc", "-q", service], capture_output=True, text=True,
                        check=True)
    subprocess.run([*docker, "service", "ps", "--no-trunc", service], capture_output=True, check=True)
    died_on: set[str] = set()
    for task in ps.stdout.split():
        out = subprocess.run([*docker, "inspect", task], capture_output=True, text=True, check=True).stdout
        status = json.loads(out)[0].get("Status", {})
        cid = (status.get("ContainerStatus") or {}).get("ContainerID")
        if cid:
            subprocess.run([*docker, "inspect", cid], capture_output=True, check=False)  # may be gone
        if (status.get("ContainerStatus") or {}).get("ExitCode") == 137:
            died_on.add(json.loads(out)[0].get("NodeID", ""))
    # the node's memory and what its tasks reserve and use: the facts diagnose gives for a memory death
    for node in sorted(n for n in died_on if n):
        subprocess.run([*docker, "node", "inspect", node], capture_output=True, check=True)
        subprocess.run([*docker, "node", "ps", "--no-trunc", "--filter", "desired-state=running", node],
                       capture_output=True, check=True)
        running = subprocess.run([*docker, "ps", "-q"], capture_output=True, text=True, check=True).stdout.split()
        if running:
            subprocess.run([*docker, "stats", "--no-stream", *running], capture_output=True, check=False)
    for args in (["describe", "--tags"], ["tag"], ["status", "--porcelain"], ["log", "-1"]):
        subprocess.run(["git", "-C", str(recipe), *args], capture_output=True, check=True)


def _ours(stack: str, recipe: Path) -> str:
    proc = subprocess.run([str(Path(sys.executable).parent / "ccci-tui"), "diagnose", stack, "--recipe",
                           str(recipe), "--format", "json"], capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1, 3):
        raise RuntimeError(f"ccci-tui diagnose failed ({proc.returncode}): {proc.stderr.strip()}")
    return str(json.loads(proc.stdout)["verdict"]["kind"])


def _timed(fn: Any, *args: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def run(args: Any) -> dict[str, Any]:
    from tests.support.deploy import deploy_recipe
    from tests.support.recipes import BASE_TAG, build_recipe

    rounds = 5 if getattr(args, "quick", False) else 15
    with Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        recipe = build_recipe(Path(tmp), head_script="oom", memory="32M")
        stack = lab.new_stack("diag")
        api = lab.client.api
        deploy_recipe(recipe.path, stack, ref=BASE_TAG)
        wait_until("base running", lambda: any(
            t["Status"]["State"] == "running" for t in api.tasks(filters={"service": f"{stack}_app"})), 60)
        deploy_recipe(recipe.path, stack)
        wait_until("rollback_completed", lambda: (api.inspect_service(f"{stack}_app").get("UpdateStatus")
                                                 or {}).get("State") == "rollback_completed", 90)
        tasks = len(api.tasks(filters={"service": f"{stack}_app"}))
        _ours(stack, recipe.path)  # warm the page cache for both sides
        _manual(stack, recipe.path)
        ours, manual, kinds = [], [], set()
        for _ in range(rounds):
            t, kind = _timed(_ours, stack, recipe.path)
            ours.append(t)
            kinds.add(kind)
            manual.append(_timed(_manual, stack, recipe.path)[0])
    med_ours, med_manual = statistics.median(ours), statistics.median(manual)
    print(f"stack after an OOM rollback: {tasks} tasks; {rounds} alternating runs each; verdicts {sorted(kinds)}")
    print(table(["", "median s", "min s", "max s"], [
        ["ccci-tui diagnose", fmt(med_ours, 3), fmt(min(ours), 3), fmt(max(ours), 3)],
        ["manual pipeline", fmt(med_manual, 3), fmt(min(manual), 3), fmt(max(manual), 3)],
    ]))
    floor = f"the manual pipeline's median {fmt(med_manual, 3)} s, this run"
    r, passed = ratio_verdict(med_ours, med_manual, TARGET, floor, "ours/manual")
    verdict = "PASS" if passed else "FAIL"
    return {"tasks": tasks, "rounds": rounds, "ours_s": ours, "manual_s": manual, "median_ours_s": med_ours,
            "median_manual_s": med_manual, "ratio": r, "target": TARGET, "target_ratio": TARGET, "passed": passed,
            "verdict": verdict,
            "verdict_kinds": sorted(kinds)}
