"""One client per concern: the Engine reads through the hand-written client vs docker-py's APIClient.

Issue 16 asks for docker-py's low-level `APIClient` throughout unless it cannot meet a ratio. On the lab's
unix socket both clients make the same reads a watch makes every poll (`inspect_service` + `tasks` of one
service) and a memory sample (a one-shot `stats` of its container), alternating rounds, each built the way
SwarmSource builds it (`EngineClient` on a unix socket; `SwarmSource._docker_client`, which over ssh and
TLS is the one in use). Measured: the process's CPU per read. The TUI's idle CPU is mostly these reads, so
this is what decided tui_idle_cpu's ratio (docs/performance.md). Target: the hand-written client, which the
product keeps on unix sockets and plain tcp, at most 1.0x the APIClient's CPU per read, same run; were it
above, APIClient would be the one to keep.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Lab, deploy_tiny_stack, fmt, ratio_verdict, table
from tests.support.lab import lab_docker_host

NAME = "engine_client"
TARGET = 1.0  # the hand-written client's CPU per read over the APIClient's, medians of the same run


def _cpu_per_read(client: Any, service: str, container: str | None, reads: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per poll read (inspect + tasks) and, every 5th, a one-shot stats."""
    t0, w0 = time.process_time(), time.perf_counter()
    for i in range(reads):
        svc = client.inspect_service(service)
        client.tasks(filters={"service": svc["ID"]})
        if container is not None and i % 5 == 0:
            client.stats(container, stream=False, one_shot=True)
    return (time.process_time() - t0) * 1000 / reads, (time.perf_counter() - w0) * 1000 / reads


def run(args: Any) -> dict[str, Any]:
    from ccci_tui.sources import engine_api
    from ccci_tui.sources.swarm import SwarmSource

    quick = getattr(args, "quick", False)
    rounds, reads = (5, 40) if quick else (9, 100)
    host = lab_docker_host()
    ours: list[float] = []
    lib: list[float] = []
    ours_wall: list[float] = []
    lib_wall: list[float] = []
    with Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        stack = deploy_tiny_stack(lab, Path(tmp), 1, "engcl")
        service = f"{stack}_s00"
        tasks = lab.client.api.tasks(filters={"service": service, "desired-state": "running"})
        container = ((tasks[0].get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID") if tasks else None
        hand = engine_api.EngineClient(host, 10.0)
        docker_py = SwarmSource(host)._docker_client()
        try:
            _cpu_per_read(hand, service, container, 5)  # warm both: imports, first connections
            _cpu_per_read(docker_py, service, container, 5)
            for i in range(rounds):  # alternating, the first side switching every round
                for name in (("hand", "lib") if i % 2 == 0 else ("lib", "hand")):
                    cpu, wall = _cpu_per_read(hand if name == "hand" else docker_py, service, container, reads)
                    (ours if name == "hand" else lib).append(cpu)
                    (ours_wall if name == "hand" else lib_wall).append(wall)
        finally:
            hand.close()
            docker_py.close()
    o, b = statistics.median(ours), statistics.median(lib)
    ow, bw = statistics.median(ours_wall), statistics.median(lib_wall)
    print(f"Engine reads on the lab's unix socket: {rounds} alternating rounds of {reads} polls each "
          "(inspect_service + tasks; a one-shot stats every 5th), per poll, medians")
    print(table(["client", "CPU ms", "wall ms"], [
        ["hand-written EngineClient (kept on unix/tcp)", fmt(o, 3), fmt(ow, 3)],
        ["docker-py APIClient (ssh://, TLS)", fmt(b, 3), fmt(bw, 3)],
    ]))
    r, passed = ratio_verdict(o, b, TARGET, f"the APIClient's {b:.3f} ms CPU per poll, this run",
                              label="hand-written/APIClient CPU per poll")
    return {"rounds": rounds, "reads": reads, "hand_cpu_ms": o, "apiclient_cpu_ms": b, "hand_wall_ms": ow,
            "apiclient_wall_ms": bw, "target_ratio": TARGET, "ratio": r, "passed": passed}
