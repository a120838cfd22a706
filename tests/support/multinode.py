"""The two-node lab (`scripts/swarm-lab multi-up`): a swarm manager and a worker, each its own dockerd.

The `multinode_lab` session fixture yields their endpoints and node names, read from
`scripts/swarm-lab multi-env` (never from DOCKER_HOST, which conftest points at the single-node lab).
Without the lab the tests skip with one line, or fail under CCCI_REQUIRE_SWARM=1. What a session
creates on it carries the session's own prefix (`MultiNodeLab.new_name`) and is swept when the
session (each xdist worker's) ends; `scripts/swarm-lab multi-down` removes everything anyway.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.lab import named_host, swarm_lab
from tests.support.recipes import LAB_IMAGE
from tests.support.sweep import STACK_LABEL, Swept

# what a docker CLI would read instead of the -H we give it
_FOREIGN = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS")


def multi_env() -> dict[str, str]:
    """`scripts/swarm-lab multi-env` as a dict: CCCI_MULTI_MANAGER, CCCI_MULTI_WORKER (unix://...),
    CCCI_MULTI_{MANAGER,WORKER}_HOSTNAME, CCCI_MULTI_{MANAGER,WORKER}_ID (empty while an engine is down)."""
    out = swarm_lab("multi-env", timeout=60).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _client(endpoint: str, timeout: int = 30) -> Any:
    import docker

    return docker.DockerClient(base_url=endpoint, timeout=timeout)


@dataclass
class MultiNodeLab:
    """The two nodes: `manager` and `worker` are DOCKER_HOST values, `*_node` their hostnames."""

    manager: str
    worker: str
    manager_node: str
    worker_node: str
    manager_id: str
    worker_id: str
    prefix: str = field(default_factory=lambda: f"ccci-tm{uuid.uuid4().hex[:4]}")

    def new_name(self) -> str:
        """A fresh stack or service name: this session's prefix + 6 hex (what the sweep removes)."""
        return f"{self.prefix}{uuid.uuid4().hex[:6]}"

    def client(self, endpoint: str, timeout: int = 30) -> Any:
        """A docker client on one node's engine (close it)."""
        return _client(endpoint, timeout)

    def docker(self, endpoint: str, *argv: str, timeout: float = 60, check: bool = True,
               input: str | None = None) -> subprocess.CompletedProcess[str]:
        """The docker CLI on one node's engine."""
        env = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
        proc = subprocess.run(["docker", "-H", endpoint, *argv], capture_output=True, text=True, env=env,
                              input=input, timeout=timeout, check=False)
        if check:
            assert proc.returncode == 0, f"docker {' '.join(argv)}: {proc.stderr.strip()}"
        return proc

    def engine_up(self, endpoint: str) -> bool:
        try:
            client = _client(endpoint, timeout=5)
        except Exception:  # noqa: BLE001
            return False
        try:
            client.ping()
            return True
        except Exception:  # noqa: BLE001
            return False
        finally:
            client.close()

    def stop_worker(self) -> None:
        """Stop the worker's dockerd (scripts/swarm-lab multi-stop-worker) and wait until it has exited."""
        proc = swarm_lab("multi-stop-worker", timeout=180)
        assert proc.returncode == 0, proc.stderr

    def start_worker(self) -> None:
        """Start it again and wait until both nodes are Ready (scripts/swarm-lab multi-start-worker)."""
        proc = swarm_lab("multi-start-worker", timeout=300)
        assert proc.returncode == 0, proc.stderr

    @contextlib.contextmanager
    def worker_stopped(self) -> Iterator[None]:
        """The worker's dockerd stopped for the block; running again after it, whatever happened."""
        self.stop_worker()
        try:
            yield
        finally:
            if not self.engine_up(self.worker):
                self.start_worker()


def multinode_problem() -> tuple[str | None, MultiNodeLab | None]:
    """(None, the lab) when the two-node lab is usable, else (one line saying why not, None)."""
    if os.geteuid() != 0:
        return "not root: the two-node lab (scripts/swarm-lab multi-up) runs only as root", None
    env = multi_env()
    manager, worker = env.get("CCCI_MULTI_MANAGER"), env.get("CCCI_MULTI_WORKER")
    if not manager or not worker:
        return "scripts/swarm-lab multi-env names no endpoints", None
    lab = MultiNodeLab(manager, worker, env.get("CCCI_MULTI_MANAGER_HOSTNAME", ""),
                       env.get("CCCI_MULTI_WORKER_HOSTNAME", ""), env.get("CCCI_MULTI_MANAGER_ID", ""),
                       env.get("CCCI_MULTI_WORKER_ID", ""))
    up = "run scripts/swarm-lab multi-up"
    for role, endpoint, node_id in (("manager", manager, lab.manager_id), ("worker", worker, lab.worker_id)):
        if not node_id or not lab.engine_up(endpoint):
            return f"the two-node lab's {role} does not answer at {endpoint}; {up}", None
    client = _client(manager, timeout=10)
    try:
        if not (client.info().get("Swarm") or {}).get("ControlAvailable"):
            return f"{manager} is not a swarm manager; {up}", None
        states = {n["ID"]: n["Status"]["State"] for n in client.api.nodes()}
        if states.get(lab.manager_id) != "ready" or states.get(lab.worker_id) != "ready":
            return f"the two-node swarm is not ready (nodes: {states}); {up}", None
    except Exception as exc:  # noqa: BLE001
        return f"the two-node lab's manager fails ({type(exc).__name__}: {exc}); {up}", None
    finally:
        client.close()
    for endpoint in (manager, worker):
        client = _client(endpoint, timeout=10)
        try:
            client.images.get(LAB_IMAGE)
        except Exception:  # noqa: BLE001
            return f"image {LAB_IMAGE} missing on {endpoint}; {up}", None
        finally:
            client.close()
    return None, lab


@pytest.fixture(scope="session")
def multinode_lab(request: pytest.FixtureRequest) -> Iterator[MultiNodeLab]:
    """The two-node lab; skipped (one line) without it, failed under CCCI_REQUIRE_SWARM=1 (unless the
    run names a daemon of its own in CCCI_LAB_DOCKER_HOST as a non-root user: no lab can exist then)."""
    problem, lab = multinode_problem()
    if problem is not None or lab is None:
        required = os.environ.get("CCCI_REQUIRE_SWARM") == "1"
        if required and (os.geteuid() == 0 or not named_host()):
            pytest.fail(f"multinode test needs the two-node lab (CCCI_REQUIRE_SWARM=1): {problem}", pytrace=False)
        pytest.skip(f"multinode tests skipped: {problem}")
    try:
        yield lab
    finally:
        result = sweep_multinode(lab)
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and result.found:
            reporter.write_line(f"two-node lab sweep ({lab.prefix}*): removed {len(result.found)} leftovers")
        if reporter is not None and result.left:
            reporter.write_line(f"two-node lab sweep ({lab.prefix}*): still there: {', '.join(result.left)}",
                                yellow=True)


def _ours(prefix: str, obj: dict, *names: str | None) -> bool:
    labels = obj.get("Labels") or (obj.get("Spec") or {}).get("Labels") or {}
    return any(n and n.lstrip("/").startswith(prefix) for n in (labels.get(STACK_LABEL), *names))


def _leftovers(api: Any, prefix: str, manager: bool) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {
        "containers": [c for c in api.containers(all=True) if _ours(prefix, c, *(c.get("Names") or []))],
        "volumes": [v for v in (api.volumes() or {}).get("Volumes") or [] if _ours(prefix, v, v.get("Name"))],
        "networks": [n for n in api.networks() if _ours(prefix, n, n.get("Name"))] if manager else [],
    }
    if manager:
        found["services"] = [s for s in api.services() if _ours(prefix, s, s["Spec"].get("Name"))]
        found["secrets"] = [s for s in api.secrets() if _ours(prefix, s, s["Spec"]["Name"])]
        found["configs"] = [c for c in api.configs() if _ours(prefix, c, c["Spec"]["Name"])]
    return found


def _quietly(fn: Any, *args: Any, **kwargs: Any) -> None:
    with contextlib.suppress(Exception):  # gone already, or still in use: the next round retries
        fn(*args, **kwargs)


def sweep_multinode(lab: MultiNodeLab, timeout: float = 60.0) -> Swept:
    """Remove what this session made on the two-node lab (services, stacks' networks, secrets, configs
    on the manager; containers and volumes on both nodes), by its prefix only. Never raises."""
    prefix = lab.prefix
    if not prefix.startswith("ccci-t") or len(prefix) < len("ccci-t") + 4:
        raise ValueError(f"refusing to sweep the prefix {prefix!r}: only a test session's own prefix")
    clients: dict[str, Any] = {}
    result = Swept()
    try:
        for endpoint in (lab.manager, lab.worker):
            if lab.engine_up(endpoint):  # a worker stopped by a failed test: nothing to read there
                clients[endpoint] = _client(endpoint, timeout=30)
        if lab.manager not in clients:
            return result
        deadline = time.monotonic() + timeout
        first = True
        while True:
            found = {ep: _leftovers(c.api, prefix, ep == lab.manager) for ep, c in clients.items()}
            described = [f"{kind[:-1]} {_name(o)}" for f in found.values() for kind, objs in f.items() for o in objs]
            if first:
                result.found, first = described, False
            if not described or time.monotonic() > deadline:
                result.left = described
                return result
            api = clients[lab.manager].api
            services = found[lab.manager]["services"]
            for svc in services:
                _quietly(api.remove_service, svc["ID"])
            # once no service can start a task: containers, then networks, volumes, secrets, configs
            if not services:
                for ep, f in found.items():
                    for c in f["containers"]:
                        _quietly(clients[ep].api.remove_container, c["Id"], force=True)
                if not any(f["containers"] for f in found.values()):
                    for n in found[lab.manager]["networks"]:
                        _quietly(api.remove_network, n["Id"])
                    for ep, f in found.items():
                        for v in f["volumes"]:
                            _quietly(clients[ep].api.remove_volume, v["Name"], force=True)
                    for s in found[lab.manager]["secrets"]:
                        _quietly(api.remove_secret, s["ID"])
                    for c in found[lab.manager]["configs"]:
                        _quietly(api.remove_config, c["ID"])
            time.sleep(0.5)
    except Exception as exc:  # noqa: BLE001 - a node went away mid-sweep
        result.left = [f"unknown: the sweep stopped ({type(exc).__name__}: {exc})"]
        return result
    finally:
        for c in clients.values():
            c.close()


def _name(obj: dict) -> str:
    return str(obj.get("Name") or (obj.get("Spec") or {}).get("Name") or (obj.get("Names") or ["?"])[0].lstrip("/"))
