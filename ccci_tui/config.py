"""Typed, frozen configuration from TOML: `--config`, else $CCCI_TUI_CONFIG, else the user config dir."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_VAR = "CCCI_TUI_CONFIG"
BACKENDS = ("stack", "abra")
DEFAULT_ABRA_DEPLOY = "abra app deploy {app} --chaos --no-input --no-converge-checks"


class ConfigError(ValueError):
    """The config file is unreadable or a key is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    """Settings; every field has a safe default, so no file is needed."""

    path: Path | None = None
    backend: str = "stack"  # how `rerun` deploys: `docker stack deploy` or abra
    abra_deploy: str = DEFAULT_ABRA_DEPLOY  # template: {app} {stack} {recipe} {ref} {server}
    poll_interval: float = 2.0  # seconds between reads when no event wakes the watch
    theme: str = "textual-dark"
    nodes: Mapping[str, str] = field(default_factory=dict)  # [nodes]: node hostname or id -> DOCKER_HOST

    def abra_argv(self, **values: str) -> list[str]:
        """The abra deploy command with its placeholders filled."""
        import shlex  # deferred: only the re-run's abra backend splits the command

        try:
            return [part.format(**values) for part in shlex.split(self.abra_deploy)]
        except KeyError as exc:
            raise ConfigError(f"{self.path or 'config'}: abra.deploy: unknown placeholder {exc}") from exc


NODE_HOST_SCHEMES = ("unix://", "tcp://", "ssh://", "npipe://")


def node_host_problem(host: object) -> str | None:
    """Why `host` cannot be a node's DOCKER_HOST, or None."""
    if not isinstance(host, str) or not host.startswith(NODE_HOST_SCHEMES) or host[-3:] == "://":
        return f"{host!r} is not a DOCKER_HOST (expected unix://, tcp:// or ssh://…)"
    return None


def default_path() -> Path:
    """platformdirs' user config dir for ccci-tui, plus config.toml."""
    import platformdirs

    return Path(platformdirs.user_config_path("ccci-tui")) / "config.toml"


def _get(table: Mapping[str, Any], key: str, kind: type, where: str, default: Any) -> Any:
    if key not in table:
        return default
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{where}.{key}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
    return value


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the config; a missing default file is fine, a missing named file is an error."""
    env = os.environ if env is None else env
    named = path or env.get(ENV_VAR)
    file = Path(named).expanduser() if named else default_path()
    if not file.exists():
        if named:
            raise ConfigError(f"config file {file} does not exist")
        return Config()
    import tomllib  # deferred: only when there is a file to read

    try:
        data = tomllib.loads(file.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {file}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
    known = {"upgrade", "abra", "tui", "nodes"}
    for key in data:
        if key not in known:
            raise ConfigError(f"{file}: unknown table or key {key!r} (known: {', '.join(sorted(known))})")
    upgrade, abra, tui, nodes = (data.get(k, {}) for k in ("upgrade", "abra", "tui", "nodes"))
    for name, table in (("upgrade", upgrade), ("abra", abra), ("tui", tui), ("nodes", nodes)):
        if not isinstance(table, dict):
            raise ConfigError(f"{file}: {name} must be a table")
    where = str(file)
    backend = _get(upgrade, "backend", str, f"{where}: upgrade", "stack")
    if backend not in BACKENDS:
        raise ConfigError(f"{where}: upgrade.backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    poll = _get(tui, "poll_interval", float, f"{where}: tui", 2.0)
    if not 0.1 <= poll <= 60:
        raise ConfigError(f"{where}: tui.poll_interval: {poll} is outside 0.1..60 seconds")
    for node, host in nodes.items():
        problem = node_host_problem(host)
        if problem:
            raise ConfigError(f"{where}: nodes.{node}: {problem}")
    return Config(
        path=file,
        nodes=dict(nodes),
        backend=backend,
        abra_deploy=_get(abra, "deploy", str, f"{where}: abra", DEFAULT_ABRA_DEPLOY),
        poll_interval=poll,
        theme=_get(tui, "theme", str, f"{where}: tui", "textual-dark"),
    )
