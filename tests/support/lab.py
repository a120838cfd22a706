"""Is the lab swarm usable? One answer for the tests and the benchmarks."""

from __future__ import annotations

from tests.support.recipes import LAB_IMAGE


def lab_problem() -> str | None:
    """None when the lab swarm is usable, else one line saying why not."""
    try:
        import docker

        client = docker.from_env(timeout=10)
        info = client.info()
    except Exception as exc:  # noqa: BLE001 - any failure means "no lab"
        return f"no Docker daemon reachable ({type(exc).__name__}); run scripts/swarm-lab up as root"
    try:
        swarm = info.get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
            return "the Docker daemon is not a swarm manager; run scripts/swarm-lab up"
        try:
            client.images.get(LAB_IMAGE)
        except Exception:  # noqa: BLE001
            return f"image {LAB_IMAGE} missing; run scripts/swarm-lab up"
        return None
    finally:
        client.close()
