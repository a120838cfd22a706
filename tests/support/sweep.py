"""Remove everything the suite created on the lab daemon, by the suite's name prefix, and nothing else.

Stacks are named `<prefix><hex>` (tests/conftest.py `Swarm.new_stack`); their services, networks,
volumes, secrets and configs carry the label com.docker.stack.namespace=<stack> and names starting
with the stack name. Objects a test made without a stack are found by their name.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.support.lab import lab_client, lab_env

STACK_LABEL = "com.docker.stack.namespace"


def _ours(prefix: str, names: Iterable[str | None]) -> bool:
    return any(n and n.lstrip("/").startswith(prefix) for n in names)


def _leftovers(api: Any, prefix: str) -> dict[str, list[dict]]:
    """What is still there with the prefix: by stack label or by name (low-level lists: the models
    inspect each item and race its removal)."""

    def label(obj: dict) -> str | None:
        return (obj.get("Labels") or (obj.get("Spec") or {}).get("Labels") or {}).get(STACK_LABEL)

    swarm_active = (api.info().get("Swarm") or {}).get("LocalNodeState") == "active"
    found: dict[str, list[dict]] = {
        "services": [s for s in (api.services() if swarm_active else [])
                     if _ours(prefix, [label(s), s["Spec"].get("Name")])],
        "containers": [c for c in api.containers(all=True) if _ours(prefix, [label(c), *(c.get("Names") or [])])],
        "networks": [n for n in api.networks() if _ours(prefix, [label(n), n.get("Name")])],
        "volumes": [v for v in (api.volumes() or {}).get("Volumes") or [] if _ours(prefix, [label(v), v.get("Name")])],
        "secrets": [s for s in (api.secrets() if swarm_active else []) if _ours(prefix, [label(s), s["Spec"]["Name"]])],
        "configs": [c for c in (api.configs() if swarm_active else []) if _ours(prefix, [label(c), c["Spec"]["Name"]])],
    }
    return found


def _stacks(found: dict[str, list[dict]], prefix: str) -> set[str]:
    stacks: set[str] = set()
    for kind in ("services", "networks", "secrets", "configs"):
        for obj in found[kind]:
            labels = obj.get("Labels") or (obj.get("Spec") or {}).get("Labels") or {}
            if (labels.get(STACK_LABEL) or "").startswith(prefix):
                stacks.add(labels[STACK_LABEL])
    return stacks


@dataclass
class Swept:
    """What a sweep found (`kind name`) and what was still there when it stopped trying."""

    found: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


def sweep(prefix: str, timeout: float = 120.0) -> Swept:
    """Remove every stack, service, container, network, volume, secret and config on the lab daemon
    whose stack or name starts with `prefix`. Bounded by `timeout`; never raises for the daemon's sake."""
    # a short or foreign prefix could match the user's own objects
    if not prefix.startswith("ccci-") or len(prefix) < len("ccci-t") + 4:
        raise ValueError(f"refusing to sweep the prefix {prefix!r}: only a test session's own prefix")
    try:
        client = lab_client(timeout=30)
        api = client.api
        found = _leftovers(api, prefix)
    except Exception:  # noqa: BLE001 - no lab daemon: nothing to sweep
        return Swept()
    result = Swept(found=_describe(found))
    try:
        deadline = time.monotonic() + timeout
        env = lab_env()
        while time.monotonic() < deadline and any(found.values()):
            # `docker stack rm` removes services, networks, secrets, configs; it fails on a network
            # that still has endpoints (the containers stop asynchronously), so it is retried
            for stack in sorted(_stacks(found, prefix)):
                subprocess.run(["docker", "stack", "rm", stack], capture_output=True, env=env, timeout=60, check=False)
            for svc in found["services"]:
                _quietly(api.remove_service, svc["ID"])
            if not found["services"]:
                # only once no service can start a new task: then the containers are the last ones
                for c in found["containers"]:
                    _quietly(api.remove_container, c["Id"], force=True, v=False)
                if not found["containers"]:
                    for n in found["networks"]:
                        _quietly(api.remove_network, n["Id"])
                    # volumes last: a container still stopping holds its volume
                    for v in found["volumes"]:
                        _quietly(api.remove_volume, v["Name"], force=True)
                    for s in found["secrets"]:
                        _quietly(api.remove_secret, s["ID"])
                    for c in found["configs"]:
                        _quietly(api.remove_config, c["ID"])
            found = _leftovers(api, prefix)
            if any(found.values()):
                time.sleep(0.5)
        result.left = _describe(found)
    except Exception as exc:  # noqa: BLE001 - the daemon went away mid-sweep
        result.left = [f"unknown: the sweep stopped ({type(exc).__name__}: {exc})"]
    finally:
        client.close()
    return result


def _describe(found: dict[str, list[dict]]) -> list[str]:
    return [f"{kind[:-1]} {_name(obj)}" for kind, objs in found.items() for obj in objs]


def _name(obj: dict) -> str:
    return str(obj.get("Name") or (obj.get("Spec") or {}).get("Name") or (obj.get("Names") or ["?"])[0].lstrip("/"))


def _quietly(fn: Any, *args: Any, **kwargs: Any) -> None:
    with contextlib.suppress(Exception):  # gone already, or still in use: the next round retries
        fn(*args, **kwargs)
