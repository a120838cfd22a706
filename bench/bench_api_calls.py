"""Observe: Engine API calls per refresh for stacks of 1, 10 and 50 services, vs a naive refresh.

Ours is what a screen refresh costs through `SwarmSource`: `stacks()` for the picker,
`services(stack)` for the stack view and `observe(stack, service)` for the service view. The
naive refresh lists the stack's services, then inspects every service, lists every service's
tasks and inspects every task's container. The observed service is force-updated twice first, so
it carries shut-down tasks whose containers `observe` inspects once and then caches.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bench.common import STACK_LABEL, BenchError, Lab, fmt, ratio, table, wait_until

NAME = "api_calls"
FULL_SIZES = (1, 10, 50)
QUICK_SIZES = (1, 10)
OBSERVED = "s00"
FORCED_UPDATES = 2
ROUNDS = 5


def compose_text(services: int, host_network: bool = False) -> str:
    """A stack of `services` tiny busybox services, one replica each, no volumes; `host_network`: on the
    engine's `host` network instead of the stack's overlay (no VIP or load balancer per service: 200
    services start in ~25 s on the 2-core lab instead of more than 15 minutes)."""
    from tests.support.recipes import LAB_IMAGE

    body: dict[str, Any] = {
        "image": LAB_IMAGE,
        "command": ["sleep", "1000000"],
        # sleep as PID 1 ignores SIGTERM: do not wait the default 10 s for it on update or removal
        "stop_grace_period": "1s",
        "deploy": {
            "replicas": 1,
            "resources": {"limits": {"memory": "16M"}},
            "update_config": {"monitor": "1s"},
        },
    }
    doc: dict[str, Any] = {"version": "3.8", "services": {f"s{i:02d}": body for i in range(services)}}
    if host_network:
        body["networks"] = ["hostnet"]
        doc["networks"] = {"hostnet": {"external": True, "name": "host"}}
    return yaml.safe_dump(doc, sort_keys=False)


def _running_services(client: Any, stack: str) -> int:
    ids = {s["ID"] for s in client.api.services(filters={"label": f"{STACK_LABEL}={stack}"})}
    tasks = client.api.tasks(filters={"desired-state": "running"})
    return len({t["ServiceID"] for t in tasks if t["ServiceID"] in ids and t["Status"]["State"] == "running"})


def _deploy(lab: Lab, services: int, tmp: Path) -> str:
    from tests.support.deploy import stack_deploy

    stack = lab.new_stack(f"c{services}x")
    path = tmp / f"{stack}.yml"
    path.write_text(compose_text(services))
    stack_deploy(stack, [path], {}, cwd=tmp, timeout=180)
    wait_until(
        f"the {services} services of {stack} to run",
        lambda: _running_services(lab.client, stack) >= services,
        60 + 3 * services,
        interval=0.5,
    )
    for _ in range(FORCED_UPDATES):
        proc = subprocess.run(
            ["docker", "service", "update", "--force", "--detach=false", "--quiet", f"{stack}_{OBSERVED}"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise BenchError(f"docker service update --force {stack}_{OBSERVED}: {proc.stderr.strip()}")
    return stack


def naive_refresh(api: Any, stack: str) -> tuple[int, int]:
    """The refresh this source avoids; returns (API calls made, tasks seen)."""
    import docker.errors

    calls, tasks_seen = 1, 0
    for svc in api.services(filters={"label": f"{STACK_LABEL}={stack}"}):
        api.inspect_service(svc["ID"])
        tasks = api.tasks(filters={"service": svc["ID"]})
        calls += 2
        tasks_seen += len(tasks)
        for task in tasks:
            cid = ((task.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID")
            if cid:
                calls += 1
                with contextlib.suppress(docker.errors.NotFound):
                    api.inspect_container(cid)
    return calls, tasks_seen


def _measure(lab: Lab, stack: str, services: int) -> dict[str, Any]:
    from ccci_tui.sources.swarm import SwarmSource

    source = SwarmSource()  # fresh: its first refresh fills the node id and the container cache

    def calls(fn: Callable[[], object]) -> int:
        before = source.api_calls
        fn()
        return source.api_calls - before

    def ours_refresh() -> None:
        source.stacks()
        source.services(stack)
        source.observe(stack, OBSERVED)

    try:
        first_stacks = calls(source.stacks)
        first_services = calls(lambda: source.services(stack))
        first_observe = calls(lambda: source.observe(stack, OBSERVED))
        steady_stacks = [calls(source.stacks) for _ in range(ROUNDS)]
        steady_services = [calls(lambda: source.services(stack)) for _ in range(ROUNDS)]
        steady_observe = [calls(lambda: source.observe(stack, OBSERVED)) for _ in range(ROUNDS)]
        obs = source.observe(stack, OBSERVED)
        ours_ms = []
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            ours_refresh()
            ours_ms.append((time.perf_counter() - t0) * 1e3)
    finally:
        source.close()

    naive_calls: list[int] = []
    naive_ms: list[float] = []
    tasks = 0
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        n, tasks = naive_refresh(lab.client.api, stack)
        naive_ms.append((time.perf_counter() - t0) * 1e3)
        naive_calls.append(n)
    steady = max(steady_stacks) + max(steady_services) + max(steady_observe)
    return {
        "stack": stack,
        "services": services,
        "tasks": tasks,
        "observed_tasks": len(obs.tasks),
        "observed_terminal_tasks": sum(1 for t in obs.tasks if t.terminal),
        "observe_first": first_observe,
        "observe_steady": max(steady_observe),
        "observe_steady_min": min(steady_observe),
        "stacks": first_stacks,
        "stacks_steady": max(steady_stacks),
        "services_call": first_services,
        "services_steady": max(steady_services),
        "ours_first": first_stacks + first_services + first_observe,
        "ours_steady": steady,
        "naive": max(naive_calls),
        "naive_over_ours": ratio(max(naive_calls), steady),
        "ours_ms": statistics.median(ours_ms),
        "naive_ms": statistics.median(naive_ms),
        "naive_ms_over_ours": ratio(statistics.median(naive_ms), statistics.median(ours_ms)),
    }


def run(args: Any) -> dict[str, Any]:
    """Deploy each stack size in turn, count the calls of one refresh, and print the table."""
    sizes = QUICK_SIZES if getattr(args, "quick", False) else FULL_SIZES
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ccci-bench-") as tmp, Lab() as lab:
        for n in sizes:
            print(
                f"  stack of {n} service{'s' if n > 1 else ''}: deploy, {FORCED_UPDATES} forced updates, measure ...",
                flush=True,
            )
            stack = _deploy(lab, n, Path(tmp))
            try:
                rows.append(_measure(lab, stack, n))
            finally:
                lab.remove_stack(stack)
    steady = sorted({r["ours_steady"] for r in rows})
    constant = len(steady) == 1
    _print(rows, constant)
    return {
        "observed_service": OBSERVED,
        "forced_updates": FORCED_UPDATES,
        "rounds": ROUNDS,
        "sizes": rows,
        "ours_steady_constant": constant,
        "passed": constant,
    }


def _print(rows: list[dict[str, Any]], constant: bool) -> None:
    print()
    print("Engine API calls per refresh (ours: stacks() + services(stack) + observe(stack, s00))")
    print("naive: list services, then per service inspect + list tasks, then inspect every task's container")
    print()
    table_rows = [
        [
            r["services"],
            r["tasks"],
            r["stacks_steady"],
            r["services_steady"],
            r["observe_first"],
            r["observe_steady"],
            r["ours_first"],
            r["ours_steady"],
            r["naive"],
            fmt(r["naive_over_ours"], 1, "x"),
        ]
        for r in rows
    ]
    print(
        table(
            [
                "services",
                "tasks",
                "stacks()",
                "services()",
                "observe 1st",
                "observe",
                "ours 1st",
                "ours steady",
                "naive",
                "naive/ours",
            ],
            table_rows,
        )
    )
    print()
    print("observe 1st = 2 + `docker info` once per source (node id) + one container inspect per")
    print(f"shut-down task of {OBSERVED} ({rows[0]['observed_terminal_tasks'] if rows else 0} here, cached after)")
    print()
    time_rows = [
        [r["services"], fmt(r["ours_ms"]), fmt(r["naive_ms"]), fmt(r["naive_ms_over_ours"], 1, "x")] for r in rows
    ]
    print(table(["services", "ours ms", "naive ms", "naive/ours"], time_rows))
    print()
    sizes = " / ".join(str(r["services"]) for r in rows)
    counts = " / ".join(str(r["ours_steady"]) for r in rows)
    print(
        f"ours steady calls for {sizes} services: {counts} -> "
        f"{'PASS (constant)' if constant else 'FAIL (grows with the stack)'}"
    )
