"""The lab daemon: its address, whether it is usable, and (only the lab's own dockerd) stop and start.

One answer for the tests and the benchmarks. The address comes from `scripts/swarm-lab env`, never
from an inherited DOCKER_HOST or docker context: those name the user's daemon.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

from tests.support.recipes import LAB_IMAGE

ROOT = Path(__file__).resolve().parents[2]
SWARM_LAB = ROOT / "scripts" / "swarm-lab"
# what a client would read from the environment instead of our DOCKER_HOST: the user's daemon
_FOREIGN = ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS")


def named_host() -> str | None:
    """The existing daemon the user named for the lab (CCCI_LAB_DOCKER_HOST), if any."""
    return os.environ.get("CCCI_LAB_DOCKER_HOST") or None


@cache
def lab_docker_host() -> str:
    """The lab daemon's address, e.g. unix:///var/lib/ccci-lab/docker.sock."""
    named = named_host()
    if named:
        return named
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    out = subprocess.run([str(SWARM_LAB), "env"], capture_output=True, text=True, env=env, timeout=30,
                         check=False).stdout
    for line in out.splitlines():
        if line.startswith("DOCKER_HOST="):
            return line.removeprefix("DOCKER_HOST=")
    # no answer: an address that reaches nothing, so no test can fall back to another daemon
    return "unix:///nonexistent/ccci-lab/docker.sock"


def _foreign() -> tuple[str, ...]:
    # a named daemon may need the user's TLS settings; the lab's own socket needs none
    return ("DOCKER_CONTEXT",) if named_host() else _FOREIGN


def point_at_lab() -> str:
    """Make this process and every process it starts talk to the lab daemon only; returns its address."""
    host = lab_docker_host()
    os.environ["DOCKER_HOST"] = host
    for name in _foreign():
        os.environ.pop(name, None)
    return host


def lab_client(timeout: int = 30):
    """A docker client on the lab daemon, whatever DOCKER_HOST says."""
    import docker

    return docker.DockerClient(base_url=lab_docker_host(), timeout=timeout)


def lab_env(**extra: str) -> dict[str, str]:
    """os.environ with DOCKER_HOST on the lab, for subprocesses (e.g. `docker stack rm`)."""
    env = {k: v for k, v in os.environ.items() if k not in _foreign()}
    return {**env, "DOCKER_HOST": lab_docker_host(), **extra}


def owns_daemon() -> bool:
    """Whether the lab runs its own dockerd (root, no CCCI_LAB_DOCKER_HOST) and it is up, by its pidfile."""
    if named_host() or os.geteuid() != 0:
        return False
    return swarm_lab("pid", timeout=30).returncode == 0


def swarm_lab(*argv: str, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run scripts/swarm-lab (stdout and stderr captured as text)."""
    return subprocess.run([str(SWARM_LAB), *argv], capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)


def stop_lab_daemon() -> None:
    """Stop the lab's own dockerd by its recorded pid and wait until it has exited."""
    proc = swarm_lab("stop-daemon", timeout=180)
    assert proc.returncode == 0, proc.stderr


def start_lab_daemon() -> None:
    """Start the lab's own dockerd again and wait until its swarm is ready."""
    proc = swarm_lab("start-daemon", timeout=300)
    assert proc.returncode == 0, proc.stderr


def lab_problem() -> str | None:
    """None when the lab swarm is usable, else one line saying why not."""
    host = lab_docker_host()
    try:
        client = lab_client(timeout=10)
        info = client.info()
    except Exception as exc:  # noqa: BLE001 - any failure means "no lab"
        if named_host():
            return f"CCCI_LAB_DOCKER_HOST={host} does not answer ({type(exc).__name__})"
        if os.geteuid() != 0:
            return ("not root and CCCI_LAB_DOCKER_HOST unset: the lab starts its own dockerd only as root; "
                    "name a swarm manager the tests may use in CCCI_LAB_DOCKER_HOST")
        return f"the lab's dockerd does not answer at {host}; run scripts/swarm-lab up"
    try:
        swarm = info.get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
            return f"the lab daemon {host} is not a swarm manager; run scripts/swarm-lab up"
        try:
            client.images.get(LAB_IMAGE)
        except Exception:  # noqa: BLE001
            return f"image {LAB_IMAGE} missing on {host}; run scripts/swarm-lab up"
        return None
    finally:
        client.close()


class LabDaemon:
    """The lab's own dockerd as a fault test drives it: `stop()` and `start()`."""

    stop = staticmethod(stop_lab_daemon)
    start = staticmethod(start_lab_daemon)
