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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.common import Lab, fmt, ratio_verdict, table, wait_until

NAME = "diagnose"
TARGET = 1.0  # issue 16: ours/manual pipeline, medians of the same run


def manual(stack: str, recipe: Path, env: Mapping[str, str] | None = None) -> None:
    """The operator's pipeline; `env` names the daemon (DOCKER_HOST) for its docker commands."""
    service = f"{stack}_app"

    def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, env=env)

    docker("service", "inspect", service)
    ps = docker("service", "ps", "--no-trunc", "-q", service)
    docker("service", "ps", "--no-trunc", service)
    died_on: set[str] = set()
    for task in ps.stdout.split():
        out = docker("inspect", task).stdout
        status = json.loads(out)[0].get("Status", {})
        cid = (status.get("ContainerStatus") or {}).get("ContainerID")
        if cid:
            docker("inspect", cid, check=False)  # may be gone
        if (status.get("ContainerStatus") or {}).get("ExitCode") == 137:
            died_on.add(json.loads(out)[0].get("NodeID", ""))
    # the node's memory and what its tasks reserve and use: the facts diagnose gives for a memory death
    for node in sorted(n for n in died_on if n):
        docker("node", "inspect", node)
        docker("node", "ps", "--no-trunc", "--filter", "desired-state=running", node)
        running = docker("ps", "-q").stdout.split()
        if running:
            docker("stats", "--no-stream", *running, check=False)
    for args in (["describe", "--tags"], ["tag"], ["status", "--porcelain"], ["log", "-1"]):
        subprocess.run(["git", "-C", str(recipe), *args], capture_output=True, check=True)


def ours(stack: str, recipe: Path, env: Mapping[str, str] | None = None) -> str:
    """`ccci-tui diagnose` in a fresh process; `env` names the daemon (DOCKER_HOST); returns the verdict."""
    proc = subprocess.run([str(Path(sys.executable).parent / "ccci-tui"), "diagnose", stack, "--recipe",
                           str(recipe), "--format", "json"], capture_output=True, text=True, check=False, env=env)
    if proc.returncode not in (0, 1, 3):
        raise RuntimeError(f"ccci-tui diagnose failed ({proc.returncode}): {proc.stderr.strip()}")
    return str(json.loads(proc.stdout)["verdict"]["kind"])


def timed(fn: Any, *args: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def oom_rollback_stack(lab: Lab, tmp: Path) -> tuple[str, Path, int]:
    """A stack after an OOM rollback (base, OOM-killed head, restarted base): its name, recipe and task count."""
    from tests.support.deploy import deploy_recipe
    from tests.support.recipes import BASE_TAG, build_recipe

    recipe = build_recipe(tmp, head_script="oom", memory="32M")
    stack = lab.new_stack("diag")
    api = lab.client.api
    deploy_recipe(recipe.path, stack, ref=BASE_TAG)
    wait_until("base running", lambda: any(
        t["Status"]["State"] == "running" for t in api.tasks(filters={"service": f"{stack}_app"})), 60)
    deploy_recipe(recipe.path, stack)
    wait_until("rollback_completed", lambda: (api.inspect_service(f"{stack}_app").get("UpdateStatus")
                                             or {}).get("State") == "rollback_completed", 90)
    return stack, recipe.path, len(api.tasks(filters={"service": f"{stack}_app"}))


def run(args: Any) -> dict[str, Any]:
    rounds = 5 if getattr(args, "quick", False) else 15
    with Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        stack, recipe, tasks = oom_rollback_stack(lab, Path(tmp))
        ours(stack, recipe)  # warm the page cache for both sides
        manual(stack, recipe)
        ours_s, manual_s, kinds = [], [], set()
        for _ in range(rounds):
            t, kind = timed(ours, stack, recipe)
            ours_s.append(t)
            kinds.add(kind)
            manual_s.append(timed(manual, stack, recipe)[0])
    med_ours, med_manual = statistics.median(ours_s), statistics.median(manual_s)
    print(f"stack after an OOM rollback: {tasks} tasks; {rounds} alternating runs each; verdicts {sorted(kinds)}")
    print(table(["", "median s", "min s", "max s"], [
        ["ccci-tui diagnose", fmt(med_ours, 3), fmt(min(ours_s), 3), fmt(max(ours_s), 3)],
        ["manual pipeline", fmt(med_manual, 3), fmt(min(manual_s), 3), fmt(max(manual_s), 3)],
    ]))
    floor = f"the manual pipeline's median {fmt(med_manual, 3)} s, this run"
    r, passed = ratio_verdict(med_ours, med_manual, TARGET, floor, "ours/manual")
    verdict = "PASS" if passed else "FAIL"
    return {"tasks": tasks, "rounds": rounds, "ours_s": ours_s, "manual_s": manual_s, "median_ours_s": med_ours,
            "median_manual_s": med_manual, "ratio": r, "target": TARGET, "target_ratio": TARGET, "passed": passed,
            "verdict": verdict,
            "verdict_kinds": sorted(kinds)}
