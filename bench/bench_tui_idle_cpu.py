"""TUI: idle CPU watching one service of a 50- and of a 200-service lab stack with no changes, vs `watch -n 2` on it.

For each size, a stack of one-replica services is deployed and left alone. `ccci-tui --stack S
--service s00` runs in a real pty (120x36) with its defaults (event wake-ups, a 2 s bounded poll,
memory sampled every 10 s); beside it, at the same time, in its own pty, what an operator would
otherwise leave running for the same view (issue 16): `watch -n 2 'docker service ps S_s00; docker
service inspect S_s00'`. Each side's CPU (user + system of all threads, plus every child it waited
for: watch's shell and docker CLI processes; from /proc) is read over the same window, after both
have settled. Target, at each size: ours at most 0.5x the watch's CPU, same window. The services
run on the engine's `host` network (no overlay VIP per service), so 200 of them start in about 25 s
on the 2-core lab; each stack is removed before the next one is deployed, and on any failure.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.bench_tui_first_paint import cpu_seconds, spawn
from bench.common import BenchError, Lab, deploy_tiny_stack, fmt, ratio, ratio_verdict, table

NAME = "tui_idle_cpu"
SIZES = (50, 200)  # issue 16: "at 50 and at 200 services in the stack"
DEPLOY_TIMEOUT_S = {50: 240.0, 200: 600.0}
FULL_WINDOW_S = 60.0
QUICK_WINDOW_S = 20.0
SETTLE_S = 5.0
TARGET_RATIO = 0.5  # issue 16: ours/`watch -n 2` of the same service, CPU over the same window

BASELINE_LOOP = textwrap.dedent(
    """
    import sys, time
    import docker

    api = docker.from_env(timeout=10).api
    names = sys.argv[1:]
    while True:
        started = time.monotonic()
        for name in names:
            api.inspect_service(name)
            api.tasks(filters={"service": name})
        time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    """
)


def watch_argv(service: str) -> list[str]:
    """What an operator leaves running for one service's view: `watch -n 2` over ps and inspect."""
    return ["/usr/bin/watch", "-n", "2", f"docker service ps {service}; docker service inspect {service}"]


@contextlib.contextmanager
def beside(stack: str, names: list[str], live_within: float, watch: bool = False) -> Iterator[tuple[Any, Any]]:
    """`ccci-tui` watching s00 of `stack` in a pty (LIVE shown), and beside it BASELINE_LOOP polling every
    service of `names` (`watch`: `watch -n 2` over s00 instead, in a pty); yields (tui, baseline), both
    killed on the way out."""
    exe = Path(sys.executable).parent / "ccci-tui"
    if not exe.exists():
        raise BenchError(f"{exe} not found: install the package (make demo) first")
    tui = spawn([str(exe), "--stack", stack, "--service", "s00"], needle=b"LIVE")
    loop = spawn(watch_argv(names[0]) if watch else [sys.executable, "-c", BASELINE_LOOP, *names])
    try:
        if tui.wait_for(live_within) is None:
            raise BenchError(f"ccci-tui never showed LIVE for the stack within {live_within:g} s")
        yield tui, loop
    finally:
        for proc in (tui, loop):
            proc.kill()
            proc.close()


@contextlib.contextmanager
def tui_beside_baseline(services: int, tag: str, deploy_timeout: float, live_within: float,
                        watch: bool = False) -> Iterator[tuple[str, list[str], Any, Any]]:
    """A lab stack of `services` tiny services with `beside` running on it; yields (stack, service names,
    tui, baseline). The stack is removed on the way out."""
    with tempfile.TemporaryDirectory(prefix=f"ccci-{tag}-") as tmp, Lab() as lab:
        print(f"  deploy a stack of {services} services and wait for them to run ...", flush=True)
        stack = deploy_tiny_stack(lab, Path(tmp), services, tag, timeout=deploy_timeout)
        names = [f"{stack}_s{i:02d}" for i in range(services)]
        with beside(stack, names, live_within, watch) as (tui, loop):
            yield stack, names, tui, loop
        lab.remove_stack(stack)


