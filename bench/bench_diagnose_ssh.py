"""Diagnose over ssh: `ccci-tui diagnose` vs the same manual pipeline, both with DOCKER_HOST=ssh://root@127.0.0.1.

The lab's own sshd (`scripts/swarm-lab ssh-up`) serves the lab daemon. The stack and both sides are
bench_diagnose's (an OOM rollback; `diagnose` vs `docker service inspect`, `docker service ps`, `docker
inspect`, the node's facts and git); only DOCKER_HOST differs. The docker CLI opens an ssh connection
for every command; the sshd's log counts the connections each side opened. Target (issue 16): ours
<= 0.3x the pipeline over ssh, medians of the same run.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.bench_diagnose import manual, oom_rollback_stack, ours, timed
from bench.common import BenchError, Lab, fmt, ratio_verdict, table
from tests.support.ssh import SSH_HOST, logins, serving, ssh_down, ssh_up

NAME = "diagnose_ssh"
TARGET = 0.3  # issue 16: ours/manual pipeline over ssh, medians of the same run


def _counted(fn: Any, *args: Any) -> tuple[float, Any, int]:
    """`fn(*args)` timed, with the ssh connections the lab's sshd accepted meanwhile."""
    before = logins()
    seconds, out = timed(fn, *args)
    return seconds, out, logins() - before


def run(args: Any) -> dict[str, Any]:
    rounds = 5 if getattr(args, "quick", False) else 15
    started = not serving()
    problem = ssh_up()
    if problem is not None:
        raise BenchError(f"the lab's sshd (scripts/swarm-lab ssh-up): {problem}")
    env = {**os.environ, "DOCKER_HOST": SSH_HOST}
    ours_s: list[float] = []
    manual_s: list[float] = []
    ours_conns: list[int] = []
    manual_conns: list[int] = []
    kinds: set[str] = set()
    try:
        with Lab() as lab, tempfile.TemporaryDirectory() as tmp:
            stack, recipe, tasks = oom_rollback_stack(lab, Path(tmp))
            ours(stack, recipe, env)  # warm the page cache (and the sshd) for both sides
            manual(stack, recipe, env)
            for _ in range(rounds):
                t, kind, conns = _counted(ours, stack, recipe, env)
                ours_s.append(t)
                ours_conns.append(conns)
                kinds.add(kind)
                t, _, conns = _counted(manual, stack, recipe, env)
                manual_s.append(t)
                manual_conns.append(conns)
    finally:
        if started:
            ssh_down()
    med_ours, med_manual = statistics.median(ours_s), statistics.median(manual_s)
    print(f"stack after an OOM rollback: {tasks} tasks; DOCKER_HOST={SSH_HOST}; {rounds} alternating runs each; "
          f"verdicts {sorted(kinds)}")
    print(table(["", "median s", "min s", "max s", "ssh connections per run"], [
        ["ccci-tui diagnose", fmt(med_ours, 3), fmt(min(ours_s), 3), fmt(max(ours_s), 3),
         "/".join(map(str, sorted(set(ours_conns))))],
        ["manual pipeline", fmt(med_manual, 3), fmt(min(manual_s), 3), fmt(max(manual_s), 3),
         "/".join(map(str, sorted(set(manual_conns))))],
    ]))
    floor = f"the manual pipeline's median {fmt(med_manual, 3)} s over ssh, this run"
    r, passed = ratio_verdict(med_ours, med_manual, TARGET, floor, "ours/manual")
    return {"tasks": tasks, "rounds": rounds, "docker_host": SSH_HOST, "ours_s": ours_s, "manual_s": manual_s,
            "ours_ssh_connections": ours_conns, "manual_ssh_connections": manual_conns,
            "median_ours_s": med_ours, "median_manual_s": med_manual, "ratio": r, "target": TARGET,
            "target_ratio": TARGET, "passed": passed, "verdict": "PASS" if passed else "FAIL",
            "verdict_kinds": sorted(kinds)}
