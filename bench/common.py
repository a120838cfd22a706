"""Shared by the benchmarks: the lab's docker client, throwaway stacks, statistics and tables."""

from __future__ import annotations

import contextlib
import math
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.support builds the recipes the lab upgrades

from tests.support.lab import lab_client, lab_env, lab_problem, point_at_lab  # noqa: E402, F401 - after the path set-up

# The benchmarks use the lab daemon only: set before any docker client exists, inherited by every
# command a benchmark starts (docker service update, ccci-tui in a pty)
point_at_lab()

STACK_PREFIX = "ccci-b"
STACK_LABEL = "com.docker.stack.namespace"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
CLEANUP_TIMEOUT = 90.0


class BenchError(RuntimeError):
    """A benchmark could not run; the message says which step failed and why."""


class Lab:
    """A docker client on the lab swarm; every stack it names is removed on exit, with its volumes."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.client: Any = lab_client(timeout=int(timeout))
        self.stacks: list[str] = []
        self._removed: set[str] = set()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def new_stack(self, tag: str = "") -> str:
        """A fresh stack name starting with STACK_PREFIX, remembered for removal."""
        name = f"{STACK_PREFIX}{tag}{uuid.uuid4().hex[:6]}"
        self.stacks.append(name)
        return name

    def remove_stack(self, stack: str) -> None:
        """`docker stack rm` now (without waiting for the containers; `close` waits)."""
        if stack in self._removed:
            return
        self._removed.add(stack)
        subprocess.run(["docker", "stack", "rm", stack], capture_output=True, env=lab_env(), timeout=60, check=False)

    def close(self) -> None:
        """Remove every stack, wait for its containers to go, then drop its volumes and networks."""
        for stack in self.stacks:
            self.remove_stack(stack)
        deadline = time.monotonic() + CLEANUP_TIMEOUT
        for stack in self.stacks:
            label = f"{STACK_LABEL}={stack}"
            while time.monotonic() < deadline and self._containers(label):
                time.sleep(0.3)
            # best effort, and through the low-level API: the models inspect each item and race removal
            with contextlib.suppress(Exception):
                for vol in self.client.api.volumes(filters={"label": label}).get("Volumes") or []:
                    with contextlib.suppress(Exception):
                        self.client.api.remove_volume(vol["Name"], force=True)
            with contextlib.suppress(Exception):
                for net in self.client.api.networks(filters={"label": label}):
                    with contextlib.suppress(Exception):
                        self.client.api.remove_network(net["Id"])
        self.client.close()

    def _containers(self, label: str) -> bool:
        """Whether any container carries `label` (the low-level list: the model's list races removal)."""
        try:
            return bool(self.client.api.containers(all=True, filters={"label": label}))
        except Exception:  # noqa: BLE001 - the daemon is away: nothing to wait for
            return False


def deploy_tiny_stack(lab: Lab, tmp: Path, services: int, tag: str, timeout: float = 600.0,
                      host_network: bool = False) -> str:
    """Deploy `services` one-replica busybox services (bench_api_calls' compose, `host_network` as there)
    and wait until all run."""
    from bench.bench_api_calls import compose_text
    from tests.support.deploy import stack_deploy

    stack = lab.new_stack(tag)
    (tmp / "compose.yml").write_text(compose_text(services, host_network))
    stack_deploy(stack, [tmp / "compose.yml"], {}, cwd=tmp)

    def running() -> bool:
        ids = {s["ID"] for s in lab.client.api.services(filters={"label": f"{STACK_LABEL}={stack}"})}
        tasks = lab.client.api.tasks(filters={"desired-state": "running"})
        up = {t["ServiceID"] for t in tasks if t["ServiceID"] in ids and t["Status"]["State"] == "running"}
        return len(up) == services

    wait_until(f"{services} services of {stack} running", running, timeout=timeout, interval=1.0)
    return stack


def wait_until(what: str, predicate: Callable[[], bool], timeout: float, interval: float = 0.25) -> None:
    """Poll `predicate` until it holds; BenchError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def ratio(num: float | None, den: float | None) -> float | None:
    """num / den, or None when either is missing or den is not positive."""
    if num is None or den is None or den <= 0:
        return None
    return num / den


def fmt(value: float | None, digits: int = 1, suffix: str = "") -> str:
    """A number for a table cell; `-` when missing."""
    return "-" if value is None else f"{value:.{digits}f}{suffix}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], left: int = 1) -> str:
    """A plain-text table: the first `left` columns left-aligned (labels), the rest right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def ratio_verdict(ours: float | None, floor: float | None, target: float, floor_text: str,
                  label: str = "ours/baseline") -> tuple[float | None, bool]:
    """Print the one line every benchmark ends with (issue 16: a ratio against a floor measured in the
    same run) and return (ratio, passed): `target: ours/baseline <= 1.5x (floor: …): R x -> PASS/FAIL`."""
    r = ratio(ours, floor)
    passed = r is not None and r <= target
    print(f"target: {label} <= {target:g}x (floor: {floor_text}): {fmt(r, 2)}x -> {'PASS' if passed else 'FAIL'}")
    return r, passed
