"""TUI: idle CPU watching one service of a 50-service lab stack with no changes, vs `watch -n 2` on it.

A stack of 50 one-replica services is deployed and left alone. `ccci-tui --stack S --service s00`
runs in a real pty (120x36) with its defaults (event wake-ups, a 2 s bounded poll, memory sampled
every 10 s); beside it, at the same time, in its own pty, what an operator would otherwise leave
running for the same view (issue 16): `watch -n 2 'docker service ps S_s00; docker service inspect
S_s00'`. Each side's CPU (user + system of all threads, plus every child it waited for: watch's
shell and docker CLI processes; from /proc) is read over the same window, after both have settled.
Target: ours at most 0.5x the watch's CPU, same window.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.bench_tui_first_paint import spawn
from bench.common import BenchError, Lab, deploy_tiny_stack, fmt, ratio, ratio_verdict, table

NAME = "tui_idle_cpu"
SERVICES = 50
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its threads so far, plus that of the children it has
    waited for (a `watch` pays its shell's and docker CLI's CPU there)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime, stime, cutime, cstime (fields 14 to 17 of stat)
    ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def watch_argv(service: str) -> list[str]:
    """What an operator leaves running for one service's view: `watch -n 2` over ps and inspect."""
    return ["/usr/bin/watch", "-n", "2", f"docker service ps {service}; docker service inspect {service}"]


@contextlib.contextmanager
def tui_beside_baseline(services: int, tag: str, deploy_timeout: float, live_within: float,
                        watch: bool = False) -> Iterator[tuple[str, list[str], Any, Any]]:
    """A lab stack of `services` tiny services, `ccci-tui` watching s00 in a pty (LIVE shown), and
    beside it BASELINE_LOOP polling every service (`watch`: `watch -n 2` over s00 instead, in a pty);
    yields (stack, service names, tui, baseline). Both processes are killed and the stack removed on the
    way out."""
    exe = Path(sys.executable).parent / "ccci-tui"
    if not exe.exists():
        raise BenchError(f"{exe} not found: install the package (make demo) first")
    with tempfile.TemporaryDirectory(prefix=f"ccci-{tag}-") as tmp, Lab() as lab:
        print(f"  deploy a stack of {services} services and wait for them to run ...", flush=True)
        stack = deploy_tiny_stack(lab, Path(tmp), services, tag, timeout=deploy_timeout)
        names = [f"{stack}_s{i:02d}" for i in range(services)]
        tui = spawn([str(exe), "--stack", stack, "--service", "s00"], needle=b"LIVE")
        loop = spawn(watch_argv(names[0]) if watch else [sys.executable, "-c", BASELINE_LOOP, *names])
        try:
            if tui.wait_for(live_within) is None:
                raise BenchError(f"ccci-tui never showed LIVE for the stack within {live_within:g} s")
            yield stack, names, tui, loop
        finally:
            for proc in (tui, loop):
                proc.kill()
                proc.close()
        lab.remove_stack(stack)


def run(args: Any) -> dict[str, Any]:
    window = QUICK_WINDOW_S if getattr(args, "quick", False) else FULL_WINDOW_S
    with tui_beside_baseline(SERVICES, "tui", deploy_timeout=240, live_within=30.0, watch=True) as (_, _, tui, loop):
        print(f"  both running; settle {SETTLE_S:g} s, then measure {window:g} s of idle ...", flush=True)
        time.sleep(SETTLE_S)
        t0 = time.monotonic()
        tui0, loop0 = cpu_seconds(tui.pid), cpu_seconds(loop.pid)
        time.sleep(window)
        elapsed = time.monotonic() - t0
        tui_cpu, loop_cpu = cpu_seconds(tui.pid) - tui0, cpu_seconds(loop.pid) - loop0
        tui.send(b"q")
        quit_s = tui.wait_exit(10.0)
    tui_pct, loop_pct = 100 * tui_cpu / elapsed, 100 * loop_cpu / elapsed
    print()
    print(f"CPU over {elapsed:.0f} s of a {SERVICES}-service stack with no changes, % of one core")
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
                              f"the watch's {fmt(loop_pct, 2)}% of a core, same window")
    print(f"quit after `q`: {fmt(quit_s, 2)} s")
    return {
        "services": SERVICES, "window_s": elapsed, "tui_cpu_s": tui_cpu, "tui_pct": tui_pct,
        "baseline_cpu_s": loop_cpu, "baseline_pct": loop_pct, "ratio": r,
        "baseline": "watch -n 2 'docker service ps S_s00; docker service inspect S_s00'",
        "quit_s": quit_s, "target_ratio": TARGET_RATIO, "passed": passed,
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args())