def measure(lab: Lab, tmp: Path, services: int, window: float) -> dict[str, Any]:
    """Deploy a stack of `services`, run ccci-tui and the watch on it, and compare their CPU over `window`;
    the stack is removed before returning (the Lab removes it on a failure)."""
    print(f"  deploy a stack of {services} services (host network) and wait for them to run ...", flush=True)
    stack = deploy_tiny_stack(lab, tmp, services, "tui", timeout=DEPLOY_TIMEOUT_S[services], host_network=True)
    names = [f"{stack}_s{i:02d}" for i in range(services)]
    with beside(stack, names, live_within=30.0, watch=True) as (tui, loop):
        print(f"  both running; settle {SETTLE_S:g} s, then measure {window:g} s of idle ...", flush=True)
        time.sleep(SETTLE_S)
        t0 = time.monotonic()
        tui0, loop0 = cpu_seconds(tui.pid), cpu_seconds(loop.pid)
        time.sleep(window)
        elapsed = time.monotonic() - t0
        tui_cpu, loop_cpu = cpu_seconds(tui.pid) - tui0, cpu_seconds(loop.pid) - loop0
        tui.send(b"q")
        quit_s = tui.wait_exit(10.0)
    lab.remove_stack(stack)
    tui_pct, loop_pct = 100 * tui_cpu / elapsed, 100 * loop_cpu / elapsed
    print()
    print(f"CPU over {elapsed:.0f} s of a {services}-service stack with no changes, % of one core")
    print()
    print(table(
        ["", "CPU s", "% of a core", "ratio vs baseline"],
        [["ccci-tui watching s00 (events + 2 s poll, memory every 10 s)", fmt(tui_cpu, 2), fmt(tui_pct, 2),
          fmt(ratio(tui_pct, loop_pct), 3, "x")],
         ["baseline: watch -n 2 'docker service ps s00; docker service inspect s00'", fmt(loop_cpu, 2),
          fmt(loop_pct, 2), "1.000x"]],
    ))
    print()
    r, passed = ratio_verdict(tui_pct, loop_pct, TARGET_RATIO,
                              f"the watch's {fmt(loop_pct, 2)}% of a core, same window",
                              label=f"ours/baseline at {services} services")
    print(f"quit after `q`: {fmt(quit_s, 2)} s")
    print()
    return {
        "services": services, "window_s": elapsed, "tui_cpu_s": tui_cpu, "tui_pct": tui_pct,
        "baseline_cpu_s": loop_cpu, "baseline_pct": loop_pct, "ratio": r, "quit_s": quit_s, "passed": passed,
    }


def run(args: Any) -> dict[str, Any]:
    window = QUICK_WINDOW_S if getattr(args, "quick", False) else FULL_WINDOW_S
    with tempfile.TemporaryDirectory(prefix="ccci-tui-idle-") as tmp, Lab() as lab:
        sizes = [measure(lab, Path(tmp), services, window) for services in SIZES]
    print(table(["services in the stack", "ours % of a core", "watch % of a core", "ratio", "result",
                 "quit after `q`, s (- : not within 10 s)"],
                [[str(s["services"]), fmt(s["tui_pct"], 2), fmt(s["baseline_pct"], 2), fmt(s["ratio"], 3, "x"),
                  "PASS" if s["passed"] else "FAIL", fmt(s["quit_s"], 2)] for s in sizes]))
    worst = max(sizes, key=lambda s: s["ratio"] if s["ratio"] is not None else float("inf"))
    return {
        "sizes": sizes, "baseline": "watch -n 2 'docker service ps S_s00; docker service inspect S_s00'",
        "target_ratio": TARGET_RATIO, "ratio": worst["ratio"],  # the worst size's: the target holds at each
        "passed": all(s["passed"] for s in sizes),
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args())
