"""Which daemon to read, as the docker CLI decides it: DOCKER_HOST, else DOCKER_CONTEXT or the CLI's
current context, looked up in the CLI's own context store (the one place that store is read)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from ccci_tui.sources.errors import SwarmError

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


def docker_config_dir(env: Mapping[str, str]) -> Path:
    """Where the docker CLI keeps its config and contexts: $DOCKER_CONFIG, else ~/.docker."""
    return Path(env.get("DOCKER_CONFIG") or Path(env.get("HOME") or Path.home()) / ".docker")


def current_context(env: Mapping[str, str]) -> str:
    """The context the docker CLI uses, as it decides: `default` when DOCKER_HOST is set, else
    DOCKER_CONTEXT, else config.json's currentContext, else `default`."""
    if env.get("DOCKER_HOST"):
        return "default"
    name = env.get("DOCKER_CONTEXT")
    if name:
        return name
    config = docker_config_dir(env) / "config.json"
    try:
        name = json.loads(config.read_text()).get("currentContext")
    except FileNotFoundError:
        name = None
    except (OSError, ValueError, AttributeError) as exc:
        raise SwarmError(f"cannot read {config}: {exc}") from exc
    return str(name) if name else "default"


def context_meta_dir(config_dir: Path) -> Path:
    """The docker CLI's context store: one `<sha256 of the name>/meta.json` per context."""
    return config_dir / "contexts" / "meta"


def read_context_meta(meta: Path, name: str | None = None) -> tuple[str, str]:
    """A stored context's name and docker endpoint (`Name`, `Endpoints.docker.Host` of its meta.json);
    SwarmError naming the context (`name`, when known) and the file when it is unusable."""
    try:
        data = json.loads(meta.read_text())
        return str(data["Name"]), str(data["Endpoints"]["docker"]["Host"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        what = f"docker context {name!r}" if name else "docker context"
        raise SwarmError(f"{what} is unusable ({meta}): {exc}") from exc


def context_host(config_dir: Path, name: str) -> str:
    """The docker endpoint of the stored context `name`; SwarmError when it is missing or unusable."""
    meta = context_meta_dir(config_dir) / hashlib.sha256(name.encode()).hexdigest() / "meta.json"
    return read_context_meta(meta, name)[1]


def resolve_endpoint(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The daemon address and a label for it: DOCKER_HOST, else DOCKER_CONTEXT or the CLI's current context."""
    env = os.environ if env is None else env
    host = env.get("DOCKER_HOST")
    if host:
        return host, host
    name = current_context(env)
    if name == "default":
        return DEFAULT_SOCKET, DEFAULT_SOCKET
    host = context_host(docker_config_dir(env), name)
    return host, f"context {name} ({host})"
