"""Soak: the TUI watching a 100-service stack with one rolling update every 10 s, for 30 minutes.

`ccci-tui --stack S --service s00` runs in a real pty; every 10 s `docker service update --force`
rolls one service (s00, the watched one, every other time, so its timeline, task history and
verdicts keep changing). Beside it a plain docker-py loop polls every service each second. For
both processes: resident memory, threads and open files, sampled each minute. Targets: the TUI's
RSS grows by under 20 MB from the first minute to the end; threads and open files do not grow.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from bench.bench_tui_idle_cpu import tui_beside_baseline
from bench.common import BenchError, fmt, table

NAME = "soak"
SERVICES = 100
FULL_S, QUICK_S = 30 * 60.0, 3 * 60.0
UPDATE_EVERY_S = 10.0
SAMPLE_EVERY_S = 60.0
RSS_TARGET_MB = 20.0


def usage(pid: int) -> dict[str, float]:
    """RSS in MB, thread count and open file descriptors of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return {
        "rss_mb": rss_kb / 1024,
        "threads": len(list(Path(f"/proc/{pid}/task").iterdir())),
        "fds": len(list(Path(f"/proc/{pid}/fd").iterdir())),
    }


def run(args: Any) -> dict[str, Any]:
    duration = QUICK_S if getattr(args, "quick", False) else FULL_S
    samples: list[dict[str, Any]] = []
    updates = 0
    with tui_beside_baseline(SERVICES, "soak", deploy_timeout=600.0, live_within=60.0) as (_, names, tui, loop):
        print(f"  soaking for {duration / 60:g} min, one update every {UPDATE_EVERY_S:g} s ...", flush=True)
        start = time.monotonic()
        next_update, next_sample = start, start + SAMPLE_EVERY_S
        while (now := time.monotonic()) - start < duration:
            if now >= next_update:
                target = names[0] if updates % 2 == 0 else names[1 + updates % (SERVICES - 1)]
                subprocess.run(["docker", "service", "update", "--force", "--detach", target],
                               capture_output=True, timeout=60, check=False)
                updates += 1
                next_update += UPDATE_EVERY_S
            if now >= next_sample:
                samples.append({"t_s": round(now - start), "tui": usage(tui.pid), "baseline": usage(loop.pid)})
                s = samples[-1]
                print(f"  {s['t_s']:5d} s  tui rss {s['tui']['rss_mb']:.1f} MB thr {s['tui']['threads']} "
                      f"fd {s['tui']['fds']}  |  baseline rss {s['baseline']['rss_mb']:.1f} MB", flush=True)
                next_sample += SAMPLE_EVERY_S
            time.sleep(0.5)
        tui.send(b"q")
        tui.wait_exit(10.0)
    if len(samples) < 2:
        raise BenchError("too few samples")
    first, last = samples[0], samples[-1]
    growth = {side: {k: last[side][k] - first[side][k] for k in ("rss_mb", "threads", "fds")}
              for side in ("tui", "baseline")}
    # "does not grow": the second half never exceeds what the first half already had (a read in
    # flight holds one more socket, so single samples flicker by one either way)
    early, late = samples[: len(samples) // 2], samples[len(samples) // 2:]
    passed = {
        "rss": growth["tui"]["rss_mb"] < RSS_TARGET_MB,
        "threads": max(s["tui"]["threads"] for s in late) <= max(s["tui"]["threads"] for s in early),
        "fds": max(s["tui"]["fds"] for s in late) <= max(s["tui"]["fds"] for s in early),
    }
    print()
    print(table(["", "RSS first MB", "RSS last MB", "RSS growth MB", "threads first/last", "fds first/last"], [
        [side, fmt(first[side]["rss_mb"]), fmt(last[side]["rss_mb"]), fmt(growth[side]["rss_mb"]),
         f"{first[side]['threads']}/{last[side]['threads']}", f"{first[side]['fds']}/{last[side]['fds']}"]
        for side in ("tui", "baseline")
    ]))
    print(f"{updates} updates over {duration / 60:g} min; RSS growth under {RSS_TARGET_MB:g} MB: "
          f"{'PASS' if passed['rss'] else 'FAIL'}; threads flat: {'PASS' if passed['threads'] else 'FAIL'}; "
          f"open files flat: {'PASS' if passed['fds'] else 'FAIL'}")
    return {"services": SERVICES, "duration_s": duration, "updates": updates, "samples": samples,
            "growth": growth, "passed": passed}
